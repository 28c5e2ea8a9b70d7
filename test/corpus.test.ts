/**
 * The conformance corpus (test/corpus/*.http) against the server on the
 * simulated network: each case whole, then split in two at every byte
 * boundary and byte by byte, which must all give identical results.
 */
import { Sim } from "../hal/sim";
import { Ev, HttpMsg, httpReply, httpHeader, httpVar, mgrInit, httpListen, limits } from "../src/index";
import { loadCorpus, Case } from "./corpus/format";
import { parseResponses, used } from "./util";

/** The limits the corpus was written for (test/corpus/*.http headers). */
const LIM = limits({ slots: 4, rxSize: 2048, txSize: 2048, maxLine: 512 });

interface Seen {
  method: string;
  target: string;
  version: string;
  hdr: { [lookup: string]: string | null };
  query: { [lookup: string]: string | null };
  body: string;
}

interface Outcome {
  wire: string;
  seen: Seen[];
  fin: boolean;
  slotsUsed: number;
}

const latin1 = (u: Uint8Array) => Buffer.from(u).toString("latin1");

/** Feed `pieces` of a case's request on one connection and record what the handler saw and what went on the wire. */
function run(kase: Case, pieces: Uint8Array[]): Outcome {
  const sim = new Sim();
  const mgr = mgrInit(sim, LIM);
  const seen: Seen[] = [];
  const msgs = kase.expect.filter((e) => e.kind === "msg");
  httpListen(mgr, 80, (c, ev, data) => {
    if (ev !== Ev.HttpMsg) return;
    const hm = data as HttpMsg;
    const want = msgs[seen.length];
    const s: Seen = { method: hm.method, target: hm.target, version: hm.v === 10 ? "1.0" : "1.1", hdr: {}, query: {}, body: latin1(hm.body) };
    if (want && want.kind === "msg") {
      for (const [n] of want.hdrs) s.hdr[n] = httpHeader(hm, n);
      for (const [n] of want.query) s.query[n] = httpVar(hm.query, n);
    }
    seen.push(s);
    httpReply(c, 200, "", "");
  });
  const cl = sim.connect(80);
  for (const p of pieces) {
    cl.send(p);
    sim.run();
  }
  sim.run();
  return { wire: cl.received, seen, fin: cl.gotFin, slotsUsed: used(mgr) };
}

function check(kase: Case, o: Outcome): void {
  const wantStatus: number[] = [];
  const wantSeen: Seen[] = [];
  let close: boolean | null = null;
  for (const e of kase.expect) {
    if (e.kind === "msg") {
      wantStatus.push(200);
      const hdr: Seen["hdr"] = {};
      const query: Seen["query"] = {};
      for (const [n, v] of e.hdrs) hdr[n] = v;
      for (const [n, v] of e.query) query[n] = v;
      wantSeen.push({ method: e.method, target: e.target, version: e.version, hdr, query, body: "" });
    } else if (e.kind === "status") wantStatus.push(e.code);
    else close = e.kind === "close";
  }
  const got = parseResponses(o.wire);
  expect({ statuses: got.resps.map((r) => r.status), rest: got.rest }).toEqual({ statuses: wantStatus, rest: "" });
  const msgExp = kase.expect.filter((e) => e.kind === "msg");
  expect(
    o.seen.map((s, i) => {
      const e = msgExp[i];
      return { ...s, body: e && e.kind === "msg" && e.body ? s.body : "" };
    }),
  ).toEqual(wantSeen.map((w, i) => {
    const e = msgExp[i];
    return { ...w, body: e.kind === "msg" && e.body ? latin1(e.body) : "" };
  }));
  expect(o.fin).toBe(close);
  if (close) expect(o.slotsUsed).toBe(0);
}

const cases = loadCorpus();

describe("conformance corpus", () => {
  test("has at least 150 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
  });
  test.each(cases.map((k) => [`${k.file.replace(/.*\//, "")}:${k.line} ${k.name}`, k] as [string, Case]))("%s", (_n, kase) => {
    const req = kase.request;
    const whole = run(kase, [req]);
    check(kase, whole);
    // Split in two at every byte boundary: identical responses, identical view for the handler.
    for (let k = 1; k < req.length; k++) {
      const o = run(kase, [req.subarray(0, k), req.subarray(k)]);
      if (o.wire !== whole.wire || o.fin !== whole.fin || JSON.stringify(o.seen) !== JSON.stringify(whole.seen))
        throw new Error(`split at byte ${k} of ${req.length} differs:\n${JSON.stringify(o.wire)}\nvs whole:\n${JSON.stringify(whole.wire)}`);
    }
    // And one byte at a time.
    const bytes: Uint8Array[] = [];
    for (let k = 0; k < req.length; k++) bytes.push(req.subarray(k, k + 1));
    const o = run(kase, bytes);
    expect(o.wire).toBe(whole.wire);
    expect(o.fin).toBe(whole.fin);
  });
});
