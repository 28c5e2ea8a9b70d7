/**
 * Bench-only entry (tools/bench/device.mjs builds and runs it on the
 * interpreter): microseconds per call of the pieces of a keep-alive
 * /api/status request, to show where the interpreter's time goes. Each is
 * timed over a loop, minus the same loop calling an empty function.
 */
import { HttpMsg, parseHead, headEnd, connTokens } from "../../src/http";
import { REQ, BROWSER } from "./heads";

declare function getTime(): number;
declare function print(s: string): void;
declare const E: { toString(u8: Uint8Array, s: string): string; toUint8Array(s: string): Uint8Array; toArrayBuffer(s: string): ArrayBuffer };
declare const process: { memory(gc?: boolean): unknown; exit(): void };

const N = 2000;
/** Results go here, so that the minifier keeps every call. */
const sink: unknown[] = [];
const empty = (): unknown => sink;
let base = 0;
function loop(fn: () => unknown): number {
  const t0 = getTime();
  for (let i = 0; i < N; i++) sink[0] = fn();
  return ((getTime() - t0) * 1e6) / N;
}
function time(name: string, fn: () => unknown): void {
  print(("    " + (loop(fn) - base).toFixed(1)).slice(-8) + " us  " + name);
}

const HDRS = "Content-Type: application/json\r\nCache-Control: no-store\r\n";
const hm = new HttpMsg();
const buf = new Uint8Array(2048);
buf.set(E.toUint8Array(REQ), 0);
let resp = "HTTP/1.1 200 OK\r\n" + HDRS + "Content-Length: 168\r\n\r\n";
while (resp.length < 260) resp += "x";
base = loop(empty);
print("per call, on this interpreter (loop overhead " + base.toFixed(1) + " us taken off):");
// hm.h and hm.fb cleared: parsed every time, as a head whose lines differ from the one before it is.
time("parseHead, wrk's 2-line request", () => ((hm.h = hm.fb = ""), parseHead(hm, REQ)));
time("parseHead, a browser's 8-line request", () => ((hm.h = hm.fb = ""), parseHead(hm, BROWSER)));
time("parseHead, the same field lines after another request line", () => ((hm.h = ""), parseHead(hm, BROWSER)));
time("parseHead, the same browser head again (reused)", () => parseHead(hm, BROWSER));
time("headEnd over the 2-line request (bytes)", () => headEnd(buf, REQ.length, 0));
time("connTokens of the firmware's JSON headers", () => connTokens(HDRS));
time("Uint8Array set(string), 260 chars", () => buf.set(resp as never, 0));
time("E.toUint8Array, 260 chars", () => E.toUint8Array(resp));
time("new Uint8Array(E.toArrayBuffer), 260 chars", () => new Uint8Array(E.toArrayBuffer(resp)));
time("E.toString(subarray), 260 bytes", () => E.toString(buf.subarray(0, 260), ""));
time("process.memory()", () => process.memory());
time("process.memory(false)", () => process.memory(false));
time("JSON.stringify of the status object", () => JSON.stringify({ board: "linux", title: "x", version: "0.1.0", uptime: 2, mem: { used: 1, free: 2, total: 3, unit: "jsvars" }, pool: { used: 1, total: 8 } }));
time("string concat of 11 pieces", () => "a" + base + "b" + base + "c" + base + "d" + base + "e" + base + "f");
process.exit();
