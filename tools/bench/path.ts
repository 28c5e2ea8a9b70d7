/**
 * Bench-only entry (tools/bench/device.mjs builds and runs it on the
 * interpreter, in a scratch folder: the firmware's settings go to the Linux
 * build's flash file there): the JavaScript cost of one keep-alive request
 * through the whole firmware (HAL, poll loop, parser, application, response)
 * with one client, the interpreter's sockets and event loop replaced by a
 * scripted socket and a timer queue run by hand: GET /api/status, the UI's
 * own requests (a file revalidated, 304; a signed-in GET /api/config), then
 * the runtime alone answering a canned reply. What it prints is the runtime's
 * own share of a request on this interpreter, without TCP and the event loop.
 */
import { board } from "../../boards/current";
import { espruinoEnv, espruinoHal } from "../../hal/espruino";
import { espruinoDevice } from "../../hal/espruino-services";
import { startApp } from "../../firmware/app";
import { uiFiles } from "../../firmware/ui-files";
import { Ev, httpListen, httpReply, mgrInit, mgrPoll } from "../../src/index";
import type { EspEnv } from "../../hal/espruino-types";
import { REQ, BROWSER } from "./heads";

declare function getTime(): number;
declare function print(s: string): void;
declare const process: { exit(): void };

/** Everything in one function: the harness's own variables are found in its small scope, not at the end of the bundle's ~200 names (that search would be counted as the firmware's). */
function main(): void {
  const N = 2000;

  /** Timers due now (the HAL's setTimeout 0: poll passes), run by hand; later ones (deadlines) never come due here. */
  let q: (() => void)[] = [];
  let passes = 0;
  let accept: (s: unknown) => void = () => undefined;
  /** The socket's listeners, by event. */
  const on: { [ev: string]: (this: unknown, a?: unknown) => void } = {};
  /** The first piece written since the last request: its status line. */
  let first = "";
  const sock = {
    write(d: string): boolean {
      if (d) {
        if (!first) first = d;
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
  const app = startApp(espruinoDevice(board, env), board, undefined, uiFiles);
  if (!app) throw new Error("the application did not start");
  accept(sock);
  function run(): void {
    while (q.length) (q.shift() as () => void)();
  }
  function one(req: string): void {
    first = "";
    on.data.call(sock, req);
    run();
  }
  run();
  /**
   * Microseconds of JavaScript per request, `head` sent again and again; or alternating with the same head as HEAD
   * (`alt`: a new request line before the same field lines, as a page asking for several routes sends); or with a
   * field that changes every time (`fresh`: every line of every head parsed).
   */
  function per(head: string, alt: boolean, status?: string, fresh?: boolean): number {
    for (let i = 0; i < 50; i++) one(head);
    if (first.indexOf(status || "HTTP/1.1 200 OK\r\n") !== 0) throw new Error("unexpected response: " + first);
    passes = 0;
    // 64 heads in turn, each unlike the one before it: 2 000 of them made beforehand held ~600 KB of strings, which
    // slowed this measurement by ~40 µs and the ones after it (a board never holds more than its slots' heads).
    const heads: string[] = [];
    for (let i = 0; fresh && i < 64; i++) heads.push(head.replace("\r\n\r\n", "\r\nX-Seq: " + i + "\r\n\r\n"));
    const t0 = getTime();
    for (let i = 0; i < N; i++) one(fresh ? heads[i & 63] : alt && i & 1 ? head.replace("GET", "HEAD") : head);
    return ((getTime() - t0) * 1e6) / N;
  }
  const line = (us: number, what: string): void => print("    " + us.toFixed(0) + " us  " + what);
  line(per(REQ, false), "JavaScript per keep-alive GET /api/status, one client (" + (passes / N).toFixed(1) + " poll passes each)");
  line(per(REQ, true), "the same, alternating with HEAD (the request line parsed every time)");
  line(per(BROWSER, false), "the same with a browser's 8-line head");
  line(per(BROWSER, true), "the same, alternating with HEAD (the request line parsed every time, the same field lines reused)");
  line(per(BROWSER, false, undefined, true), "the same with a ninth field line that changes every time (the whole head parsed)");
  let t = getTime();
  for (let i = 0; i < N; i++) mgrPoll(app.mgr);
  print("    " + (((getTime() - t) * 1e6) / N).toFixed(0) + " us  one poll pass with nothing to do, one connection open");

  // The configuration UI's own requests: a file it already has, revalidated; the settings, signed in.
  const HOST = "Host: 127.0.0.1:8080\r\n";
  let js = uiFiles[0];
  for (let i = 0; i < uiFiles.length; i++) if (uiFiles[i].path === "/app.js") js = uiFiles[i];
  if (js) line(per("GET " + js.path + " HTTP/1.1\r\n" + HOST + "If-None-Match: " + js.etag + "\r\n\r\n", false, "HTTP/1.1 304"), "a UI file revalidated (If-None-Match, 304)");
  const post = (path: string, body: string): string => "POST " + path + " HTTP/1.1\r\n" + HOST + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n" + body;
  const PW = JSON.stringify({ password: "bench-password" });
  one(post("/api/password", PW)); // the first run in this flash only; later runs are refused (a password is set)
  one(post("/api/login", PW));
  const k = first.indexOf("Set-Cookie: ");
  if (k < 0) throw new Error("no session: " + first);
  const cookie = first.substring(k + 12, first.indexOf(";", k));
  line(per("GET /api/status HTTP/1.1\r\n" + HOST + "Cookie: " + cookie + "\r\n\r\n", false), "a signed-in GET /api/status (the UI's poll)");
  line(per("GET /api/config HTTP/1.1\r\n" + HOST + "Cookie: " + cookie + "\r\n\r\n", false), "a signed-in GET /api/config");

  // The runtime alone: its own listener answering a canned reply of the same size, no application.
  const m = mgrInit(espruinoHal(board, env), board.limits);
  const BODY = '{"board":"linux","title":"Espruino (Linux build)","version":"0.1.0","name":"espweb","passwordSet":true,"signedIn":false}';
  httpListen(m, 8081, function (c, ev, _d) {
    if (ev === Ev.HttpMsg) httpReply(c, 200, "Content-Type: application/json\r\nCache-Control: no-store\r\n", BODY);
  });
  accept(sock);
  run();
  line(per(REQ, false), "the runtime alone, a canned reply of the same size (no application)");
}
main();
process.exit();
