/**
 * An MQTT 3.1.1 client (OASIS mqtt-v3.1.1, cited below by section) on the
 * manager, like everything else: one outgoing connection from the pool, whose
 * slot is kept free for it while it is between connections (Mgr.reserved: a
 * flood of browsers cannot take it), packets framed in that slot's fixed
 * buffers. A packet from the broker is handled where it lies in rx; a packet
 * to the broker is built as one string and queued whole (a handful wait in
 * `out` while tx is full; beyond that a QoS 0 publish is dropped and said so).
 *
 * CONNECT with username and password, clean session, a last will; keep-alive
 * (a PINGREQ after `keepAlive` s without sending; the broker is taken for dead
 * after 1.5 × that without a packet from it, §3.1.2.10); QoS 0 and 1 both
 * ways (a QoS 1 publish stays in `fly` until its PUBACK and is sent again with
 * DUP after a reconnect, §4.4); SUBSCRIBE/UNSUBSCRIBE, renewed at every
 * connection (the session is clean); reconnection after an exponential wait
 * with jitter from the platform's random source (boards powered on together
 * must not come back in step: Math.random repeats after every boot).
 *
 * A packet larger than the receive buffer is dropped as it arrives (logged;
 * a QoS 1 one still acknowledged, so the broker does not hold it in flight);
 * a malformed one, or one a client must never get, closes the connection
 * (§4.8) and the client reconnects. Nothing here throws.
 *
 * Plain TCP: Espruino's TLS does not check certificates (ESPRUINO.md), so the
 * credentials travel in clear; a broker on a trusted network only.
 * Topics and payloads are strings of char codes 0-255 (UTF-8 bytes).
 */
import { Ev } from "./event";
import { ioDel } from "./iobuf";
import { Conn, F, Mgr, connClose, connDrain, connect, sched, send } from "./net";
import { timerAdd, timerDel } from "./timer";

/** Where and how to connect. */
export interface MqttOpts {
  host: string;
  port: number;
  /** The client identifier (§3.1.3.1: 1-23 letters and digits is what every broker takes). */
  id: string;
  /** Credentials ("" for none). */
  user: string;
  pass: string;
  /** Seconds (§3.1.2.10). */
  keepAlive: number;
  /** The last will: published (QoS 1, retained) by the broker when the connection is lost without a DISCONNECT; "" for none. */
  willTopic: string;
  willMsg: string;
}

/** What the client tells its user: Up (connected, subscriptions renewed), Down (`topic`: why), Msg (a publish on a subscribed topic). */
export const enum MqttEv {
  Up = 1,
  Down = 2,
  Msg = 3,
}

/** The user's callback. */
export type MqttFn = (ev: MqttEv, topic: string, payload: string) => void;

/** A client. Read `state` and `why`; change it only through the functions below. */
export class Mqtt {
  m!: Mgr;
  o!: MqttOpts;
  fn!: MqttFn;
  /** The connection, while one is open. */
  c!: Conn | null;
  /** "connecting" (TCP, then CONNACK), "up", "waiting" (for the next try), "stopped". */
  state!: string;
  /** Why the last connection failed or ended ("" none yet), and why the current one is closing ("" none). */
  why!: string;
  err!: string;
  /** Subscriptions, renewed at every connection: topic filters and their QoS. */
  subs!: string[];
  subQos!: number[];
  /** QoS 1 publishes not yet acknowledged: their packet ids and packets (sent again, with DUP, after a reconnect). */
  flyId!: number[];
  flyPkt!: string[];
  /** Packets waiting for room in tx, in order. */
  out!: string[];
  /** The last packet id given (1-65535). */
  pid!: number;
  /** The next wait before a reconnect, ms (doubles up to MAX_WAIT), and when the try after it is due. */
  wait!: number;
  retryAt!: number;
  /** The reconnect timer (0: none). */
  timer!: number;
  /** Last packet received, last packet sent, the CONNACK: clock ms. */
  rxAt!: number;
  txAt!: number;
  upAt!: number;
  /** Bytes of an oversized packet still to drop as they arrive. */
  skip!: number;
}

/** QoS 1 publishes in flight: at most this many (and twice as many packets queued beyond tx: the subscriptions and those, after a reconnect). */
const MAX_OUT = 8;
/** The first wait before a reconnect, and the longest, ms. */
const FIRST_WAIT = 1000;
const MAX_WAIT = 60000;
/** A connection (TCP and CONNACK) that takes longer than this is given up, ms. */
const CONNECT_MS = 10000;

/** Two bytes, big-endian (§1.5.2). */
function u16(n: number): string {
  return String.fromCharCode((n >> 8) & 255, n & 255);
}

/** A UTF-8 string field: its length, then its bytes (§1.5.3). */
function str(s: string): string {
  return u16(s.length) + s;
}

/** A whole packet: the fixed header (type and flags, the remaining length in 1-4 bytes, §2.2.3), then `body`. */
function pkt(first: number, body: string): string {
  let n = body.length;
  let len = "";
  do {
    let d = n & 127;
    n = Math.floor(n / 128);
    if (n) d |= 128;
    len += String.fromCharCode(d);
  } while (n);
  return String.fromCharCode(first) + len + body;
}

/** Why the broker refused the connection: a CONNACK return code (§3.2.2.3). */
function refusal(rc: number): string {
  switch (rc) {
    case 1:
      return "the broker does not speak MQTT 3.1.1";
    case 2:
      return "the broker refused the client id";
    case 3:
      return "the broker is unavailable";
    case 4:
      return "bad username or password";
    case 5:
      return "not authorised";
  }
  return "refused (code " + rc + ")";
}

/** Start a client: it connects now, and again after every loss, until mqttStop. */
export function mqttStart(m: Mgr, o: MqttOpts, fn: MqttFn): Mqtt {
  const q = new Mqtt();
  q.m = m;
  q.o = o;
  q.fn = fn;
  q.c = null;
  q.state = "waiting";
  q.why = q.err = "";
  q.subs = [];
  q.subQos = [];
  q.flyId = [];
  q.flyPkt = [];
  q.out = [];
  q.pid = 0;
  q.wait = FIRST_WAIT;
  q.retryAt = q.timer = q.rxAt = q.txAt = q.upAt = q.skip = 0;
  m.reserved++;
  dial(q);
  return q;
}

/** Stop for good: a DISCONNECT if connected (the broker then keeps the will to itself), no reconnect. */
export function mqttStop(q: Mqtt): void {
  if (q.state === "stopped") return;
  const up = q.state === "up";
  q.state = "stopped";
  if (q.timer) timerDel(q.m, q.timer);
  q.timer = 0;
  const c = q.c;
  if (c) {
    q.c = null;
    c.fn = null; // its Close is not ours to handle any more
    if (up && send(c, "\xe0\x00")) connDrain(c);
    else connClose(c);
  } else q.m.reserved--;
}

/**
 * Publish `payload` on `topic` (QoS 0 or 1; `retain`). A QoS 1 publish is kept until acknowledged, across reconnects;
 * one made while disconnected goes out on the next connection. False (and logged) when it cannot be: larger than
 * the send buffer, or too many waiting (QoS 1 in flight, or QoS 0 queued behind a full buffer, or QoS 0 while down).
 */
export function mqttPub(q: Mqtt, topic: string, payload: string, qos: number, retain: boolean): boolean {
  if (q.state === "stopped") return false;
  const id = qos ? next(q) : 0;
  const p = pkt(0x30 | (qos ? 2 : 0) | (retain ? 1 : 0), str(topic) + (qos ? u16(id) : "") + payload);
  if (p.length > q.m.lim.txSize || (qos && q.flyId.length >= MAX_OUT)) {
    q.m.hal.log("mqtt: publish to " + topic + " dropped (" + (qos ? p.length + " bytes, " + q.flyId.length + " in flight" : p.length + " bytes") + ", buffer " + q.m.lim.txSize + ")");
    return false;
  }
  const now = q.state === "up";
  if (qos) {
    q.flyId.push(id);
    q.flyPkt.push(now ? dup(p) : p); // sent again only after a reconnect, then as a duplicate
  }
  return now ? put(q, p) : !!qos;
}

/** Subscribe to `filter` at QoS 0 or 1, now if connected and again at every connection. */
export function mqttSub(q: Mqtt, filter: string, qos: number): void {
  const i = q.subs.indexOf(filter);
  if (i >= 0) q.subQos[i] = qos;
  else {
    q.subs.push(filter);
    q.subQos.push(qos);
  }
  if (q.state === "up") put(q, pkt(0x82, u16(next(q)) + str(filter) + String.fromCharCode(qos)));
}

/** Unsubscribe from `filter`. */
export function mqttUnsub(q: Mqtt, filter: string): void {
  const i = q.subs.indexOf(filter);
  if (i < 0) return;
  q.subs.splice(i, 1);
  q.subQos.splice(i, 1);
  if (q.state === "up") put(q, pkt(0xa2, u16(next(q)) + str(filter)));
}

/** A PUBLISH packet with its DUP flag set (§3.3.1.1). */
function dup(p: string): string {
  return String.fromCharCode(p.charCodeAt(0) | 8) + p.substr(1);
}

/** The next packet id (never 0, §2.3.1). */
function next(q: Mqtt): number {
  q.pid = (q.pid % 65535) + 1;
  return q.pid;
}

/** Queue a packet: into tx if it fits behind what waits, else in `out`; false (dropped) when that is full too. */
function put(q: Mqtt, p: string): boolean {
  const c = q.c;
  if (!c) return false;
  if (!q.out.length && send(c, p)) {
    q.txAt = q.m.hal.clock.now();
    return true;
  }
  if (q.out.length >= 2 * MAX_OUT) {
    q.m.hal.log("mqtt: the broker is not taking packets fast enough: one dropped");
    return false;
  }
  q.out.push(p);
  return true;
}

/** Move waiting packets into tx as room appears. */
function flushOut(q: Mqtt, c: Conn): void {
  while (q.out.length && send(c, q.out[0])) {
    q.out.shift();
    q.txAt = q.m.hal.clock.now();
  }
}

/** Open a connection now; on failure, try again later. */
function dial(q: Mqtt): void {
  q.timer = 0;
  if (q.state === "stopped") return;
  q.state = "connecting";
  q.skip = 0;
  q.err = "";
  q.out = [];
  const c = connect(q.m, q.o.host, q.o.port, function (c, ev, data) {
    handler(q, c, ev, data);
  });
  if (!c) return lost(q, "no free connection slot or socket");
  q.c = c;
  q.m.reserved--; // the slot kept for us is ours now
  c.deadline = q.m.hal.clock.now() + CONNECT_MS;
}

/** The connection ended (or never came): tell the user, and try again after the wait, with jitter (half to all of it). */
function lost(q: Mqtt, why: string): void {
  const was = q.state;
  if (was === "stopped") return;
  q.state = "waiting";
  q.why = why;
  const now = q.m.hal.clock.now();
  // A connection that lasted a while starts the waits again from the first; one that keeps failing waits longer each time.
  if (was === "up" && now - q.upAt >= 10000) q.wait = FIRST_WAIT;
  const r = q.m.hal.random ? q.m.hal.random(1)[0] / 256 : 0.5;
  const ms = Math.floor(q.wait / 2 + (r * q.wait) / 2);
  q.wait = Math.min(q.wait * 2, MAX_WAIT);
  q.retryAt = now + ms;
  q.timer = timerAdd(q.m, ms, false, function () {
    dial(q);
  });
  if (was === "up") call(q, MqttEv.Down, why, "");
}

/** The user's callback, its errors logged (never the client's). */
function call(q: Mqtt, ev: MqttEv, topic: string, payload: string): void {
  try {
    q.fn(ev, topic, payload);
  } catch (e) {
    q.m.hal.log("mqtt: handler error: " + e);
  }
}

/** Close the connection because of `why` (logged); Close then reconnects. */
function drop(q: Mqtt, c: Conn, why: string): void {
  q.err = why;
  q.m.hal.log("mqtt: " + why + ": closing");
  connClose(c);
}

/** The connection's events. */
function handler(q: Mqtt, c: Conn, ev: Ev, data: any): void {
  const now = q.m.hal.clock.now();
  if (ev === Ev.Connect) {
    const o = q.o;
    const will = o.willTopic !== "";
    // §3.1.2: protocol name and level 4, flags (user, password, will retain, will QoS 1, will, clean session), keep-alive.
    const flags = (o.user ? 0x80 : 0) | (o.pass ? 0x40 : 0) | (will ? 0x2c : 0) | 0x02;
    const body = str("MQTT") + "\x04" + String.fromCharCode(flags) + u16(o.keepAlive) + str(o.id) + (will ? str(o.willTopic) + str(o.willMsg) : "") + (o.user ? str(o.user) : "") + (o.pass ? str(o.pass) : "");
    q.rxAt = now;
    put(q, pkt(0x10, body));
  } else if (ev === Ev.Read) {
    read(q, c, now);
  } else if (ev === Ev.Write) {
    flushOut(q, c);
  } else if (ev === Ev.Poll) {
    poll(q, c, now);
  } else if (ev === Ev.Error) {
    if (!q.err) q.err = q.state === "connecting" ? "cannot reach the broker at " + q.o.host + ":" + q.o.port + " (" + data + ")" : data;
  } else if (ev === Ev.Close) {
    if (q.c !== c) return;
    q.c = null;
    q.m.reserved++; // the slot is free again, and kept for the next try
    // (2v29 reports an outgoing socket connected before its handshake: a refused one just closes.)
    lost(q, q.err || (q.state === "up" ? "the broker closed the connection" : "cannot reach the broker at " + q.o.host + ":" + q.o.port));
  }
}

/** Deadlines: the CONNACK, the keep-alive PINGREQ, a silent broker; then set the connection's next deadline. */
function poll(q: Mqtt, c: Conn, now: number): void {
  const ka = q.o.keepAlive * 1000;
  if (c.f & F.EOF) return drop(q, c, q.state === "up" ? "the broker closed the connection" : "the broker at " + q.o.host + ":" + q.o.port + " closed the connection before CONNACK");
  if (q.state === "connecting") {
    if (now >= c.deadline) return drop(q, c, "no answer from the broker at " + q.o.host + ":" + q.o.port + " in " + CONNECT_MS / 1000 + " s");
    return;
  }
  if (q.state !== "up" || !ka) return;
  if (now - q.rxAt >= ka + ka / 2) return drop(q, c, "the broker went silent (nothing for " + Math.round((now - q.rxAt) / 1000) + " s)");
  if (now - q.txAt >= ka) put(q, "\xc0\x00"); // PINGREQ
  flushOut(q, c);
  c.deadline = Math.min(q.txAt + ka, q.rxAt + ka + ka / 2);
}

/** Every whole packet in rx, handled where it lies; an oversized one dropped as it arrives. */
function read(q: Mqtt, c: Conn, now: number): void {
  const rx = c.rx;
  const b = rx.b;
  q.rxAt = now;
  // A full rx was read while the socket still had more: the next pass reads on, once room is made here.
  if (c.f & F.READABLE) sched(q.m, c);
  while (q.c === c && !(c.f & F.CLOSING)) {
    if (q.skip) {
      const k = Math.min(q.skip, rx.n);
      ioDel(rx, 0, k);
      q.skip -= k;
      if (q.skip) return;
    }
    if (rx.n < 2) return;
    // The remaining length: 1 to 4 bytes of 7 bits, least significant first (§2.2.3).
    let len = 0;
    let mul = 1;
    let i = 1;
    for (;;) {
      if (i >= rx.n) return;
      const d = b[i++];
      len += (d & 127) * mul;
      if (!(d & 128)) break;
      if (i > 4) return drop(q, c, "malformed packet from the broker (remaining length)");
      mul *= 128;
    }
    const end = i + len;
    if (end > b.length) {
      q.m.hal.log("mqtt: a " + end + "-byte packet from the broker is over the " + b.length + "-byte buffer: dropped");
      oversized(q, c, i);
      q.skip = end;
      continue;
    }
    if (rx.n < end) return;
    const why = packet(q, c, b[0], i, end, now);
    if (why) return drop(q, c, why);
    ioDel(rx, 0, end);
  }
}

/** An oversized PUBLISH of QoS 1 is still acknowledged when its packet id is already in rx (the broker would hold it in flight). */
function oversized(q: Mqtt, c: Conn, s: number): void {
  const b = c.rx.b;
  if ((b[0] & 0xf6) !== 0x32 || s + 2 > c.rx.n) return;
  const p = s + 2 + ((b[s] << 8) | b[s + 1]);
  if (p + 2 <= c.rx.n) put(q, "\x40\x02" + String.fromCharCode(b[p], b[p + 1]));
}

/** One whole packet, `b[0]` its first byte, its variable header at `s`, its end at `e`: "" when handled, else why the connection must close. */
function packet(q: Mqtt, c: Conn, first: number, s: number, e: number, now: number): string {
  const b = c.rx.b;
  const type = first >> 4;
  // §2.2.2: the flags of every packet a server sends, PUBLISH aside, are 0.
  if (type !== 3 && first & 15) return "malformed packet from the broker (flags)";
  if (type === 2) {
    // CONNACK (§3.2): the session present flag, the return code.
    if (q.state !== "connecting" || e - s !== 2) return "unexpected CONNACK";
    if (b[s + 1]) return "refused: " + refusal(b[s + 1]);
    up(q, c, now);
    return "";
  }
  if (q.state !== "up") return "a packet before CONNACK";
  if (type === 3) {
    // PUBLISH (§3.3): topic, packet id (QoS 1), payload. QoS 2 is never granted: we subscribe at 1 at most.
    const qos = (first >> 1) & 3;
    if (qos > 1) return "a QoS " + qos + " publish (subscribed at 1 at most)";
    let p = s + 2;
    if (p > e) return "malformed PUBLISH";
    p += (b[s] << 8) | b[s + 1];
    if (p + (qos ? 2 : 0) > e) return "malformed PUBLISH";
    const topic = q.m.hal.codec.str(b, s + 2, p);
    const id = qos ? String.fromCharCode(b[p], b[p + 1]) : "";
    call(q, MqttEv.Msg, topic, q.m.hal.codec.str(b, p + id.length, e));
    // §4.3.2: acknowledged once handled. (The handler may have closed the connection: put then finds no room.)
    if (qos && q.c === c) put(q, "\x40\x02" + id);
    return "";
  }
  if (type === 4) {
    // PUBACK (§3.4): that publish is delivered.
    if (e - s !== 2) return "malformed PUBACK";
    const k = q.flyId.indexOf((b[s] << 8) | b[s + 1]);
    if (k >= 0) {
      q.flyId.splice(k, 1);
      q.flyPkt.splice(k, 1);
    }
    return "";
  }
  if (type === 9) {
    // SUBACK (§3.9): 0x80 for a filter the broker refused.
    for (let i = s + 2; i < e; i++) if (b[i] === 0x80) q.m.hal.log("mqtt: the broker refused a subscription");
    return "";
  }
  // UNSUBACK, PINGRESP: nothing to do (rxAt is updated).
  return type === 11 || type === 13 ? "" : "unexpected packet type " + type + " from the broker";
}

/** CONNACK accepted: renew the subscriptions, send again what is unacknowledged (DUP set, §4.4), tell the user. */
function up(q: Mqtt, c: Conn, now: number): void {
  q.state = "up";
  q.why = "";
  q.upAt = now;
  for (let i = 0; i < q.subs.length; i++) put(q, pkt(0x82, u16(next(q)) + str(q.subs[i]) + String.fromCharCode(q.subQos[i])));
  for (let i = 0; i < q.flyPkt.length; i++) {
    put(q, q.flyPkt[i]);
    q.flyPkt[i] = dup(q.flyPkt[i]);
  }
  c.deadline = now + (q.o.keepAlive ? q.o.keepAlive * 1000 : 0);
  call(q, MqttEv.Up, "", "");
}
