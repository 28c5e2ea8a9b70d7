/**
 * The captive-portal DNS responder (src/dns.ts): answers built byte by byte as
 * RFC 1035 lays them out, hostile packets (compression pointers, oversized
 * names, truncation, responses, other opcodes), and fuzzed packets that must
 * never throw or produce an answer longer than the buffer.
 */
import fc from "fast-check";
import { dnsAnswer, dnsStart, dnsStop, ipBytes, DNS_TTL } from "../src/dns";
import { Sim } from "../hal/sim";

const IP = ipBytes("192.168.4.1")!;

/** A query for `name` of `type` (1 A, 28 AAAA…), id 0x1234, RD set. */
function query(name: string, type = 1, cls = 1, extra: number[] = []): Uint8Array {
  const b = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const l of name.split(".").filter(Boolean)) b.push(l.length, ...Buffer.from(l, "latin1"));
  b.push(0, type >> 8, type & 255, cls >> 8, cls & 255, ...extra);
  return new Uint8Array(b);
}

function answer(q: Uint8Array): Uint8Array {
  const out = new Uint8Array(512);
  return out.slice(0, dnsAnswer(q, q.length, out, IP));
}

test("an A query for any name gets the access point's address, authoritative, with a short TTL", () => {
  const q = query("connectivitycheck.gstatic.com");
  const a = answer(q);
  expect(Array.from(a.subarray(0, 12))).toEqual([0x12, 0x34, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 0]);
  expect(a.subarray(12, q.length)).toEqual(q.subarray(12));
  expect(Array.from(a.subarray(q.length))).toEqual([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, DNS_TTL, 0, 4, 192, 168, 4, 1]);
});

test("AAAA, MX, TXT and other classes get an empty NOERROR answer", () => {
  for (const [type, cls] of [[28, 1], [15, 1], [16, 1], [1, 3]]) {
    const a = answer(query("captive.apple.com", type, cls));
    expect([type, a[3], a[7], a.length]).toEqual([type, 0, 0, query("captive.apple.com").length]);
  }
});

test("a response is never answered; a runt is dropped", () => {
  const r = query("x.com");
  r[2] |= 0x80;
  expect(answer(r).length).toBe(0);
  expect(answer(new Uint8Array([1, 2, 3])).length).toBe(0);
  expect(answer(new Uint8Array(0)).length).toBe(0);
});

test.each([
  ["a compression pointer in the question", (() => { const q = query("a.com"); q[12] = 0xc0; q[13] = 12; return q; })()],
  ["a pointer loop", new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])],
  ["a reserved label type", (() => { const q = query("a.com"); q[12] = 0x41; return q; })()],
  ["a name over 255 bytes", query(Array(50).fill("abcdef").join("."))],
  ["a name running past the packet", query("abc.com").subarray(0, 16)],
  ["no type and class", query("abc.com").subarray(0, 20)],
  ["two questions", (() => { const q = query("a.com"); q[5] = 2; return q; })()],
  ["no question", (() => { const q = query("a.com"); q[5] = 0; return q; })()],
])("%s gets FORMERR with the id kept and no records", (_why, q) => {
  const a = answer(q);
  expect(Array.from(a)).toEqual([q[0], q[1], 0x80 | (q[2] & 0x79), 1, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test("a name of exactly 255 bytes is answered", () => {
  // 4 labels of 63 + 1 of 59: 4*64 + 60 = 316 > 255; build 3*63 labels + one of 61: 3*64 + 62 + 1 = 255.
  const name = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
  expect(answer(query(name))[7]).toBe(1);
  expect(answer(query(name + "e"))[3]).toBe(1);
});

test("an opcode other than QUERY is NOTIMP", () => {
  const q = query("a.com");
  q[2] = 0x28; // UPDATE
  expect(Array.from(answer(q).subarray(2, 4))).toEqual([0x28 | 0x80, 4]);
});

test("an EDNS OPT record after the question is ignored, the answer still given", () => {
  const q = query("example.com", 1, 1, [0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0]);
  q[11] = 1; // ARCOUNT
  const a = answer(q);
  expect([a[7], a.length]).toEqual([1, q.length - 11 + 16]);
});

test("fuzzed packets: never an exception, never past the buffer, the id always kept", () => {
  const out = new Uint8Array(512);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (q) => {
      const k = dnsAnswer(q, q.length, out, IP);
      expect(k).toBeGreaterThanOrEqual(0);
      expect(k).toBeLessThanOrEqual(12 + 255 + 4 + 16);
      if (k) expect([out[0], out[1], out[2] & 0x80]).toEqual([q[0], q[1], 0x80]);
    }),
    { numRuns: 20000 },
  );
  // Mutations of a valid query: every byte flipped in turn.
  const base = query("www.msftconnecttest.com");
  for (let i = 0; i < base.length; i++) {
    for (const v of [0, 0x3f, 0x40, 0xc0, 0xff]) {
      const q = base.slice();
      q[i] = v;
      const k = dnsAnswer(q, q.length, out, IP);
      // Nothing (a response), a header-only refusal, or one question with no record or the A record last.
      if (k === 0 || k === 12) continue;
      expect([q[0], q[1], out[4], out[5]]).toEqual([out[0], out[1], 0, 1]);
      expect(k).toBeLessThanOrEqual(base.length + 16);
      if (out[7]) expect(Array.from(out.subarray(k - 16, k))).toEqual([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, DNS_TTL, 0, 4, 192, 168, 4, 1]);
    }
  }
});

test("ipBytes takes dotted IPv4 only", () => {
  expect(Array.from(ipBytes("10.0.0.255")!)).toEqual([10, 0, 0, 255]);
  for (const bad of ["", "1.2.3", "1.2.3.256", "a.b.c.d", "1.2.3.4.5", "::1"]) expect(ipBytes(bad)).toBeNull();
});

describe("on the simulated HAL's UDP", () => {
  test("answers each client at its own address and port; lost and duplicated datagrams change nothing but the count", () => {
    const sim = new Sim({ seed: 7 });
    const d = dnsStart(sim.udp, 53, "192.168.4.1")!;
    const a = sim.udpClient(5000, "192.168.4.2");
    const b = sim.udpClient(5001, "192.168.4.3");
    a.send(query("a.example"), 53);
    b.send(query("b.example", 28), 53);
    sim.run();
    expect(a.take().map((x) => Buffer.from(x.data, "latin1")[7])).toEqual([1]);
    expect(b.take().map((x) => Buffer.from(x.data, "latin1")[7])).toEqual([0]);
    sim.udpLoss = 0.3;
    sim.udpDup = 0.3;
    for (let i = 0; i < 200; i++) a.send(query("n" + i + ".example"), 53);
    sim.run();
    const got = a.take();
    expect(got.length).toBeGreaterThan(50);
    for (const g of got) expect(Array.from(Buffer.from(g.data, "latin1").slice(-4))).toEqual([192, 168, 4, 1]);
    dnsStop(d);
    sim.udpLoss = 0;
    a.send(query("late.example"), 53);
    sim.run();
    expect(a.take()).toEqual([]);
  });

  test("fuzzed datagrams through the HAL: never an exception, the socket keeps answering", () => {
    const sim = new Sim({ seed: 3 });
    const d = dnsStart(sim.udp, 53, "192.168.4.1")!;
    const c = sim.udpClient(6000);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 700 }), (q) => {
        c.send(q, 53);
        sim.run();
        c.take();
      }),
      { numRuns: 3000 },
    );
    c.send(query("still.example"), 53);
    sim.run();
    expect(c.take().length).toBe(1);
    expect(d.answered + d.refused).toBeGreaterThan(3000);
  });
});
