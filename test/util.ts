import { Sim, SimClient } from "../hal/sim";
import { Mgr, mgrInit, httpListen, limits, Limits, Handler } from "../src/index";
import { Values, defaults, save, settingsStore } from "../firmware/settings";
import { halIO } from "../firmware/record";

/** A response as a client reads it off the wire. */
export interface WireResp {
  status: number;
  headers: { [name: string]: string };
  body: string;
  raw: string;
}

/**
 * Split what a client received into responses (Content-Length, chunked, or
 * close-delimited bodies; no body for 1xx/204/304 and for HEAD when `head`).
 * `rest` is what could not be parsed as a whole response yet.
 */
export function parseResponses(s: string, heads: boolean[] = [], closed = false): { resps: WireResp[]; rest: string } {
  const resps: WireResp[] = [];
  let i = 0;
  let k = 0;
  for (;;) {
    const e = s.indexOf("\r\n\r\n", i);
    if (e < 0) break;
    const lines = s.substring(i, e).split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
    if (!m) throw new Error("bad status line: " + JSON.stringify(lines[0]));
    const status = +m[1];
    const headers: { [n: string]: string } = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      const n = l.slice(0, c).toLowerCase();
      if (n in headers) throw new Error("duplicate response header " + n);
      headers[n] = l.slice(c + 1).trim();
    }
    let p = e + 4;
    let body = "";
    const isHead = status >= 200 && heads[k] === true;
    if (status < 200 || status === 204 || status === 304 || isHead) {
      /* no body */
    } else if (headers["transfer-encoding"] === "chunked") {
      let done = false;
      for (;;) {
        const le = s.indexOf("\r\n", p);
        if (le < 0) break;
        const n = parseInt(s.slice(p, le), 16);
        if (isNaN(n)) throw new Error("bad chunk size at " + p);
        if (n === 0) {
          if (s.slice(le, le + 4) !== "\r\n\r\n") break;
          p = le + 4;
          done = true;
          break;
        }
        if (s.length < le + 2 + n + 2) break;
        body += s.slice(le + 2, le + 2 + n);
        if (s.slice(le + 2 + n, le + 4 + n) !== "\r\n") throw new Error("chunk not followed by CRLF");
        p = le + 4 + n;
      }
      if (!done) break;
    } else if ("content-length" in headers) {
      const n = +headers["content-length"];
      if (s.length < p + n) break;
      body = s.slice(p, p + n);
      p += n;
    } else {
      if (!closed) break;
      body = s.slice(p);
      p = s.length;
    }
    resps.push({ status, headers, body, raw: s.slice(i, p) });
    if (status >= 200) k++;
    i = p;
  }
  return { resps, rest: s.slice(i) };
}

/** A simulated network with one HTTP server on port 80. */
export function server(fn: Handler, over?: Partial<Limits>): { sim: Sim; mgr: Mgr; lim: Limits; client: () => SimClient } {
  const sim = new Sim();
  const lim = limits(over);
  const mgr = mgrInit(sim, lim);
  if (!httpListen(mgr, 80, fn)) throw new Error("listen failed");
  sim.run();
  return { sim, mgr, lim, client: () => sim.connect(80) };
}

/** Slots in use. */
export function used(mgr: Mgr): number {
  return mgr.conns.filter((c) => c.id !== 0).length;
}

/** Settings `v` (over the defaults) in the sim's flash before an app starts, as a board that was set up before. */
export function preset(sim: Sim, v: object): void {
  save(settingsStore(halIO(sim.storage, sim.crypto, sim.codec), () => {}), { ...defaults(), ...v } as Values);
}
