/**
 * Property tests (fast-check). The seed is printed; rerun a failure with
 * SEED=<n> npx jest test/property.test.ts. Default run: 100 000+ cases.
 */
import fc from "fast-check";
import { Sim } from "../hal/sim";
import { Ev, HttpMsg, Resp, httpReply, httpResp, httpHeader, mgrInit, httpListen, limits, Limits, timerAdd } from "../src/index";
import { parseResponses, used } from "./util";

const SEED = process.env.SEED ? Number(process.env.SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const SCALE = process.env.PROPERTY_SCALE ? Number(process.env.PROPERTY_SCALE) : 1;
// eslint-disable-next-line no-console
console.log(`property tests: SEED=${SEED} (rerun with SEED=${SEED})`);
const opts = (numRuns: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)) });

const latin1 = (u: Uint8Array) => Buffer.from(u).toString("latin1");
const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

/** Cut `b` at the given offsets (sorted, deduplicated, inside). */
function cut(b: Uint8Array, at: number[]): Uint8Array[] {
  const pts = Array.from(new Set(at.map((x) => x % (b.length + 1)))).sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let p = 0;
  for (const q of pts) {
    if (q > p) out.push(b.subarray(p, q));
    p = Math.max(p, q);
  }
  if (p < b.length) out.push(b.subarray(p));
  return out;
}

// ---------------------------------------------------------------------------
// Generators of valid requests with what the handler must see.

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHAR.split("")), minLength: 1, maxLength: 12 });
const pchar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:@/".split(""));
const vchar = fc.integer({ min: 0x21, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));
const value = fc
  .tuple(vchar, fc.string({ unit: fc.oneof(vchar, fc.constant(" "), fc.constant("\t")), maxLength: 30 }), vchar)
  .map(([a, m, z]) => a + m + z);
const bodyGen = fc.uint8Array({ maxLength: 600 });

interface Req {
  raw: string;
  method: string;
  target: string;
  v: string;
  hdrs: [string, string][];
  body: string;
}

const reqGen: fc.Arbitrary<Req> = fc
  .record({
    method: fc.oneof(fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"), token),
    path: fc.array(fc.string({ unit: pchar, maxLength: 10 }), { maxLength: 5 }),
    query: fc.option(fc.string({ unit: fc.constantFrom(..."abc=&%+129XY".split("")), maxLength: 20 })),
    v10: fc.boolean(),
    hdrs: fc.array(fc.tuple(token, value, fc.constantFrom("", " ", "\t", "  ")), { maxLength: 8 }),
    body: fc.option(bodyGen),
    chunks: fc.array(fc.nat(), { maxLength: 6 }),
    ext: fc.boolean(),
    lf: fc.boolean(),
  })
  .map((r) => {
    const target = "/" + r.path.join("/") + (r.query !== null ? "?" + r.query : "");
    const skip = /^(host|content-length|transfer-encoding|connection|expect)$/i;
    const hdrs: [string, string][] = r.hdrs.filter(([n]) => !skip.test(n)).map(([n, v]) => [n, v]);
    const eol = r.lf ? "\n" : "\r\n";
    let raw = `${r.method} ${target} HTTP/1.${r.v10 ? 0 : 1}${eol}`;
    if (!r.v10) raw += `Host: dev${eol}`;
    raw += "Connection: keep-alive" + eol;
    for (let i = 0; i < hdrs.length; i++) raw += `${hdrs[i][0]}:${r.hdrs[i] ? r.hdrs[i][2] : ""}${hdrs[i][1]}${eol}`;
    const body = r.body ? latin1(r.body) : "";
    const chunked = r.body !== null && !r.v10 && r.chunks.length > 0;
    if (chunked) {
      raw += "Transfer-Encoding: chunked" + eol + eol;
      let p = 0;
      const cuts = Array.from(new Set(r.chunks.map((c) => c % (body.length + 1)))).sort((a, b) => a - b);
      cuts.push(body.length);
      for (const q of cuts) {
        if (q > p) raw += (q - p).toString(16) + (r.ext ? ";x=1" : "") + "\r\n" + body.slice(p, q) + "\r\n";
        p = q;
      }
      raw += "0\r\n\r\n";
    } else if (r.body !== null) raw += `Content-Length: ${body.length}${eol}${eol}${body}`;
    else raw += eol;
    return { raw, method: r.method, target, v: r.v10 ? "1.0" : "1.1", hdrs, body };
  });

interface Seen {
  method: string;
  target: string;
  v: string;
  hdrs: [string, string | null][];
  body: string;
}

function serveAll(reqs: Req[], pieces: Uint8Array[], lim: Limits): { seen: Seen[]; wire: string } {
  const sim = new Sim();
  const mgr = mgrInit(sim, lim);
  const seen: Seen[] = [];
  httpListen(mgr, 80, (c, ev, data) => {
    if (ev !== Ev.HttpMsg) return;
    const hm = data as HttpMsg;
    const want = reqs[seen.length];
    seen.push({
      method: hm.method,
      target: hm.target,
      v: hm.v === 10 ? "1.0" : "1.1",
      hdrs: want ? want.hdrs.map(([n]) => [n, httpHeader(hm, n)] as [string, string | null]) : [],
      body: latin1(hm.body),
    });
    httpReply(c, 200, "", "#" + seen.length);
  });
  const cl = sim.connect(80);
  for (const p of pieces) {
    cl.send(p);
    sim.run();
  }
  return { seen, wire: cl.received };
}

/** What the handler must see: duplicate names look up to their first value. */
function expected(r: Req): Seen {
  const first = (n: string) => r.hdrs.find(([m]) => m.toLowerCase() === n.toLowerCase())![1].replace(/^[ \t]+|[ \t]+$/g, "");
  return { method: r.method, target: r.target, v: r.v, hdrs: r.hdrs.map(([n]) => [n, first(n)]), body: r.body };
}

const LIM = limits({ rxSize: 4096, txSize: 1024, maxLine: 512 });

describe("properties", () => {
  test("any valid request (or pipeline of them) parses the same however it is split", () => {
    fc.assert(
      fc.property(fc.array(reqGen, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 12 }), (reqs, at) => {
        const live = reqs; // every generated request asks for keep-alive, HTTP/1.0 ones too
        const all = bytes(reqs.map((r) => r.raw).join(""));
        const { seen, wire } = serveAll(live, cut(all, at), LIM);
        expect(seen).toEqual(live.map(expected));
        const resps = parseResponses(wire).resps;
        expect(resps.map((x) => x.body)).toEqual(live.map((_, i) => "#" + (i + 1)));
      }),
      opts(40000),
    );
  });

  test("random bytes and mutated requests never throw, hang or leak a slot", () => {
    const mutated = fc
      .tuple(reqGen, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("ins", "del", "set")), { minLength: 1, maxLength: 4 }))
      .map(([r, muts]) => {
        const b = Array.from(bytes(r.raw));
        for (const [p, v, op] of muts) {
          const i = p % (b.length + 1);
          if (op === "ins") b.splice(i, 0, v);
          else if (op === "del") b.splice(i, 1);
          else if (i < b.length) b[i] = v;
        }
        return Uint8Array.from(b);
      });
    const input = fc.oneof(fc.uint8Array({ maxLength: 3000 }), mutated, mutated.map((m) => bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n" + latin1(m))));
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), (b, at, fin) => {
        const sim = new Sim();
        const lim = limits({ slots: 2, rxSize: 1024, txSize: 512, maxLine: 256, hdrMs: 1000, bodyMs: 2000, respMs: 3000, idleMs: 4000, drainMs: 1000 });
        const mgr = mgrInit(sim, lim);
        httpListen(mgr, 80, (c, ev, _d) => {
          if (ev === Ev.HttpMsg) httpReply(c, 200, "", "ok");
        });
        const cl = sim.connect(80);
        for (const p of cut(b, at)) {
          cl.send(p);
          sim.run();
        }
        if (fin) cl.end();
        sim.run();
        sim.advance(10000); // past every deadline
        expect(used(mgr)).toBe(0);
        expect(sim.openSockets()).toBe(0);
        expect(cl.gotFin).toBe(true);
        // Whatever was sent is a sequence of well-formed responses; an error status is the last one.
        const { resps } = parseResponses(cl.received, [], true);
        const errs = resps.findIndex((r) => r.status >= 400);
        if (errs >= 0) expect(errs).toBe(resps.length - 1);
      }),
      opts(40000),
    );
  });

  test("a random schedule of deferred replies, resets and closes never loses, duplicates, reorders or cross-delivers a response", () => {
    const action = fc.oneof(
      fc.record({ k: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 2500 }) }),
      fc.record({ k: fc.constant("reply" as const), i: fc.nat() }),
      fc.record({ k: fc.constant("reset" as const), i: fc.nat() }),
      fc.record({ k: fc.constant("end" as const), i: fc.nat() }),
      fc.record({ k: fc.constant("connect" as const), n: fc.integer({ min: 1, max: 4 }), close: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 30 }), (acts) => {
        const sim = new Sim();
        const lim = limits({ slots: 3, rxSize: 1024, txSize: 256, respMs: 5000, idleMs: 20000 });
        const mgr = mgrInit(sim, lim);
        const pending: { r: Resp; tag: string }[] = [];
        httpListen(mgr, 80, (c, ev, data) => {
          if (ev !== Ev.HttpMsg) return;
          const tag = (data as HttpMsg).uri.slice(1);
          // Every third request is answered at once, the rest later.
          if (tag.endsWith("0")) httpReply(c, 200, "", "body-of-" + tag + "-" + "x".repeat(300));
          else pending.push({ r: httpResp(c)!, tag });
        });
        const clients: { cl: ReturnType<Sim["connect"]>; tags: string[]; reset: boolean; close: boolean }[] = [];
        let n = 0;
        for (const a of acts) {
          if (a.k === "advance") sim.advance(a.ms);
          else if (a.k === "connect") {
            const cl = sim.connect(80);
            const tags: string[] = [];
            let raw = "";
            for (let j = 0; j < a.n; j++) {
              const tag = `c${clients.length}r${j}n${n++ % 3}`;
              tags.push(tag);
              raw += `GET /${tag} HTTP/1.1\r\nHost: a\r\n${a.close && j === a.n - 1 ? "Connection: close\r\n" : ""}\r\n`;
            }
            cl.send(raw);
            clients.push({ cl, tags, reset: false, close: a.close });
          } else if (a.k === "reply" && pending.length) {
            const p = pending.splice(a.i % pending.length, 1)[0];
            p.r.reply(200, "", "body-of-" + p.tag + "-" + "y".repeat(200));
          } else if (a.k === "reset" && clients.length) {
            const c = clients[a.i % clients.length];
            if (!c.reset && !c.cl.closed) {
              c.cl.reset();
              c.reset = true;
            }
          } else if (a.k === "end" && clients.length) {
            const c = clients[a.i % clients.length];
            if (!c.reset && !c.cl.closed) c.cl.end();
          }
          sim.run();
        }
        // Let every deadline pass (each pipelined request has its own): pending responses become 503s,
        // and their handles go stale.
        for (let k = 0; k < 5; k++) sim.advance(6000);
        for (const p of pending) expect(p.r.reply(200, "", "late")).toBe(false);
        sim.advance(30000);
        for (const c of clients) {
          const { resps, rest } = parseResponses(c.cl.received);
          expect(rest).toBe("");
          // Each response belongs to this client, in request order, at most once.
          let j = 0;
          for (const r of resps) {
            if (r.status === 503 && r.body.startsWith("all slots busy")) {
              expect(resps.length).toBe(1);
              continue;
            }
            if (r.status === 503) {
              j++;
              continue;
            }
            expect(r.status).toBe(200);
            expect(r.body.startsWith("body-of-" + c.tags[j] + "-")).toBe(true);
            j++;
          }
          expect(j).toBeLessThanOrEqual(c.tags.length);
          // Nobody lost an answer unless it reset, got evicted while idle, or was turned away.
          if (!c.reset && resps.length && !resps[0].body.startsWith("all slots busy"))
            expect(j).toBe(c.tags.length);
        }
        expect(used(mgr)).toBe(0);
        expect(sim.openSockets()).toBe(0);
      }),
      opts(20000),
    );
  });
});
