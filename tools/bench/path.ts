/**
 * Bench-only entry (tools/bench/device.mjs builds and runs it on the
 * interpreter): the JavaScript cost of one keep-alive GET /api/status through
 * the whole firmware (HAL, poll loop, parser, application, response) with one
 * client, the interpreter's sockets and event loop replaced by a scripted
 * socket and a timer queue run by hand. What it prints is the runtime's own
 * share of a request on this interpreter, without TCP and the event loop.
 */
import { board } from "../../boards/current";
import { espruinoEnv, espruinoHal } from "../../hal/espruino";
import { startApp } from "../../firmware/app";
import { mgrPoll } from "../../src/index";
import type { EspEnv } from "../../hal/espruino-types";

declare function getTime(): number;
declare function print(s: string): void;
declare const process: { exit(): void };

const REQ = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
const N = 2000;

/** Timers due now (the HAL's setTimeout 0: poll passes), run by hand; later ones (deadlines) never come due here. */
let q: (() => void)[] = [];
let passes = 0;
let accept: (s: unknown) => void = () => undefined;
/** The socket's listeners, by event. */
const on: { [ev: string]: (this: unknown, a?: unknown) => void } = {};
let sent = "";
const sock = {
  write(d: string): boolean {
    if (d) {
      sent = d;
      q.push(() => on.drain.call(sock));
    }
    return false;
  },
  end(): void {},
  on(ev: string, fn: (a?: unknown) => void): void {
    on[ev] = fn;
  },
};
const real = espruinoEnv();
const env: EspEnv = {
  require: (name: string) =>
    name === "net" ? { createServer: (fn: (s: unknown) => void) => ((accept = fn), { listen: () => undefined, close: () => undefined }), connect: () => undefined } : real.require(name),
  E: real.E,
  getTime: real.getTime,
  setTimeout: (fn: () => void, ms: number) => (ms ? 1 : (passes++, q.push(fn))),
  clearTimeout: () => undefined,
  memory: real.memory,
  log: () => undefined,
  put: real.put,
};
const app = startApp(espruinoHal(board, env), board);
if (!app) throw new Error("the application did not start");
accept(sock);
function run(): void {
  while (q.length) (q.shift() as () => void)();
}
function one(): void {
  on.data.call(sock, REQ);
  run();
}
run();
for (let i = 0; i < 50; i++) one();
if (sent.indexOf("HTTP/1.1 200 OK\r\n") !== 0) throw new Error("unexpected response: " + sent);
passes = 0;
let t = getTime();
for (let i = 0; i < N; i++) one();
print("    " + (((getTime() - t) * 1e6) / N).toFixed(0) + " us  JavaScript per keep-alive GET /api/status, one client (" + (passes / N).toFixed(1) + " poll passes each)");
t = getTime();
for (let i = 0; i < N; i++) mgrPoll(app.mgr);
print("    " + (((getTime() - t) * 1e6) / N).toFixed(0) + " us  one poll pass with nothing to do, one connection open");
process.exit();
