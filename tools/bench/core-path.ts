/** Exploration: path.ts with a trivial handler instead of the app (the runtime's share alone). */
import { board } from "../../boards/current";
import { espruinoEnv, espruinoHal } from "../../hal/espruino";
import { Ev, mgrInit, mgrPoll, httpListen, httpReply } from "../../src/index";
import type { EspEnv } from "../../hal/espruino-types";
import { REQ } from "./heads";

declare function getTime(): number;
declare function print(s: string): void;
declare const process: { exit(): void };
const N = 2000;
let q: (() => void)[] = [];
let accept: (s: unknown) => void = () => undefined;
const on: { [ev: string]: (this: unknown, a?: unknown) => void } = {};
let sent = "";
const sock = {
  write(d: string): boolean { if (d) { sent = d; q.push(() => on.drain.call(sock)); } return false; },
  end(): void {},
  on(ev: string, fn: (a?: unknown) => void): void { on[ev] = fn; },
};
const real = espruinoEnv();
const env: EspEnv = {
  require: (name: string) => name === "net" ? { createServer: (fn: (s: unknown) => void) => ((accept = fn), { listen: () => undefined, close: () => undefined }), connect: () => undefined } : real.require(name),
  E: real.E, getTime: real.getTime,
  setTimeout: (fn: () => void, ms: number) => (ms ? 1 : q.push(fn)),
  clearTimeout: () => undefined, memory: real.memory, log: () => undefined, put: real.put,
};
const hal = espruinoHal(board, env);
const m = mgrInit(hal, board.limits);
const BODY = '{"board":"linux","title":"Espruino (Linux build)","version":"0.1.0","name":"espweb","passwordSet":false,"signedIn":false}';
httpListen(m, 8080, function (c, ev, _d) {
  if (ev === Ev.HttpMsg) httpReply(c, 200, "Content-Type: application/json\r\nCache-Control: no-store\r\n", BODY);
});
accept(sock);
function run(): void { while (q.length) (q.shift() as () => void)(); }
function one(req: string): void { on.data.call(sock, req); run(); }
run();
for (let i = 0; i < 50; i++) one(REQ);
if (sent.indexOf("HTTP/1.1 200 OK\r\n") !== 0) throw new Error("unexpected response: " + sent);
let t0 = getTime();
for (let i = 0; i < N; i++) one(REQ);
print("    " + (((getTime() - t0) * 1e6) / N).toFixed(0) + " us  core alone, keep-alive GET, canned reply");
t0 = getTime();
for (let i = 0; i < N; i++) mgrPoll(m);
print("    " + (((getTime() - t0) * 1e6) / N).toFixed(0) + " us  empty pass");
t0 = getTime();
for (let i = 0; i < N; i++) { on.data.call(sock, REQ); }
print("    " + (((getTime() - t0) * 1e6) / N).toFixed(0) + " us  data event alone (no pass)");
process.exit();
