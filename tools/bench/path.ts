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
import { REQ, BROWSER } from "./heads";

declare function getTime(): number;
declare function print(s: string): void;
declare const process: { exit(): void };

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
function one(req: string): void {
  on.data.call(sock, req);
  run();
}
run();
/** Microseconds of JavaScript per request, `head` sent again and again (or alternating with another head: parsed every time). */
function per(head: string, alt: boolean): number {
  for (let i = 0; i < 50; i++) one(head);
  if (sent.indexOf("HTTP/1.1 200 OK\r\n") !== 0) throw new Error("unexpected response: " + sent);
  passes = 0;
  const t0 = getTime();
  for (let i = 0; i < N; i++) one(alt && i & 1 ? head.replace("GET", "HEAD") : head);
  return ((getTime() - t0) * 1e6) / N;
}
const line = (us: number, what: string): void => print("    " + us.toFixed(0) + " us  " + what);
line(per(REQ, false), "JavaScript per keep-alive GET /api/status, one client (" + (passes / N).toFixed(1) + " poll passes each)");
line(per(REQ, true), "the same, alternating with HEAD (every head parsed)");
line(per(BROWSER, false), "the same with a browser's 8-line head");
line(per(BROWSER, true), "the same, alternating with HEAD (every head parsed)");
let t = getTime();
for (let i = 0; i < N; i++) mgrPoll(app.mgr);
print("    " + (((getTime() - t) * 1e6) / N).toFixed(0) + " us  one poll pass with nothing to do, one connection open");
process.exit();
