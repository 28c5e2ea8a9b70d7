import type { Conn } from "./net";
import type { HttpMsg } from "./http";

/**
 * The events a connection's handler receives, in one place with their data.
 * Protocol handlers (HTTP) see each event before the user's handler.
 *
 * | event    | data            | when |
 * |----------|-----------------|------|
 * | Error    | string          | a socket or protocol error; Close follows |
 * | Open     | null            | a slot was given to a new connection (listener, accepted or outgoing) |
 * | Poll     | number (now ms) | in a poll pass that has work for the connection: input, a wakeup, a deadline due, a state change (sched) |
 * | Connect  | null            | an outgoing connection is established |
 * | Accept   | null            | a listener accepted this connection |
 * | Read     | number          | this many bytes were appended to `c.rx` |
 * | Write    | number          | this many bytes left `c.tx` for the network: room to stream more |
 * | Close    | number          | the connection is gone (0, or a SockErr: -1 reset); its slot is free after the handler returns |
 * | HttpHdrs | HttpMsg         | a request's header section parsed (body not yet read; call httpBodyStream to stream it) |
 * | HttpMsg  | HttpMsg         | a whole request (body included, unless streamed); answer it now or later |
 * | HttpBody | Uint8Array      | a piece of a streamed request body |
 * | Wakeup   | any             | the data given to wakeup(mgr, id, data) |
 *
 * Every Uint8Array and HttpMsg given to a handler is a view into the
 * connection's buffers: valid until the handler returns.
 */
export const enum Ev {
  Error = 0,
  Open = 1,
  Poll = 2,
  Connect = 3,
  Accept = 4,
  Read = 5,
  Write = 6,
  Close = 7,
  HttpHdrs = 8,
  HttpMsg = 9,
  HttpBody = 10,
  Wakeup = 11,
}

/** The arguments of a handler: checking `ev` narrows `data` (no runtime cost). */
export type EvArgs =
  | [Conn, Ev.Error, string]
  | [Conn, Ev.Open, null]
  | [Conn, Ev.Poll, number]
  | [Conn, Ev.Connect, null]
  | [Conn, Ev.Accept, null]
  | [Conn, Ev.Read, number]
  | [Conn, Ev.Write, number]
  | [Conn, Ev.Close, number]
  | [Conn, Ev.HttpHdrs, HttpMsg]
  | [Conn, Ev.HttpMsg, HttpMsg]
  | [Conn, Ev.HttpBody, Uint8Array]
  | [Conn, Ev.Wakeup, any];

/** One handler per connection: `(c, ev, data)`. Declare all three parameters (TypeScript cannot narrow a shorter list against the tuple union). */
export type Handler = (...a: EvArgs) => void;
