/**
 * The MQTT client (src/mqtt.ts) on the simulated HAL against a scripted
 * broker: what it sends, decoded by a reference parser written here from the
 * 3.1.1 text; what it does with every packet a broker may send, whole, split
 * at every byte, oversized, malformed and fuzzed (fast-check); keep-alive,
 * reconnection with backoff, QoS 1 across a reconnect, the reserved slot.
 */
import fc from "fast-check";
import { Sim, latin1 } from "../hal/sim";
import type { Sock } from "../hal/hal";
import { Ev, limits, listen, mgrInit, poolUsed } from "../src/index";
import { MqttEv, MqttOpts, mqttStart } from "../src/mqtt";

const PORT = 1883;

/** The broker's side of one connection: what it got, and a way to send. */
interface Peer {
  s: Sock;
  got: string;
  closed: boolean;
}

/** A scripted broker on the sim: it records connections; the test answers. */
function broker(sim: Sim) {
  const peers: Peer[] = [];
  const l = sim.net.listen(
    PORT,
    (s) => {
      const p: Peer = { s, got: "", closed: false };
      peers.push(p);
      const buf = new Uint8Array(4096);
      return {
        readable() {
          for (;;) {
            const k = s.read(buf, 0, buf.length);
            if (k < 0 && !p.closed) {
              p.closed = true; // the client's FIN: the broker closes too
              s.close();
            }
            if (k <= 0) break;
            p.got += latin1.str(buf, 0, k);
          }
        },
        writable() {},
        closed() {
          p.closed = true;
        },
      };
    },
    () => undefined,
  );
  return {
    peers,
    last: () => peers[peers.length - 1],
    close: () => l && l.close(),
  };
}

/** Write `data` to the client, in the pieces cut at `cuts`, the sim run after each. */
function write(sim: Sim, p: Peer, data: string, cuts: number[] = []): void {
  let at = 0;
  for (const end of cuts.concat([data.length])) {
    const b = latin1.bytes(data.substring(at, end));
    let off = 0;
    for (let tries = 0; off < b.length && tries < 100 && !p.closed; tries++) {
      const k = p.s.write(b, off, b.length - off);
      off += k;
      if (!k) sim.run();
    }
    at = end;
    sim.run();
  }
}

/** One decoded packet (reference decoder, §2). */
interface Pkt {
  type: number;
  flags: number;
  body: string;
}

/** Split a byte string into packets; throws on a malformed one. */
function decode(s: string): Pkt[] {
  const out: Pkt[] = [];
  let i = 0;
  while (i < s.length) {
    const first = s.charCodeAt(i);
    let len = 0;
    let mul = 1;
    let k = i + 1;
    for (;;) {
      const d = s.charCodeAt(k++);
      len += (d & 127) * mul;
      mul *= 128;
      if (!(d & 128)) break;
      if (k - i > 4) throw new Error("bad remaining length");
    }
    if (k + len > s.length) throw new Error("truncated packet");
    out.push({ type: first >> 4, flags: first & 15, body: s.substr(k, len) });
    i = k + len;
  }
  return out;
}

const u16 = (n: number) => String.fromCharCode(n >> 8, n & 255);
const str = (s: string) => u16(s.length) + s;
/** A packet with a 1-4 byte remaining length. */
function pkt(first: number, body: string): string {
  let n = body.length;
  let len = "";
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n) d |= 128;
    len += String.fromCharCode(d);
  } while (n);
  return String.fromCharCode(first) + len + body;
}
const CONNACK = (rc = 0) => pkt(0x20, "\x00" + String.fromCharCode(rc));
const PUBLISH = (topic: string, payload: string, qos = 0, id = 0) => pkt(0x30 | (qos << 1), str(topic) + (qos ? u16(id) : "") + payload);

/** Fields of a CONNECT body (§3.1). */
function connectFields(body: string) {
  let i = 0;
  const rd = () => {
    const n = (body.charCodeAt(i) << 8) | body.charCodeAt(i + 1);
    const v = body.substr(i + 2, n);
    i += 2 + n;
    return v;
  };
  const proto = rd();
  const level = body.charCodeAt(i++);
  const flags = body.charCodeAt(i++);
  const keepAlive = (body.charCodeAt(i) << 8) | body.charCodeAt(i + 1);
  i += 2;
  const id = rd();
  const will = flags & 4 ? { topic: rd(), msg: rd(), qos: (flags >> 3) & 3, retain: !!(flags & 0x20) } : null;
  const user = flags & 0x80 ? rd() : null;
  const pass = flags & 0x40 ? rd() : null;
  return { proto, level, clean: !!(flags & 2), keepAlive, id, will, user, pass, rest: body.substr(i) };
}

/** A PUBLISH body: topic, packet id, payload. */
function publishFields(p: Pkt) {
  const n = (p.body.charCodeAt(0) << 8) | p.body.charCodeAt(1);
  const qos = (p.flags >> 1) & 3;
  const topic = p.body.substr(2, n);
  const id = qos ? (p.body.charCodeAt(2 + n) << 8) | p.body.charCodeAt(3 + n) : 0;
  return { topic, qos, dup: !!(p.flags & 8), retain: !!(p.flags & 1), id, payload: p.body.substr(2 + n + (qos ? 2 : 0)) };
}

const OPTS: MqttOpts = { host: "10.0.0.2", port: PORT, id: "board1", user: "dev", pass: "pw", keepAlive: 30, willTopic: "espweb/b1/status", willMsg: "offline" };

/** A sim, a manager (3 slots, 256-byte buffers), a broker, a started client and what it reported. */
function setup(over?: Partial<MqttOpts>, rx = 256) {
  const sim = new Sim();
  const mgr = mgrInit(sim, limits({ slots: 3, rxSize: rx, txSize: 256 }));
  const b = broker(sim);
  const evs: string[] = [];
  const q = mqttStart(mgr, { ...OPTS, ...over }, (ev, topic, payload) => {
    evs.push(ev === MqttEv.Up ? "up" : ev === MqttEv.Down ? "down:" + topic : "msg:" + topic + "=" + payload);
  });
  sim.run();
  return { sim, mgr, b, evs, q };
}

/** Connected: CONNACK given, what was sent so far cleared. */
function connected(over?: Partial<MqttOpts>, rx?: number) {
  const t = setup(over, rx);
  write(t.sim, t.b.last(), CONNACK());
  t.b.last().got = "";
  return t;
}

test("CONNECT carries protocol level 4, clean session, keep-alive, id, will (QoS 1, retained) and credentials", () => {
  const { b, q } = setup();
  const ps = decode(b.last().got);
  expect(ps.map((p) => p.type)).toEqual([1]);
  expect(ps[0].flags).toBe(0);
  expect(connectFields(ps[0].body)).toEqual({
    proto: "MQTT", level: 4, clean: true, keepAlive: 30, id: "board1",
    will: { topic: "espweb/b1/status", msg: "offline", qos: 1, retain: true }, user: "dev", pass: "pw", rest: "",
  });
  expect(q.state).toBe("connecting");
});

test("without credentials or will, their flags and fields are absent", () => {
  const { b } = setup({ user: "", pass: "", willTopic: "" });
  const f = connectFields(decode(b.last().got)[0].body);
  expect([f.user, f.pass, f.will, f.rest]).toEqual([null, null, null, ""]);
});

test("CONNACK accepted: Up, subscriptions sent, publishes encoded, QoS 1 kept until PUBACK", () => {
  const { sim, b, evs, q } = setup();
  q.subscribe("espweb/b1/config/set", 1);
  q.subscribe("espweb/all/#", 0);
  expect(q.publish("espweb/b1/state", "early", 1, true)).toBe(true); // while connecting: goes out on CONNACK
  write(sim, b.last(), CONNACK());
  expect(evs).toEqual(["up"]);
  expect(q.state).toBe("up");
  let ps = decode(b.last().got).slice(1);
  expect(ps.map((p) => [p.type, p.flags])).toEqual([[8, 2], [8, 2], [3, 3]]);
  expect(ps[0].body.substr(2)).toBe(str("espweb/b1/config/set") + "\x01");
  expect(ps[1].body.substr(2)).toBe(str("espweb/all/#") + "\x00");
  expect(publishFields(ps[2])).toMatchObject({ topic: "espweb/b1/state", qos: 1, dup: false, retain: true, payload: "early" });
  b.last().got = "";
  expect(q.publish("t/a", "zero", 0, false)).toBe(true);
  expect(q.publish("t/b", "one", 1, false)).toBe(true);
  sim.run();
  ps = decode(b.last().got);
  expect(publishFields(ps[0])).toEqual({ topic: "t/a", qos: 0, dup: false, retain: false, id: 0, payload: "zero" });
  const one = publishFields(ps[1]);
  expect(one).toMatchObject({ topic: "t/b", qos: 1, payload: "one" });
  expect(q.flyId.length).toBe(2);
  write(sim, b.last(), pkt(0x40, u16(one.id)));
  expect(q.flyId.length).toBe(1);
  q.unsubscribe("espweb/all/#");
  sim.run();
  expect(decode(b.last().got).pop()).toMatchObject({ type: 10, flags: 2 });
});

test("every packet a broker sends, split at every byte, is handled exactly as when whole", () => {
  const stream =
    CONNACK() +
    pkt(0x90, u16(1) + "\x01") +
    PUBLISH("espweb/b1/config/set", '{"interval":5}', 1, 7) +
    PUBLISH("a", "") +
    pkt(0xd0, "") +
    PUBLISH("big/" + "x".repeat(150), "y".repeat(60)) + // a 2-byte remaining length
    pkt(0xb0, u16(2));
  const run = (cuts: number[]) => {
    const t = setup();
    t.q.subscribe("espweb/b1/config/set", 1);
    write(t.sim, t.b.last(), stream, cuts);
    return { evs: t.evs, sent: decode(t.b.last().got).map((p) => [p.type, p.body]), state: t.q.state };
  };
  const whole = run([]);
  expect(whole.evs).toEqual(["up", 'msg:espweb/b1/config/set={"interval":5}', "msg:a=", "msg:big/" + "x".repeat(150) + "=" + "y".repeat(60)]);
  expect(whole.sent[whole.sent.length - 1]).toEqual([4, u16(7)]); // the QoS 1 publish acknowledged
  for (let i = 1; i < stream.length; i++) expect(run([i])).toEqual(whole);
  // And one byte at a time.
  expect(run(Array.from({ length: stream.length - 1 }, (_, i) => i + 1))).toEqual(whole);
});

test("a packet over the receive buffer is dropped as it arrives (a QoS 1 one acknowledged), the next one handled", () => {
  const { sim, b, evs, q, mgr } = connected(undefined, 128);
  const big = PUBLISH("espweb/b1/config/set", "z".repeat(400), 1, 9);
  write(sim, b.last(), big + PUBLISH("after", "ok"), [100, 300]);
  expect(evs).toEqual(["up", "msg:after=ok"]);
  expect(decode(b.last().got)).toEqual([{ type: 4, flags: 0, body: u16(9) }]);
  expect(q.state).toBe("up");
  expect((sim.logs.join("\n").match(/over the 128-byte buffer: dropped/g) || []).length).toBe(1);
  expect(poolUsed(mgr)).toBe(1);
});

test.each([
  ["a remaining length of 5 bytes", "\x30\xff\xff\xff\xff\x01"],
  ["reserved flags set on a PUBACK", "\x42\x02\x00\x01"],
  ["a QoS 2 publish", pkt(0x34, str("t") + u16(1) + "x")],
  ["a topic longer than its packet", pkt(0x30, u16(50) + "abc")],
  ["a packet type a client never gets (SUBSCRIBE)", pkt(0x82, u16(1) + str("t") + "\x00")],
  ["a second CONNACK", CONNACK()],
])("%s closes the connection; the client reconnects", (_what, bad) => {
  const { sim, b, evs, q, mgr } = connected();
  write(sim, b.last(), bad);
  expect(b.last().closed).toBe(true);
  expect(evs).toEqual(["up", expect.stringMatching(/^down:/)]);
  expect(q.state).toBe("waiting");
  expect(poolUsed(mgr)).toBe(0);
  sim.advance(1000);
  expect(b.peers.length).toBe(2);
  expect(q.state).toBe("connecting");
});

test("refused with a bad password: says why, tries again after waits that double (with jitter), up to a minute", () => {
  const { sim, b, q } = setup();
  const tries: number[] = [];
  for (let i = 0; i < 9; i++) {
    write(sim, b.last(), CONNACK(4));
    expect(q.why).toBe("refused: bad username or password, or not authorised");
    expect(q.state).toBe("waiting");
    const n = b.peers.length;
    const t0 = sim.now();
    while (b.peers.length === n && sim.now() - t0 < 70000) sim.advance(50);
    tries.push(sim.now() - t0);
  }
  const waits = [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000];
  tries.forEach((t, i) => {
    expect(t).toBeGreaterThanOrEqual(waits[i] / 2);
    expect(t).toBeLessThanOrEqual(waits[i] + 50);
  });
  // Jitter: not all the same fraction of their wait.
  expect(new Set(tries.map((t, i) => Math.round((t / waits[i]) * 20))).size).toBeGreaterThan(1);
});

test("an unreachable broker: the reason, and retries while the manager serves others", () => {
  const sim = new Sim();
  const mgr = mgrInit(sim, limits({ slots: 3 }));
  const q = mqttStart(mgr, OPTS, () => undefined);
  sim.run();
  expect(q.state).toBe("waiting");
  expect(q.why).toMatch(/^cannot reach the broker at 10\.0\.0\.2:1883/);
  expect(poolUsed(mgr)).toBe(0);
  const b = broker(sim);
  sim.advance(1000);
  expect(b.peers.length).toBe(1);
});

test("keep-alive: PINGREQ after the interval without sending; a silent broker is dropped at 1.5 x and the client reconnects", () => {
  const { sim, b, evs, q } = connected({ keepAlive: 10 });
  sim.advance(9990);
  expect(b.last().got).toBe("");
  sim.advance(20);
  expect(b.last().got).toBe("\xc0\x00");
  write(sim, b.last(), "\xd0\x00");
  sim.advance(10000);
  expect(b.last().got).toBe("\xc0\x00\xc0\x00");
  sim.advance(4900);
  expect(q.state).toBe("up");
  sim.advance(200);
  expect(q.state).toBe("waiting");
  expect(q.why).toMatch(/the broker went silent/);
  expect(evs).toEqual(["up", expect.stringMatching(/^down:the broker went silent/)]);
  expect(b.peers[0].closed).toBe(true);
  sim.advance(1000);
  expect(b.peers.length).toBe(2);
});

test("closed by the broker at once after CONNACK (two clients with one id): the reason suggests it", () => {
  const { sim, b, q } = connected();
  b.last().s.close();
  sim.run();
  expect(q.why).toBe("the broker closed the connection at once (another client with the id board1?)");
  sim.advance(1000);
  write(sim, b.last(), CONNACK());
  sim.advance(5000);
  b.last().s.close();
  sim.run();
  expect(q.why).toBe("the broker closed the connection");
});

test("no CONNACK within 10 s: given up, tried again", () => {
  const { sim, b, q } = setup();
  sim.advance(10000);
  expect(q.state).toBe("waiting");
  expect(q.why).toMatch(/no answer from the broker/);
  expect(b.peers[0].closed).toBe(true);
});

test("QoS 1 across a reconnect: unacknowledged publishes are sent again with DUP and their ids, then once acknowledged never again", () => {
  const { sim, b, q } = connected();
  q.publish("s/1", "a", 1, true);
  q.publish("s/2", "b", 1, false);
  sim.run();
  const first = decode(b.last().got).map(publishFields);
  write(sim, b.last(), pkt(0x40, u16(first[0].id))); // the first one acknowledged
  b.last().s.close();
  sim.run();
  expect(q.state).toBe("waiting");
  q.publish("s/3", "c", 1, false); // made while down
  expect(q.publish("s/4", "d", 0, false)).toBe(false); // QoS 0 while down: not kept
  sim.advance(1000);
  write(sim, b.last(), CONNACK());
  const again = decode(b.last().got).slice(1).map(publishFields);
  expect(again.map((p) => [p.topic, p.dup, p.id])).toEqual([["s/2", true, first[1].id], ["s/3", false, again[1].id]]);
  write(sim, b.last(), pkt(0x40, u16(first[1].id)) + pkt(0x40, u16(again[1].id)));
  expect(q.flyId).toEqual([]);
  b.last().s.close();
  while (b.peers.length < 3 && sim.now() < 60000) sim.advance(100);
  write(sim, b.last(), CONNACK());
  expect(decode(b.last().got).map((p) => p.type)).toEqual([1]); // CONNECT alone
});

test("too much waiting is refused cleanly: a publish over the buffer, a 33rd QoS 1 in flight", () => {
  const { q, sim } = connected();
  expect(q.publish("t", "x".repeat(300), 0, false)).toBe(false);
  for (let i = 0; i < 32; i++) expect(q.publish("t", "m" + i, 1, false)).toBe(true);
  expect(q.publish("t", "m33", 1, false)).toBe(false);
  expect(sim.logs.filter((l) => /publish to t dropped/.test(l)).length).toBe(2);
});

test("stop(): DISCONNECT, the connection closes, no reconnect, the slot reservation ends", () => {
  const { sim, b, q, mgr } = connected();
  expect(mgr.reserved).toBe(0);
  q.stop();
  sim.advance(5000);
  expect(b.last().got).toBe("\xe0\x00");
  expect(b.last().closed).toBe(true);
  expect(b.peers.length).toBe(1);
  expect([q.state, mgr.reserved, poolUsed(mgr)]).toEqual(["stopped", 0, 0]);
  expect(q.publish("t", "x", 1, false)).toBe(false);
});

test("stop() sends what waits behind a full buffer first, then DISCONNECT", () => {
  const { sim, b, q } = connected();
  for (let i = 0; i < 4; i++) expect(q.publish("t/" + i, "x".repeat(150), 0, true)).toBe(true);
  expect(q.out.length).toBeGreaterThan(0); // 256-byte tx: they do not all fit at once
  let gone = false;
  q.stop(() => (gone = true));
  expect(gone).toBe(false); // told once the connection is gone, not before
  sim.advance(1000);
  expect(gone).toBe(true);
  expect(decode(b.last().got).map((p) => (p.type === 3 ? publishFields(p).topic : p.type))).toEqual(["t/0", "t/1", "t/2", "t/3", 14]);
  expect(b.last().closed).toBe(true);
});

test("the client's slot: accepted connections cannot take it while the client is between connections", () => {
  const sim = new Sim();
  const mgr = mgrInit(sim, limits({ slots: 2 }));
  const accepted: number[] = [];
  listen(mgr, 80, (c, ev, _d) => {
    if (ev === Ev.Accept) accepted.push(c.id);
  });
  const q = mqttStart(mgr, OPTS, () => undefined); // no broker: it waits between tries
  sim.run();
  expect(mgr.reserved).toBe(1);
  const cs = [sim.connect(80), sim.connect(80)];
  sim.run();
  expect(accepted.length).toBe(1);
  expect(cs[1].closed).toBe(true); // refused: the last slot is the client's
  const b = broker(sim);
  sim.advance(1000);
  expect(b.peers.length).toBe(1);
  expect(poolUsed(mgr)).toBe(2);
  q.stop();
  sim.run();
  expect(mgr.reserved).toBe(0);
  sim.connect(80);
  sim.run();
  expect(accepted.length).toBe(2);
});

test("fuzz: any bytes from the broker never throw, hang or leak a slot; the client keeps reconnecting", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), fc.boolean(), (pieces, ack) => {
      const t = setup({ keepAlive: 5 }, 128);
      t.q.subscribe("a/#", 1);
      if (ack) write(t.sim, t.b.last(), CONNACK());
      for (const p of pieces) if (!t.b.last().closed) write(t.sim, t.b.last(), latin1.str(p, 0, p.length));
      t.sim.advance(20000);
      expect(poolUsed(t.mgr)).toBeLessThanOrEqual(1);
      expect(t.q.out.length).toBeLessThanOrEqual(64);
      expect(["connecting", "waiting", "up"]).toContain(t.q.state);
      t.q.stop();
      t.sim.advance(11000);
      expect(poolUsed(t.mgr)).toBe(0);
      expect(t.mgr.reserved).toBe(0);
    }),
    { numRuns: 300 },
  );
});
