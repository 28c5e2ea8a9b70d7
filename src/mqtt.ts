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
 *
 * The client is an object whose functions are made when it starts (closures
 * over it): a firmware that never starts one pays for one function only, not
 * for two dozen (each function the interpreter holds costs ~5 JsVars, and on
 * an esp32c3 every var counts).
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

/** A client: read its state; act through its functions. */
export interface Mqtt {
  /** "connecting" (TCP, then CONNACK), "up", "waiting" (for the next try), "stopped". */
  state: string;
  /** Why the last connection failed or ended ("" none yet). */
  why: string;
  /** When the next try is due (clock ms), while waiting. */
  retryAt: number;
  /** QoS 1 publishes not yet acknowledged: their packet ids and packets (sent again, with DUP, after a reconnect). */
  flyId: number[];
  flyPkt: string[];
  /** Packets waiting for room in tx, in order. */
  out: string[];
  /**
   * Publish `payload` on `topic` (QoS 0 or 1; `retain`). A QoS 1 publish is kept until acknowledged, across
   * reconnects; one made while disconnected goes out on the next connection. False (and logged) when it cannot be:
   * larger than the send buffer, too many QoS 1 in flight, QoS 0 behind a full queue or while disconnected.
   */
  publish(topic: string, payload: string, qos: number, retain: boolean): boolean;
  /** Subscribe to `filter` at QoS 0 or 1, now if connected and again at every connection. */
  subscribe(filter: string, qos: number): void;
  /** Unsubscribe from `filter`. */
  unsubscribe(filter: string): void;
  /**
   * Stop for good: what waits, then a DISCONNECT if connected (the broker then keeps the will to itself), no
   * reconnect. `done` is called (soon, from the loop) once the connection is gone: a client with the same id started
   * before would make the broker drop this one, and with it what it has not read yet.
   */
  stop(done?: () => void): void;
}

/** QoS 1 publishes in flight: at most this many. */
const MAX_FLY = 32;
/** Packets waiting behind a full tx: a QoS 0 publish is dropped beyond the first figure; beyond the second (acknowledgements, QoS 1) the connection ends: a broker that sends faster than the board can answer. */
const SOFT_OUT = 16;
const HARD_OUT = 64;
/** The first wait before a reconnect, and the longest, ms. */
const FIRST_WAIT = 1000;
const MAX_WAIT = 60000;
/** A connection (TCP and CONNACK) that takes longer than this is given up, ms. */
const CONNECT_MS = 10000;

/** Start a client on `m`: it connects now, and again after every loss, until stop(). */
export function mqttStart(m: Mgr, o: MqttOpts, fn: MqttFn): Mqtt {
  const hal = m.hal;
  const addr = o.host + ":" + o.port;
  /** The connection, while one is open; why it is closing ("" none). */
  let conn: Conn | null = null;
  let err = "";
  /** Subscriptions, renewed at every connection: topic filters and their QoS. */
  const subs: string[] = [];
  const subQos: number[] = [];
  /** The last packet id given (1-65535); the next wait before a reconnect, ms; the reconnect timer (0: none). */
  let pid = 0;
  let wait = FIRST_WAIT;
  let timer = 0;
  /** Last packet received, last packet sent, the CONNACK: clock ms. Bytes of an oversized packet still to drop. */
  let rxAt = 0;
  let txAt = 0;
  let upAt = 0;
  let skip = 0;
  /** Told when a stopped client's connection is gone. */
  let gone: (() => void) | null = null;

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

  /** A PUBLISH packet with its DUP flag set (§3.3.1.1). */
  function dup(p: string): string {
    return String.fromCharCode(p.charCodeAt(0) | 8) + p.substr(1);
  }

  /** The next packet id (never 0, §2.3.1). */
  function next(): number {
    pid = (pid % 65535) + 1;
    return pid;
  }

  /** A SUBSCRIBE of one filter. */
  function subOne(i: number): void {
    put(pkt(0x82, u16(next()) + str(subs[i]) + String.fromCharCode(subQos[i])));
  }

  /** Queue a packet: into tx if it fits behind what waits, else in `out`; a QoS 0 publish (`droppable`) is dropped when many wait, anything else only when far too many do (the connection then ends). */
  function put(p: string, droppable?: boolean): boolean {
    const c = conn;
    if (!c) return false;
    if (!q.out.length && send(c, p)) {
      txAt = hal.clock.now();
      return true;
    }
    if (q.out.length >= (droppable ? SOFT_OUT : HARD_OUT)) {
      if (droppable) hal.log("mqtt: the broker is not taking packets fast enough: a QoS 0 publish dropped");
      else drop(c, "the broker sends faster than the board can answer");
      return false;
    }
    q.out.push(p);
    return true;
  }

  /** The user's callback, its errors logged (never the client's). */
  function call(ev: MqttEv, topic: string, payload: string): void {
    try {
      fn(ev, topic, payload);
    } catch (e) {
      hal.log("mqtt: handler error: " + e);
    }
  }

  /** Open a connection now; on failure, try again later. */
  function dial(): void {
    timer = 0;
    if (q.state === "stopped") return;
    q.state = "connecting";
    skip = 0;
    err = "";
    q.out = [];
    const c = connect(m, o.host, o.port, handler);
    if (!c) return lost("no free connection slot or socket");
    conn = c;
    m.reserved--; // the slot kept for us is ours now
    c.deadline = hal.clock.now() + CONNECT_MS;
  }

  /** The connection ended (or never came): tell the user, and try again after the wait, with jitter (half to all of it). */
  function lost(why: string): void {
    const was = q.state;
    if (was === "stopped") return;
    q.state = "waiting";
    q.why = why;
    const now = hal.clock.now();
    // A connection that lasted a while starts the waits again from the first; one that keeps failing waits longer each time.
    if (was === "up" && now - upAt >= 10000) wait = FIRST_WAIT;
    const r = hal.random ? hal.random(1)[0] / 256 : 0.5;
    const ms = Math.floor(wait / 2 + (r * wait) / 2);
    wait = Math.min(wait * 2, MAX_WAIT);
    q.retryAt = now + ms;
    timer = timerAdd(m, ms, false, dial);
    if (was === "up") call(MqttEv.Down, why, "");
  }

  /** Close the connection because of `why` (logged); Close then reconnects. */
  function drop(c: Conn, why: string): void {
    err = why;
    hal.log("mqtt: " + why + ": closing");
    connClose(c);
  }

  /** The connection's events. */
  function handler(c: Conn, ev: Ev, data: any): void {
    const now = hal.clock.now();
    if (ev === Ev.Connect) {
      const will = o.willTopic !== "";
      // §3.1.2: protocol name and level 4, flags (user, password, will retain, will QoS 1, will, clean session), keep-alive.
      const flags = (o.user ? 0x80 : 0) | (o.pass ? 0x40 : 0) | (will ? 0x2c : 0) | 0x02;
      rxAt = now;
      put(pkt(0x10, str("MQTT") + "\x04" + String.fromCharCode(flags) + u16(o.keepAlive) + str(o.id) + (will ? str(o.willTopic) + str(o.willMsg) : "") + (o.user ? str(o.user) : "") + (o.pass ? str(o.pass) : "")));
    } else if (ev === Ev.Read) read(c, now);
    else if (ev === Ev.Write) {
      if (q.state === "stopped") bye(c);
      else flushOut(c);
    } else if (ev === Ev.Poll) {
      if (q.state !== "stopped") poll(c, now);
      else if (now >= c.deadline) connClose(c); // a broker that takes nothing more: given up
    }
    else if (ev === Ev.Error) {
      if (!err) err = q.state === "connecting" ? "cannot reach the broker at " + addr + " (" + data + ")" : data;
    } else if (ev === Ev.Close && conn === c) {
      conn = null;
      m.reserved++; // the slot is free again, and kept for the next try
      // (2v29 reports an outgoing socket connected before its handshake: a refused one just closes.)
      lost(err || (q.state === "up" ? "the broker closed the connection" : "cannot reach the broker at " + addr));
    } else if (ev === Ev.Close && gone) {
      hal.clock.soon(gone); // after this event: the slot is free by then
      gone = null;
    }
  }

  /** A stopped client's connection: what waits, then DISCONNECT (§3.14: the broker then keeps the will to itself), then the close. */
  function bye(c: Conn): void {
    flushOut(c);
    if (!q.out.length && send(c, "\xe0\x00")) connDrain(c);
  }

  /** Move waiting packets into tx as room appears. */
  function flushOut(c: Conn): void {
    while (q.out.length && send(c, q.out[0])) {
      q.out.shift();
      txAt = hal.clock.now();
    }
  }

  /** Deadlines: the CONNACK, the keep-alive PINGREQ, a silent broker; then set the connection's next deadline. */
  function poll(c: Conn, now: number): void {
    const ka = o.keepAlive * 1000;
    // (Input the platform cut, F.CUT: the broker sent faster than the board reads, a large packet at once: reconnect.)
    if (c.f & F.EOF) {
      // (A broker drops the older of two connections with one client id: right after CONNACK, that is the likely cause.)
      const why = q.state !== "up" ? "the broker at " + addr + " closed the connection before CONNACK" : now - upAt < 2000 ? "the broker closed the connection at once (another client with the id " + o.id + "?)" : "the broker closed the connection";
      return drop(c, c.f & F.CUT ? "the broker sent more at once than the board can hold" : why);
    }
    if (q.state === "connecting") {
      if (now >= c.deadline) drop(c, "no answer from the broker at " + addr + " in " + CONNECT_MS / 1000 + " s");
      return;
    }
    if (q.state !== "up" || !ka) return;
    if (now - rxAt >= ka + ka / 2) return drop(c, "the broker went silent (nothing for " + Math.round((now - rxAt) / 1000) + " s)");
    if (now - txAt >= ka) put("\xc0\x00"); // PINGREQ
    flushOut(c);
    c.deadline = Math.min(txAt + ka, rxAt + ka + ka / 2);
  }

  /** Every whole packet in rx, handled where it lies; an oversized one dropped as it arrives. */
  function read(c: Conn, now: number): void {
    const rx = c.rx;
    const b = rx.b;
    rxAt = now;
    // A full rx was read while the socket still had more: the next pass reads on, once room is made here.
    if (c.f & F.READABLE) sched(m, c);
    while (conn === c && !(c.f & F.CLOSING)) {
      if (skip) {
        const k = Math.min(skip, rx.n);
        ioDel(rx, 0, k);
        skip -= k;
        if (skip) return;
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
        if (i > 4) return drop(c, "malformed packet from the broker (remaining length)");
        mul *= 128;
      }
      const end = i + len;
      if (end > b.length) {
        hal.log("mqtt: a " + end + "-byte packet from the broker is over the " + b.length + "-byte buffer: dropped");
        // A QoS 1 PUBLISH is still acknowledged when its packet id is in rx already (the broker would hold it in flight).
        const p = i + 2 + ((b[i] << 8) | b[i + 1]);
        if ((b[0] & 0xf6) === 0x32 && p + 2 <= rx.n) put("\x40\x02" + String.fromCharCode(b[p], b[p + 1]));
        skip = end;
        continue;
      }
      if (rx.n < end) return;
      const why = packet(c, b[0], i, end, now);
      if (why) return drop(c, why);
      ioDel(rx, 0, end);
    }
  }

  /** One whole packet, `first` its first byte, its variable header at `s`, its end at `e`: "" when handled, else why the connection must close. */
  function packet(c: Conn, first: number, s: number, e: number, now: number): string {
    const b = c.rx.b;
    const type = first >> 4;
    // §2.2.2: the flags of every packet a server sends, PUBLISH aside, are 0.
    if (type !== 3 && first & 15) return "malformed packet from the broker (flags)";
    if (type === 2) {
      // CONNACK (§3.2): the session present flag, the return code (§3.2.2.3).
      if (q.state !== "connecting" || e - s !== 2) return "unexpected CONNACK";
      const rc = b[s + 1];
      if (rc) return "refused: " + (rc === 4 || rc === 5 ? "bad username or password, or not authorised" : rc === 2 ? "the broker refused the client id " + o.id : rc === 3 ? "the broker is unavailable" : rc === 1 ? "the broker does not speak MQTT 3.1.1" : "code " + rc);
      // Accepted: renew the subscriptions, send again what is unacknowledged (DUP set, §4.4), tell the user.
      q.state = "up";
      q.why = "";
      upAt = now;
      for (let i = 0; i < subs.length; i++) subOne(i);
      for (let i = 0; i < q.flyPkt.length; i++) {
        put(q.flyPkt[i]);
        q.flyPkt[i] = dup(q.flyPkt[i]);
      }
      c.deadline = o.keepAlive ? now + o.keepAlive * 1000 : 0;
      call(MqttEv.Up, "", "");
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
      const id = qos ? String.fromCharCode(b[p], b[p + 1]) : "";
      call(MqttEv.Msg, hal.codec.str(b, s + 2, p), hal.codec.str(b, p + id.length, e));
      // §4.3.2: acknowledged once handled (unless the handler stopped the client or closed the connection).
      if (qos && conn === c) put("\x40\x02" + id);
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
      for (let i = s + 2; i < e; i++) if (b[i] === 0x80) hal.log("mqtt: the broker refused a subscription");
      return "";
    }
    // UNSUBACK, PINGRESP: nothing to do (rxAt is updated).
    return type === 11 || type === 13 ? "" : "unexpected packet type " + type + " from the broker";
  }

  const q: Mqtt = {
    state: "waiting",
    why: "",
    retryAt: 0,
    flyId: [],
    flyPkt: [],
    out: [],
    publish: function (topic, payload, qos, retain) {
      if (q.state === "stopped") return false;
      const id = qos ? next() : 0;
      const p = pkt(0x30 | (qos ? 2 : 0) | (retain ? 1 : 0), str(topic) + (qos ? u16(id) : "") + payload);
      if (p.length > m.lim.txSize || (qos && q.flyId.length >= MAX_FLY)) {
        hal.log("mqtt: publish to " + topic + " dropped (" + p.length + " bytes, buffer " + m.lim.txSize + (qos ? ", " + q.flyId.length + " in flight)" : ")"));
        return false;
      }
      const now = q.state === "up";
      if (qos) {
        q.flyId.push(id);
        q.flyPkt.push(now ? dup(p) : p); // sent again only after a reconnect, then as a duplicate
      }
      return now ? put(p, !qos) : !!qos;
    },
    subscribe: function (filter, qos) {
      let i = subs.indexOf(filter);
      if (i >= 0) subQos[i] = qos;
      else {
        i = subs.length;
        subs.push(filter);
        subQos.push(qos);
      }
      if (q.state === "up") subOne(i);
    },
    unsubscribe: function (filter) {
      const i = subs.indexOf(filter);
      if (i < 0) return;
      subs.splice(i, 1);
      subQos.splice(i, 1);
      if (q.state === "up") put(pkt(0xa2, u16(next()) + str(filter)));
    },
    stop: function (done) {
      if (q.state === "stopped") return;
      const up = q.state === "up";
      q.state = "stopped";
      if (timer) timerDel(m, timer);
      timer = 0;
      const c = conn;
      if (!c) {
        m.reserved--;
        if (done) hal.clock.soon(done);
        return;
      }
      conn = null; // its Close no longer reconnects
      gone = done || null;
      if (!up) return connClose(c);
      // What waits goes first (the last publishes of a client being stopped), then DISCONNECT: as tx takes them
      // (Write), within 5 s.
      c.deadline = hal.clock.now() + 5000;
      bye(c);
    },
  };
  m.reserved++;
  dial();
  return q;
}
