import type { Hal, Sock, SockHandler, Listener } from "../hal/hal";
import { Ev, Handler } from "./event";
import { IoBuf, ioNew } from "./iobuf";
import { Limits } from "./opts";
import type { HttpMsg } from "./http";

/*
 * Connection flags: one number per connection, `c.f`.
 *
 * | flag     | bit      | meaning |
 * |----------|----------|---------|
 * | ACCEPTED | 0x1      | accepted by a listener (server side) |
 * | CLIENT   | 0x2      | outgoing connection |
 * | CONNECTED| 0x4      | outgoing connection established |
 * | READABLE | 0x8      | the HAL has bytes (or end of stream) for us |
 * | WRITABLE | 0x10     | the HAL takes bytes |
 * | EOF      | 0x20     | the peer half-closed: no more input will come |
 * | DRAINING | 0x40     | flush c.tx and c.src, then close; input is ignored (Mongoose is_draining) |
 * | CLOSING  | 0x80     | close at the end of this pass, dropping unsent output (is_closing) |
 * | SRCCRLF  | 0x100    | append CRLF once c.src is fully queued (end of a chunk) |
 * | RESP     | 0x200    | HTTP: a request was handed to the application, its response is not complete (is_resp) |
 * | HDRS     | 0x400    | HTTP: the current request's header section is parsed, its body is being read |
 * | CHUNKED  | 0x800    | HTTP: the current request body is chunked |
 * | STREAM   | 0x1000   | HTTP: the request body goes to the handler as HttpBody pieces |
 * | CUT      | 0x2000   | the HAL dropped input past what it may hold (read() -2): EOF is set too; HTTP answers what is complete, then closes |
 * | CLOSE    | 0x4000   | HTTP: close once the current response is complete |
 * | HEAD     | 0x8000   | HTTP: the current request is HEAD: response bodies are counted, not sent |
 * | V10      | 0x10000  | HTTP: the current request is HTTP/1.0 |
 * | STARTED  | 0x20000  | HTTP: the response's status line is queued |
 * | RCHUNK   | 0x40000  | HTTP: the response body is chunked |
 * | RLAST    | 0x80000  | HTTP: every byte of the response is accepted; complete once c.src is queued |
 * | RNOLEN   | 0x100000 | HTTP: the response body ends at close (HTTP/1.0, length unknown) |
 * | DELIV    | 0x200000 | HTTP: HttpMsg was delivered for the current request |
 * | HTTP     | 0x400000 | speaks HTTP/1.1 as a server |
 * | CONT     | 0x800000 | HTTP: a 100 Continue is owed before the body is read |
 * | WORK     | 0x1000000| the next poll pass must visit this connection (its state changed outside a visit: sched(m, c)) |
 *
 * Named masks: INREQ (RESP | HDRS: a request is being read or answered), ENDING (DRAINING | CLOSING). The HTTP
 * bits belong to httpd.ts, which alone sets them; elsewhere they are read through these names.
 */
export const enum F {
  ACCEPTED = 0x1,
  CLIENT = 0x2,
  CONNECTED = 0x4,
  READABLE = 0x8,
  WRITABLE = 0x10,
  EOF = 0x20,
  DRAINING = 0x40,
  CLOSING = 0x80,
  SRCCRLF = 0x100,
  RESP = 0x200,
  HDRS = 0x400,
  CHUNKED = 0x800,
  STREAM = 0x1000,
  CUT = 0x2000,
  CLOSE = 0x4000,
  HEAD = 0x8000,
  V10 = 0x10000,
  STARTED = 0x20000,
  RCHUNK = 0x40000,
  RLAST = 0x80000,
  RNOLEN = 0x100000,
  DELIV = 0x200000,
  HTTP = 0x400000,
  CONT = 0x800000,
  WORK = 0x1000000,
  /** Named masks (folded into literals by the compiler: no cost). A request is being read or answered: the slot is busy. */
  INREQ = RESP | HDRS,
  /** The connection is on its way out: nothing new starts on it. */
  ENDING = DRAINING | CLOSING,
}

/** One slot of the pool: preallocated buffers and state, reused by successive connections. */
export class Conn {
  /** Unique id of the connection in this slot; 0 while the slot is free. Never reused. */
  id!: number;
  /** Flags, see the table above. */
  f!: number;
  /** The socket, while open. */
  s!: Sock | null;
  /** Receive buffer (fixed). */
  rx!: IoBuf;
  /** Send buffer (fixed). */
  tx!: IoBuf;
  /** The manager. */
  mgr!: Mgr;
  /** The user's handler. */
  fn!: Handler | null;
  /** The protocol handler, called before `fn` for the events in the bit set `protoEv` (bit `1 << ev`): a call the protocol would ignore costs the interpreter ~5 µs. */
  protoFn!: Handler | null;
  protoEv!: number;
  /** The protocol's fast path: a string the socket delivered while nothing was unread; true if it took it whole. */
  fastFn!: ((c: Conn, s: string) => boolean) | null;
  /** Free for the application (Mongoose fn_data); cleared when the slot is freed. */
  data: any;
  /** Last I/O activity, ms. */
  lastIo!: number;
  /** Earliest deadline of this connection, ms (0: none): when the manager must wake up for it. */
  deadline!: number;
  /** Queued wakeup data. */
  wakeQueue!: any[] | null;
  /** Bytes to send that did not fit in tx yet (referenced, not copied), and how far they are queued. */
  src!: Uint8Array | null;
  srcOff!: number;
  /** Time the send side last made progress or became non-empty, ms. */
  sendSince!: number;
  /** HTTP state (owned by httpd.ts): the message, created once per slot. */
  hm!: HttpMsg | null;
  /** HTTP (owned by httpd.ts), for the current request: */
  /** time of its first byte, ms (-1: none yet: the head and body deadlines count from it); */
  reqStart!: number;
  /** length of its head in rx (0 once the body is streamed); */
  headLen!: number;
  /** its Content-Length, or the bytes left of the current chunk; */
  bodyLen!: number;
  /** body bytes received so far (decoded, for chunked); */
  bodyGot!: number;
  /** where the search for the head's end resumes in rx (the start of its last incomplete line); */
  headScan!: number;
  /** the chunked decoder's state (0 size line, 1 data, 2 CRLF after data, 3 trailers); */
  chunkState!: number;
  /** its id (Mgr.seq at parse time): a Resp handle is stale once it changes; */
  reqId!: number;
  /** bytes of the response's Content-Length still to be written; */
  respLeft!: number;
  /** when its pending response gets a 503 (or a close), ms. */
  respDeadline!: number;
  /** A closing connection is dropped at this time if its peer has not taken what is queued, ms (0: none). */
  drainDeadline!: number;
  constructor(mgr: Mgr, rxSize: number, txSize: number) {
    // The interpreter finds a property by a linear search of the object's own, in creation order: the fields a
    // request touches most come first (measured: a field late in the list costs ~1 µs more per access).
    this.f = 0;
    this.id = 0;
    this.rx = ioNew(rxSize);
    this.tx = ioNew(txSize);
    this.s = null;
    this.mgr = mgr;
    this.hm = null;
    this.reqStart = -1;
    this.headLen = 0;
    this.fn = null;
    this.protoFn = null;
    this.protoEv = 0;
    this.fastFn = null;
    this.headScan = 0;
    this.src = null;
    this.deadline = 0;
    this.lastIo = 0;
    clear(this);
  }
}

/** Every per-connection field back to "free slot" (buffers kept, emptied). */
function clear(c: Conn): void {
  c.id = c.f = c.protoEv = c.lastIo = c.deadline = c.srcOff = c.sendSince = c.headLen = c.bodyLen = c.bodyGot = c.headScan = c.chunkState = c.reqId = c.respLeft = c.respDeadline = c.drainDeadline = c.rx.n = c.tx.n = 0;
  c.reqStart = -1;
  c.s = c.fn = c.protoFn = c.fastFn = c.data = c.src = null;
  c.wakeQueue = null; // made by the first wakeup: an empty array in every slot would hold a var each for good
}

/** The event manager: a fixed pool of connection slots, listeners, timers, and the HAL they run on. */
export class Mgr {
  /** The pool: every slot allocated once, at init. */
  conns!: Conn[];
  /** Slots in use: a pass stops once it has seen them all (a slot is taken lowest first, so they gather at the front). */
  nopen!: number;
  /** The connection whose requests the protocol is serving in this poll pass: what it queues and finishes is handled later in the same pass (httpd.ts). */
  cur!: Conn | null;
  /** The platform and the limits. */
  hal!: Hal;
  lim!: Limits;
  /** A poll pass is scheduled. */
  pollSoon!: boolean;
  /** Runs one poll pass (installed by mgrInit). */
  pollFn!: () => void;
  /** Timers, see timer.ts. */
  timers!: Timer[];
  /** Next request (and timer) id, and next connection id. */
  seq!: number;
  nextId!: number;
  /** Responses started, by status class (index 1-5: 1xx-5xx): a counter since init. */
  codes!: number[];
  /** The response headers a handler last gave, and the Connection tokens in them (null: no such field): start() searches only headers it has not seen last (two searches cost ~3 µs on 2v29). */
  hdrsSeen!: string;
  hdrsConn!: string[] | null;
  /** The wake-up timer handle and its due time. */
  wakeTimer!: number;
  wakeAt!: number;
  /** Listeners. */
  listenList!: Listener[];
  /** Free slots an accepted connection may not take: kept for outgoing connections (an MQTT client between two connections holds one). */
  reserved!: number;
  /** Idle or slow connections evicted for a newcomer, newcomers refused for want of a slot, handler errors: counters since init. */
  nevict!: number;
  nrefused!: number;
  nerr!: number;
  constructor(hal: Hal, lim: Limits) {
    // In the order the hot path looks them up (see Conn).
    this.conns = [];
    this.nopen = 0;
    this.cur = null;
    this.hal = hal;
    this.lim = lim;
    this.pollSoon = false;
    this.pollFn = noop;
    this.timers = [];
    this.seq = 1;
    this.nextId = 1;
    this.codes = [0, 0, 0, 0, 0, 0];
    this.hdrsSeen = "";
    this.hdrsConn = null;
    this.wakeTimer = -1;
    this.wakeAt = 0;
    this.listenList = [];
    this.reserved = 0;
    this.nevict = this.nrefused = this.nerr = 0;
  }
}

/** A timer of the manager, run by the poll loop. */
export interface Timer {
  id: number;
  at: number;
  ms: number;
  rep: boolean;
  fn: () => void;
}

function noop(): void {}

/**
 * Ask for a poll pass soon (after the current event). With `c`: that pass must visit `c` (a pass visits only the
 * connections with input, a wakeup, a deadline due or this mark); no pass is asked for when the one serving `c`
 * (m.cur, set by the protocol around its parsing) will still see the change: its own flush follows. Any code that
 * changes a connection's state from outside a visit must call this with `c`, or the change waits for a deadline.
 */
export function sched(m: Mgr, c?: Conn): void {
  if (c) {
    if (c === m.cur) return; // a mark here would outlive the visit and send the next request the slow way
    c.f |= F.WORK;
  }
  if (!m.pollSoon) {
    m.pollSoon = true;
    m.hal.clock.soon(m.pollFn);
  }
}

/** Deliver an event to the protocol handler, then to the user's; a handler that throws is logged and its connection closed. */
export function emit(c: Conn, ev: Ev, data: any): void {
  const id = c.id;
  try {
    if ((c.protoEv >> ev) & 1 && c.protoFn) (c.protoFn as any)(c, ev, data);
    if (c.fn && c.id === id) (c.fn as any)(c, ev, data);
  } catch (e) {
    // In a function of its own: the interpreter reads through the text of a block it skips, on every call.
    failed(c, id, ev, e);
  }
}

/** A handler threw: logged and counted; the protocol may still answer for it (HTTP: 500), then the connection ends. */
function failed(c: Conn, id: number, ev: Ev, e: unknown): void {
  const why = "handler error on conn " + id + " ev " + ev + ": " + e;
  c.mgr.hal.log(why);
  c.mgr.nerr++;
  if (c.id !== id || ev === Ev.Close || ev === Ev.Error) return;
  if (c.protoFn) (c.protoFn as any)(c, Ev.Error, why);
  if (!(c.f & F.DRAINING)) c.f |= F.CLOSING;
}

/** Slots in use. */
export function poolUsed(m: Mgr): number {
  return m.nopen;
}

/** The open connection with this id, or null. */
export function connById(m: Mgr, id: number): Conn | null {
  for (let i = 0; i < m.conns.length; i++) if (m.conns[i].id === id && id) return m.conns[i];
  return null;
}

/** Why a slow sender lost its slot: the Error event's data (HTTP answers it with a 408). */
export const SLOW = "request head arriving too slowly";

/**
 * A free slot; when none, a server connection that only holds one is closed to make room: one idle between requests
 * (nothing read, pending or to send) for at least lim.evictMs, or one whose request head is still arriving slower
 * than lim.minRate bytes/s (it gets an Error event, SLOW, to answer, written before the close). The one waiting
 * longest goes. The first `keep` free slots are not given (Mgr.reserved, for an accepted connection).
 */
function takeSlot(m: Mgr, keep: number): Conn | null {
  let old: Conn | null = null;
  let oldAt = 0;
  const now = m.hal.clock.now();
  const lim = m.lim;
  for (let i = 0; i < m.conns.length; i++) {
    const c = m.conns[i];
    if (!c.id) {
      if (keep-- <= 0) return c;
      continue; // kept free for an outgoing connection
    }
    if ((c.f & (F.ACCEPTED | F.INREQ | F.ENDING)) !== F.ACCEPTED || c.tx.n || c.src) continue;
    // A request head under way (reqStart: its first byte; its bytes so far in rx) is judged by its rate, over at
    // least a second: one that has brought fewer than minRate bytes so far may make room at once, the oldest first,
    // so a newcomer whose head is a moment away keeps its slot. A connection with no request under way, by its idle
    // time: a request may be in flight to it. Input waiting in the HAL (READABLE) has not been counted: not judged.
    if (c.f & F.READABLE) continue;
    const rs = c.reqStart;
    const at = rs >= 0 ? (c.rx.n * 1000 < lim.minRate * Math.max(now - rs, 1000) ? rs : -1) : !c.rx.n && c.lastIo <= now - lim.evictMs ? c.lastIo : -1;
    if (at >= 0 && (!old || at < oldAt)) {
      old = c;
      oldAt = at;
    }
  }
  if (!old) return null;
  m.nevict++;
  if (old.reqStart >= 0) {
    emit(old, Ev.Error, SLOW);
    if (old.s && old.tx.n) old.s.write(old.tx.b, 0, old.tx.n); // one write: the close below flushes what it took
  }
  connFree(old, 0);
  return old;
}

function sockHandler(c: Conn, id: number): SockHandler {
  return {
    readable: function () {
      if (c.id === id) {
        c.f |= F.READABLE;
        sched(c.mgr);
      }
    },
    writable: function () {
      if (c.id === id) {
        c.f |= F.WRITABLE;
        // A pass only if it has something to do: output to send, a close to finish, a Connect to report.
        if (c.tx.n || c.src || c.f & (F.DRAINING | F.CLIENT)) sched(c.mgr, c);
      }
    },
    data: function (str: string) {
      return c.id === id && !!c.fastFn && c.fastFn(c, str);
    },
    closed: function (err: number) {
      if (c.id === id) {
        c.s = null; // gone: nothing to release
        if (err && err !== -1) emit(c, Ev.Error, "socket error " + err);
        connFree(c, err);
        sched(c.mgr);
      }
    },
  };
}

/** Give slot `c` to a new connection on socket `s`. */
function connOpen(c: Conn, s: Sock | null, flags: number, fn: Handler | null, pfn: Handler | null): void {
  const m = c.mgr;
  m.nopen++;
  c.id = m.nextId++;
  c.f = flags | F.WORK; // visited by the next pass: its deadlines start there
  c.s = s;
  c.fn = fn;
  c.protoFn = pfn;
  c.lastIo = c.sendSince = m.hal.clock.now();
}

/** Release the socket, tell the handlers (Close), and free the slot. Safe to call once per connection. */
export function connFree(c: Conn, err: number): void {
  if (!c.id) return;
  const s = c.s;
  c.s = null;
  if (s) s.close();
  emit(c, Ev.Close, err);
  clear(c);
  c.mgr.nopen--;
}

/** A connection that found every slot busy: it gets `busy` (the protocol's canned refusal, if any), then the close. */
function refuse(m: Mgr, s: Sock, busy: Uint8Array | null): SockHandler {
  let off = 0;
  const push = function () {
    if (off < 0) return;
    if (busy) off += s.write(busy, off, busy.length - off);
    if (!busy || off >= busy.length) {
      off = -1;
      s.close();
    }
  };
  m.nrefused++;
  m.hal.clock.soon(push);
  return { readable: noop, writable: push, closed: function () { off = -1; } };
}

/**
 * Listen on `port`; accepted connections get `fn` (and the protocol handler `pfn` for the events in the bit set
 * `pev` (default: all), its fast path `fast`, `flags`); when every slot is busy a newcomer is sent `busy`, then
 * closed. False if the port cannot be bound.
 */
export function listen(m: Mgr, port: number, fn: Handler | null, pfn?: Handler | null, flags?: number, busy?: Uint8Array, fast?: (c: Conn, s: string) => boolean, pev?: number): boolean {
  const l = m.hal.net.listen(
    port,
    function (s: Sock) {
      const c = takeSlot(m, m.reserved);
      if (!c) return refuse(m, s, busy || null);
      connOpen(c, s, F.ACCEPTED | F.WRITABLE | (flags || 0), fn, pfn || null); // an accepted socket takes bytes at once
      c.fastFn = fast || null;
      c.protoEv = pev === undefined ? -1 : pev;
      const h = sockHandler(c, c.id);
      emit(c, Ev.Open, null);
      if (c.id) emit(c, Ev.Accept, null);
      sched(m);
      return h;
    },
    function (code: number) {
      m.hal.log("listen on port " + port + " failed: " + code);
    },
  );
  if (!l) return false;
  m.listenList.push(l);
  return true;
}

/** Open an outgoing connection; Connect follows when it is established, Error and Close if it fails. Null when no slot or socket is free. */
export function connect(m: Mgr, host: string, port: number, fn: Handler | null): Conn | null {
  const c = takeSlot(m, 0);
  if (!c) return null;
  const s = m.hal.net.connect(host, port, sockHandler(c, m.nextId));
  if (!s) return null;
  connOpen(c, s, F.CLIENT, fn, null); // takes id m.nextId, the one the handler above checks
  emit(c, Ev.Open, null);
  return c;
}

/** Queue bytes (or a string of char codes 0-255) on `c.tx` whole, or not at all: false when it does not fit or the connection is closing. */
export function send(c: Conn, data: string | Uint8Array): boolean {
  if (!c.id || c.f & (F.CLOSING | F.DRAINING)) return false;
  const tx = c.tx;
  if (data.length > tx.b.length - tx.n) return false;
  if (!tx.n) c.sendSince = c.mgr.hal.clock.now();
  // A string goes straight into tx, as httpd's queue() does: no bytes made for it.
  if (typeof data === "string") c.mgr.hal.codec.put(tx.b, tx.n, data);
  else tx.b.set(data, tx.n);
  tx.n += data.length;
  sched(c.mgr, c);
  return true;
}

/** Close after everything queued is sent (Mongoose is_draining). */
export function connDrain(c: Conn): void {
  if (c.id && !(c.f & F.DRAINING)) {
    c.f |= F.DRAINING;
    c.drainDeadline = c.mgr.hal.clock.now() + c.mgr.lim.drainMs;
    sched(c.mgr, c);
  }
}

/** Close at the end of this poll pass, dropping anything unsent (Mongoose is_closing). */
export function connClose(c: Conn): void {
  if (c.id) {
    c.f |= F.CLOSING;
    sched(c.mgr, c);
  }
}

/** Queue `data` for connection `id`'s handler (a Wakeup event on the next pass); false if that connection no longer exists. */
export function wakeup(m: Mgr, id: number, data: any): boolean {
  const c = connById(m, id);
  if (!c) return false;
  (c.wakeQueue || (c.wakeQueue = [])).push(data);
  sched(m);
  return true;
}
