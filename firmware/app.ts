/**
 * The firmware's HTTP application, independent of the platform: it gets a
 * Hal and a Board and serves the device API. main.ts wires it to the real
 * board; the tests run it on the simulated HAL.
 */
import type { Hal, WifiNet } from "../hal/hal";
import type { Board } from "../boards/types";
import { Ev, Conn, Mgr, Resp, HttpMsg, mgrInit, httpListen, httpReply, httpResp, poolUsed } from "../src/index";
import { VERSION } from "./version";

const JSON_HDRS = "Content-Type: application/json\r\nCache-Control: no-store\r\n";
const TEXT_HDRS = "Content-Type: text/plain\r\n";

/** The running application: its manager and what it started with. */
export interface App {
  mgr: Mgr;
  hal: Hal;
  board: Board;
  /** Clock reading at start, ms. */
  t0: number;
  /** Responses waiting for the scan under way (one radio scan serves them all). */
  scans: Resp[];
  /** The start of every /api/status body, up to the uptime. */
  head: string;
}

/** GET /api/status: board, firmware version, uptime, memory as the interpreter counts it, pool slots. */
function status(app: App): string {
  const m = app.hal.mem.usage();
  // The constant start is JSON-encoded once (app.head); the figures are appended as they are (integers).
  return (
    app.head + Math.floor((app.hal.clock.now() - app.t0) / 1000) +
    ',"mem":{"used":' + m.used + ',"free":' + (m.total - m.used) + ',"total":' + m.total + ',"unit":"' + m.unit +
    '"},"pool":{"used":' + poolUsed(app.mgr) + ',"total":' + app.mgr.conns.length + "}}"
  );
}

/** GET /api/wifi/scan: deferred until the radio's scan completes; concurrent requests share one scan. */
function scan(app: App, c: Conn): void {
  const wifi = app.hal.wifi;
  if (!wifi) {
    httpReply(c, 503, TEXT_HDRS, "no radio on this board\n");
    return;
  }
  app.scans.push(httpResp(c) as Resp);
  if (app.scans.length > 1) return; // a scan is under way: this request gets its result too
  wifi.scan(function (err: string | null, list: WifiNet[] | null) {
    const waiting = app.scans;
    app.scans = [];
    const body = err ? JSON.stringify({ error: err }) : JSON.stringify({ networks: list || [] });
    // A stale handle (client gone, deadline passed) returns false: nothing to do for it.
    for (let i = 0; i < waiting.length; i++) waiting[i].reply(err ? 503 : 200, JSON_HDRS, body);
  });
}

/** Route one request. */
function route(app: App, c: Conn, hm: HttpMsg): void {
  const get = hm.method === "GET" || hm.method === "HEAD";
  if (hm.uri === "/api/status") {
    if (get) httpReply(c, 200, JSON_HDRS, status(app));
    else httpReply(c, 405, "Allow: GET, HEAD\r\n" + TEXT_HDRS, "method not allowed\n");
  } else if (hm.uri === "/api/wifi/scan") {
    if (get) scan(app, c);
    else httpReply(c, 405, "Allow: GET, HEAD\r\n" + TEXT_HDRS, "method not allowed\n");
  } else httpReply(c, 404, TEXT_HDRS, "not found: " + hm.uri + "\n");
}

/** Start the application on `hal` with the board's limits, listening on `port` (default: the board's). Null if the port cannot be bound. */
export function startApp(hal: Hal, board: Board, port?: number): App | null {
  const mgr = mgrInit(hal, board.limits);
  const head = '{"board":' + JSON.stringify(board.name) + ',"title":' + JSON.stringify(board.title) + ',"version":' + JSON.stringify(VERSION) + ',"uptime":';
  const app: App = { mgr: mgr, hal: hal, board: board, t0: hal.clock.now(), scans: [], head: head };
  const ok = httpListen(mgr, port === undefined ? board.httpPort : port, function (c, ev, data) {
    if (ev === Ev.HttpMsg) route(app, c, data);
  });
  if (!ok) return null;
  hal.log("espweb " + VERSION + " on " + board.title + ": http port " + (port === undefined ? board.httpPort : port));
  return app;
}
