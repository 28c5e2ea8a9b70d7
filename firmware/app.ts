/**
 * The configuration app, independent of the platform: it gets a Hal and a
 * Board and serves the web UI and the device API (README, "The API").
 * main.ts wires it to the real board; the tests run it on the simulated HAL
 * and in the emulator.
 *
 * Access, in order: a state-changing request from another origin is 403;
 * until an admin password is set only /api/status, /api/schema and
 * POST /api/password answer (403 otherwise); after that everything but the
 * UI, /api/status (reduced) and POST /api/login needs a session cookie or
 * HTTP Basic (401 otherwise).
 */
import type { Hal, WifiNet } from "../hal/hal";
import type { Board } from "../boards/types";
import { Ev, Conn, Mgr, Resp, HttpMsg, mgrInit, httpListen, httpReply, httpResp, httpHeader, poolUsed } from "../src/index";
import { VERSION } from "./version";
import { Values, Store, settingsStore, apply, ascii, check, exportJson, field, importDoc, load, publicJson, save, schemaJson, wipe, defaults } from "./settings";
import { Net, hostName, netJoin, netSettings, netStart, netStatus } from "./wifi";
import { Auth, MIN_PASSWORD, credentials, deviceHost, knownBasic, endSession, endSessions, failed, hashPassword, lockedFor, newSession, sameOrigin, succeeded, verifyPassword } from "./auth";
import { UiFile, serveFile, uiFile } from "./static";
import { halIO } from "./record";
import { Op, Updates, updates, updatesInit } from "./update";
import { Fleet, fleetSettings, fleetStart, fleetStatus } from "./fleet";

declare const __BOARD__: string | undefined;
/** False in a bundle for a board whose profile leaves MQTT out (tools/build.mjs); undefined outside a build (tests: in). */
declare const __MQTT__: boolean | undefined;

const JSON_HDRS = "Content-Type: application/json\r\nCache-Control: no-store\r\n";
const TEXT_HDRS = "Content-Type: text/plain\r\n";
/** How long after answering a reboot or factory reset the device acts, ms: time for the answer to leave. */
export const ACT_MS = 1000;

/** The running application: its manager and what it started with. */
export interface App {
  mgr: Mgr;
  hal: Hal;
  board: Board;
  /** Clock reading at start, ms. */
  t0: number;
  /** Responses waiting for the scan under way (one radio scan serves them all). */
  scans: Resp[];
  /** The start of every /api/status body, up to `"name":`. */
  head: string;
  /** The settings in force, and where they are kept (null: this platform has no Storage; nothing persists). */
  cfg: Values;
  store: Store | null;
  auth: Auth | null;
  ui: UiFile[];
  /** The radio's state machine (firmware/wifi.ts). */
  net: Net;
  /** Updates (firmware/update.ts); null where the boot loader did not start the app. */
  upd: Updates | null;
  /** The MQTT client and what it publishes (firmware/fleet.ts): absent until the listener is up, and where the bundle leaves MQTT out. */
  fleet?: Fleet;
}

/** A JSON error body: `{"error": why}`. */
function fail(c: Conn, code: number, why: string, hdrs?: string): void {
  httpReply(c, code, JSON_HDRS + (hdrs || ""), ascii(JSON.stringify({ error: why })));
}

/** 400 with the message for each bad field: `{"errors": {field: why}}`. */
function invalid(c: Conn, errors: { [field: string]: string }, code?: number): void {
  httpReply(c, code || 400, JSON_HDRS, ascii(JSON.stringify({ errors: errors })));
}

function ok(c: Conn, body: string, hdrs?: string): void {
  httpReply(c, 200, JSON_HDRS + (hdrs || ""), ascii(body));
}

/** The client's address for the sign-in rate limit (one bucket for all where the platform gives none). */
function addr(c: Conn): string {
  const p = c.s ? c.s.peer : "";
  const i = p.lastIndexOf(":");
  return i > 0 ? p.substr(0, i) : p;
}

/**
 * The GET /api/status body. Signed out: who the device is and whether it has a password. Signed in: uptime, memory,
 * Wi-Fi, pool, the MQTT client, requests by status class, errors. ASCII already: only the parts a person or a
 * network chose can hold other characters, and only they are escaped (a whole-body RegExp scan costs 2v29 tens of
 * µs a request).
 */
function status(app: App, full: boolean): string {
  const a = app.head + ascii(JSON.stringify(app.cfg.name)) + ',"passwordSet":' + (app.cfg.admin !== "") + ',"signedIn":' + full;
  if (!full) return a + "}";
  const m = app.hal.mem.usage();
  const k = app.mgr.codes;
  return (
    a + ',"uptime":' + Math.floor((app.hal.clock.now() - app.t0) / 1000) +
    ',"mem":{"used":' + m.used + ',"free":' + (m.total - m.used) + ',"total":' + m.total + ',"unit":"' + m.unit +
    '"},"pool":{"used":' + poolUsed(app.mgr) + ',"total":' + app.mgr.conns.length +
    '},"wifi":' + ascii(JSON.stringify(netStatus(app.net))) +
    ',"mqtt":' + ((typeof __MQTT__ === "undefined" || __MQTT__) && app.fleet ? fleetStatus(app.fleet) : '{"state":"off"}') +
    ',"requests":{"1xx":' + k[1] + ',"2xx":' + k[2] + ',"3xx":' + k[3] + ',"4xx":' + k[4] + ',"5xx":' + (k[5] + app.mgr.nrefused) +
    '},"errors":' + app.mgr.nerr + "}"
  );
}

/** GET /api/wifi/scan: deferred until the radio's scan completes; concurrent requests share one scan. */
function scan(app: App, c: Conn): void {
  const wifi = app.hal.wifi;
  if (!wifi) return fail(c, 503, "this board has no radio");
  if (app.scans.length >= app.mgr.conns.length) return fail(c, 503, "too many scans are waiting: try again in a few seconds", "Retry-After: 3\r\n");
  app.scans.push(httpResp(c) as Resp);
  if (app.scans.length > 1) return; // a scan is under way: this request gets its result too
  wifi.scan(function (err: string | null, list: WifiNet[] | null) {
    const waiting = app.scans;
    app.scans = [];
    const nets = list || [];
    nets.sort(function (x, y) {
      return y.rssi - x.rssi;
    });
    const body = ascii(err ? JSON.stringify({ error: "the scan failed: " + err }) : JSON.stringify({ networks: nets }));
    // A stale handle (client gone, deadline passed) returns false: nothing to do for it.
    for (let i = 0; i < waiting.length; i++) waiting[i].reply(err ? 503 : 200, JSON_HDRS, body);
  });
}

/** What a join failure means for a person. */
function joinError(ssid: string, err: string): string {
  // RegExp, not String.indexOf: 2v29's indexOf matches a tail of the string that begins the needle.
  let why = err;
  if (/auth/i.test(err) || /password/i.test(err) || /handshake/i.test(err)) why = "wrong password";
  else if (/not found/i.test(err) || /no_ap/i.test(err)) why = "no network of that name is in range";
  else if (err === "timeout") why = "the network did not answer in time";
  return "could not join " + JSON.stringify(ssid) + ": " + why;
}

/**
 * POST /api/wifi/connect {ssid, password}: answered once joined (the network
 * is saved; the AP stays for the grace period so this page can show the new
 * address) or failed, within the join deadline. A board without AP+STA saves
 * the network, answers 202 saying where to go, then leaves its AP to join.
 */
function join(app: App, c: Conn, b: any): void {
  if (!app.hal.wifi) return fail(c, 503, "this board has no radio");
  const errors: { [k: string]: string } = {};
  const pass = b.password === undefined ? "" : b.password;
  const e1 = typeof b.ssid === "string" && b.ssid !== "" ? check(field("staSsid") as any, b.ssid) : "must be the name of a network";
  const e2 = check(field("staPass") as any, pass);
  if (e1) errors.ssid = e1;
  if (e2) errors.password = e2;
  for (const k in b) if (k !== "ssid" && k !== "password") errors[k] = "is not a field of a join request";
  if (e1 || e2 || Object.keys(errors).length) return invalid(c, errors);
  if (app.net.state === "joining") return fail(c, 409, "a join is already under way: wait for its result");
  const r = httpResp(c) as Resp;
  const save = function () {
    return commit(app, apply(app.cfg, { staSsid: b.ssid, staPass: pass }).values as Values);
  };
  netJoin(app.net, b.ssid, pass, ACT_MS, function (err, ip) {
    if (err === "switch") r.reply(202, JSON_HDRS, ascii(JSON.stringify({ switching: true, ssid: b.ssid, name: app.cfg.name, host: hostName(app.cfg.name as string), saved: save(), apSsid: app.net.apSsid })));
    else if (err) r.reply(502, JSON_HDRS, ascii(JSON.stringify({ error: joinError(b.ssid, err) })));
    else r.reply(200, JSON_HDRS, ascii(JSON.stringify({ ssid: b.ssid, ip: ip, saved: save(), apOffIn: netStatus(app.net).apOffIn })));
  });
}

/** Persist `v`, then make it the settings in force; false if the flash did not take it (nothing changes then; on a platform without Storage `v` is in force, unsaved). */
function commit(app: App, v: Values): boolean {
  if (app.store && !save(app.store, v)) {
    app.hal.log("settings: the flash did not take the new settings; the ones in force are unchanged");
    return false;
  }
  if (v.name !== app.cfg.name && app.hal.wifi) app.hal.wifi.hostname(hostName(v.name as string));
  app.cfg = v;
  return !!app.store;
}

/** The body as JSON, or undefined after answering why not (415 not JSON, 400 broken or not an object). */
function jsonBody(c: Conn, hm: HttpMsg): any {
  const ct = httpHeader(hm, "content-type");
  if (ct === null || ct.split(";")[0].trim().toLowerCase() !== "application/json") {
    fail(c, 415, "send the body as JSON, with Content-Type: application/json");
    return undefined;
  }
  let b: any;
  try {
    b = JSON.parse(c.mgr.hal.codec.str(hm.body, 0, hm.body.length));
  } catch (e) {
    fail(c, 400, "the body is not valid JSON");
    return undefined;
  }
  if (b === null || typeof b !== "object" || Array.isArray(b)) {
    fail(c, 400, "the body must be a JSON object");
    return undefined;
  }
  return b;
}

/**
 * Validate a partial configuration, save all or nothing, put it in force (PUT /api/config, POST /api/config/import,
 * MQTT's config/set): null when applied, else why not, by field ("" for the whole). With `c`, the answer goes to it.
 */
function change(app: App, patch: any, c?: Conn): { [field: string]: string } | null {
  let errors: { [field: string]: string } | null = null;
  if (patch.admin !== undefined || patch.adminPassword !== undefined) errors = { admin: "change the admin password with POST /api/password" };
  const r = errors ? null : apply(app.cfg, patch);
  const was = app.cfg;
  if (r && !r.values) errors = r.errors;
  else if (r && !commit(app, r.values as Values) && app.store) errors = { "": "the settings could not be written to flash: nothing was changed" };
  if (c) {
    if (!errors) ok(c, publicJson(app.cfg));
    else if (errors[""]) fail(c, 507, errors[""]);
    else invalid(c, errors);
  }
  if (errors) return errors;
  if (was.staSsid !== app.cfg.staSsid || was.staPass !== app.cfg.staPass) netSettings(app.net);
  if ((typeof __MQTT__ === "undefined" || __MQTT__) && app.fleet) fleetSettings(app.fleet);
  return null;
}

/** POST /api/password {password, current}. */
function setPassword(app: App, c: Conn, hm: HttpMsg, b: any, who: string): void {
  const auth = app.auth as Auth;
  const isSet = app.cfg.admin !== "";
  if (!isSet && !deviceHost(hm)) return fail(c, 403, "set the first password at the device's own address (an IP address or a .local name), not through another name");
  if (isSet) {
    if (!who) return fail(c, 401, "sign in first");
    const wait = lockedFor(auth, addr(c));
    if (wait) return fail(c, 429, "too many wrong passwords: try again in " + wait + " s", "Retry-After: " + wait + "\r\n");
    if (typeof b.current !== "string" || !verifyPassword(auth, app.cfg.admin as string, b.current)) {
      failed(auth, addr(c));
      return invalid(c, { current: "the current password is wrong" }, 403);
    }
  }
  const p = b.password;
  let why = "";
  if (typeof p !== "string") why = "must be text";
  else if (p.length < MIN_PASSWORD) why = "must be at least " + MIN_PASSWORD + " characters";
  else if (p.length > 64) why = "must be at most 64 characters";
  else if (!/^[\x20-\x7e]+$/.test(p)) why = "must be printable ASCII characters (letters, digits, punctuation, spaces)";
  if (why) return invalid(c, { password: why });
  const v: Values = {};
  for (const k in app.cfg) v[k] = app.cfg[k];
  v.admin = hashPassword(auth, p);
  if (!commit(app, v) && app.store) return fail(c, 507, "the password could not be written to flash: it is unchanged");
  endSessions(auth);
  succeeded(auth, addr(c));
  consoleGuard(app);
  ok(c, '{"ok":true}', newSession(auth, app.cfg.sessionHours as number));
}

/** POST /api/login {password}. */
function login(app: App, c: Conn, b: any): void {
  const auth = app.auth as Auth;
  const wait = lockedFor(auth, addr(c));
  if (wait) return fail(c, 429, "too many wrong passwords: try again in " + wait + " s", "Retry-After: " + wait + "\r\n");
  if (typeof b.password !== "string" || !verifyPassword(auth, app.cfg.admin as string, b.password)) {
    failed(auth, addr(c));
    return fail(c, 401, "wrong password");
  }
  succeeded(auth, addr(c));
  ok(c, '{"ok":true}', newSession(auth, app.cfg.sessionHours as number));
}

/** Once a password is set, the interpreter's telnet console (which bypasses sign-in) goes off, unless the board keeps it for development. */
function consoleGuard(app: App): void {
  if (app.cfg.admin !== "" && !app.board.netConsole && app.hal.sys && app.hal.sys.netConsole(false)) app.hal.log("telnet console off: an admin password is set");
}

/** Answer (202 `{"ok":true}`, or `code` and `body`), then act and restart after ACT_MS (the answer has left by then). */
function later(app: App, c: Conn, what: string, act: () => void, code?: number, body?: string): void {
  const sys = app.hal.sys;
  if (!sys) return fail(c, 501, "this platform cannot restart");
  httpReply(c, code || 202, JSON_HDRS, body || '{"ok":true}');
  app.hal.log(what);
  app.hal.clock.after(ACT_MS, function () {
    act();
    sys.reboot();
  });
}

/** Is the request's Host the board's own name on a network (`espweb`, `espweb.fritz.box`…: what routers list)? */
function ownName(app: App, hm: HttpMsg): boolean {
  const h = (httpHeader(hm, "host") || "").toLowerCase();
  const n = hostName(app.cfg.name as string);
  const rest = h.substr(n.length);
  return h.substr(0, n.length) === n && (rest === "" || rest.charAt(0) === "." || rest.charAt(0) === ":");
}

/** The captive portal's answer: a redirect to the AP's address (an IP, not a name: the phone's DNS may be anyone's). Never a 204, never Apple's "Success". */
function portal(app: App, c: Conn): void {
  const url = "http://" + (netStatus(app.net).apIp || "192.168.4.1") + "/";
  httpReply(c, 302, "Location: " + url + "\r\nCache-Control: no-store\r\nContent-Type: text/html\r\n", '<!doctype html><title>Set up</title><a href="' + url + '">Set up ' + app.cfg.name + "</a>\n");
}

/** The API routes: the methods `path` takes, or null if it is none. A switch, not a table: its text stays in flash, where a table would hold ~80 JsVars of RAM for good. */
function routeMethods(path: string): string[] | null {
  switch (path) {
    case "/api/status":
    case "/api/schema":
    case "/api/config/export":
    case "/api/wifi/scan":
      return ["GET"];
    case "/api/config":
      return ["GET", "PUT"];
    case "/api/update":
      return ["GET", "POST"];
    case "/api/config/import":
    case "/api/wifi/connect":
    case "/api/reboot":
    case "/api/factory-reset":
    case "/api/password":
    case "/api/login":
    case "/api/logout":
    case "/api/update/rollback":
      return ["POST"];
  }
  return null;
}

/** Route one request (`head`: POST /api/update at its head, before the body, which it then streams). */
function route(app: App, c: Conn, hm: HttpMsg, head?: boolean): void {
  const method = hm.method === "HEAD" ? "GET" : hm.method;
  const path = hm.uri;
  // The captive portal: while the AP runs, a request for another site (a phone's connectivity probe, any page
  // the person tries) is sent to the board's own address, which opens the portal sheet.
  if (app.net.ap && !deviceHost(hm) && !ownName(app, hm)) return portal(app, c);
  // The most frequent request, signed out (no credentials, or no password to check them against), answered here
  // as api() would (a rule api() gains for the status belongs here too): everything else in other functions, whose
  // text a status request then does not read.
  if (path === "/api/status" && method === "GET" && (!app.auth || app.cfg.admin === "" || (httpHeader(hm, "authorization") === null && httpHeader(hm, "cookie") === null))) {
    return void httpReply(c, 200, JSON_HDRS, status(app, false));
  }
  if (path.substr(0, 5) === "/api/") return api(app, c, hm, head);
  const f = method === "GET" ? uiFile(app.ui, path) : null;
  if (f) serveFile(c, hm, app.hal.storage, f);
  else if (uiFile(app.ui, path)) httpReply(c, 405, "Allow: GET, HEAD\r\n" + TEXT_HDRS, "method not allowed: " + hm.method + " " + path + " (use GET)\n");
  else httpReply(c, 404, TEXT_HDRS, "not found: " + path + "\n");
}

/** An API request: its method, its origin and its credentials checked, then dispatched. */
function api(app: App, c: Conn, hm: HttpMsg, head?: boolean): void {
  const method = hm.method === "HEAD" ? "GET" : hm.method;
  const path = hm.uri;
  const methods = routeMethods(path);
  if (!methods) return fail(c, 404, "no such API route: " + path);
  // An array's indexOf: 2v29's String.indexOf matches a tail that begins the needle (", POST,".indexOf(", GET,") is 6).
  if (methods.indexOf(method) < 0) {
    return fail(c, 405, "method not allowed: " + path + " takes " + methods.join(" or "), "Allow: " + methods.join(", ") + (methods[0] === "GET" ? ", HEAD" : "") + "\r\n");
  }
  const changes = method !== "GET";
  if (changes && !sameOrigin(hm)) return fail(c, 403, "refused: this request comes from another site (Origin " + (httpHeader(hm, "origin") || httpHeader(hm, "referer")) + ")");
  const auth = app.auth;
  // (GET /api/status without sign-in to check, this case among them, is answered by route().)
  if (!auth) return fail(c, 503, "this platform has no crypto or random source: sign-in cannot work");
  const isSet = app.cfg.admin !== "";
  let who = "";
  const authz = isSet ? httpHeader(hm, "authorization") !== null : false;
  if (authz || (isSet && httpHeader(hm, "cookie") !== null)) {
    const wait = authz && !knownBasic(auth, hm, app.cfg.admin as string) ? lockedFor(auth, addr(c)) : 0;
    if (wait) return fail(c, 429, "too many wrong passwords: try again in " + wait + " s", "Retry-After: " + wait + "\r\n");
    who = credentials(auth, hm, app.cfg.admin as string);
    if (who === "bad" && authz) failed(auth, addr(c));
  }
  const signed = who === "session" || who === "basic";
  if (path === "/api/status") return void httpReply(c, 200, JSON_HDRS, status(app, signed));
  if (!isSet) {
    if (path !== "/api/schema" && path !== "/api/password") return fail(c, 403, "set an admin password first (POST /api/password)");
  } else if (!signed && path !== "/api/login") {
    // A Basic challenge makes a browser open its own password dialog over the UI (and hangs a headless one):
    // browsers (they send Sec-Fetch-Mode) are told to sign in with the page's form instead.
    const scheme = httpHeader(hm, "sec-fetch-mode") !== null ? "Cookie" : "Basic";
    return fail(c, 401, who === "bad" ? "wrong or malformed credentials: sign in again" : "sign in first", "WWW-Authenticate: " + scheme + ' realm="espweb"\r\n');
  }
  return dispatch(app, c, hm, who, head);
}

/**
 * What each API route does, once api() has let the request through (method, origin, credentials): a function of
 * its own, so that a status request does not pay for reading this text (the interpreter reads through every
 * skipped line of a function it runs).
 */
function dispatch(app: App, c: Conn, hm: HttpMsg, who: string, head?: boolean): void {
  const method = hm.method === "HEAD" ? "GET" : hm.method;
  const path = hm.uri;
  const auth = app.auth as Auth;
  if (path === "/api/schema") return ok(c, schemaJson());
  if (path.substr(0, 11) === "/api/update") {
    const u = app.upd;
    if (!u) return fail(c, 501, "updates are off: this board was not started by the boot loader (flash it once with make flash)");
    if (path === "/api/update/rollback") {
      const no = updates(u, Op.Rollback, c, null);
      return no ? fail(c, no[0], no[1]) : later(app, c, "update: returning to the previous app", function () {});
    }
    // A POST is routed at its head (the body then streams into flash; its end goes to upload()), never whole.
    const r: [number, string] | null = method === "GET" || head ? updates(u, method === "GET" ? Op.Json : Op.Start, c, hm, app.cfg.updateKey as string, app.mgr.lim.maxBody) : [409, "this upload was discarded"];
    if (r) return r[0] === 200 ? ok(c, r[1]) : fail(c, r[0], r[1]);
    return;
  }
  if (path === "/api/wifi/scan") return scan(app, c);
  if (path === "/api/config/export") {
    const name = String(app.cfg.name).replace(/[^A-Za-z0-9._-]/g, "_");
    return ok(c, exportJson(app.cfg), 'Content-Disposition: attachment; filename="espweb-' + name + '.json"\r\n');
  }
  if (path === "/api/config" && method === "GET") return ok(c, publicJson(app.cfg));
  if (path === "/api/logout") return ok(c, '{"ok":true}', endSession(auth, hm));
  if (path === "/api/reboot") return later(app, c, "rebooting: asked through the API", function () {});
  if (path === "/api/factory-reset") {
    return later(app, c, "factory reset: asked through the API", function () {
      if (app.store) wipe(app.store);
      app.cfg = defaults();
      endSessions(auth);
    });
  }
  const b = jsonBody(c, hm);
  if (b === undefined) return;
  if (path === "/api/config") return void change(app, b, c);
  if (path === "/api/config/import") {
    const d = importDoc(b);
    return d.error ? fail(c, 400, d.error) : void change(app, d.settings, c);
  }
  if (path === "/api/wifi/connect") return join(app, c, b);
  if (path === "/api/password") return setPassword(app, c, hm, b, who);
  return login(app, c, b);
}

/**
 * An update's upload: its head (POST /api/update, routed before the body), a piece of its body, its connection gone,
 * or its end (HttpMsg: the whole update has arrived: its check answered, and a restart into it if it passed).
 */
function upload(app: App, c: Conn, ev: Ev, data: any): void {
  if (ev === Ev.HttpHdrs) return route(app, c, data, true);
  const u = app.upd;
  if (!u || !u.up || u.up.c !== c) return;
  if (ev === Ev.Close) return void updates(u, Op.Gone, c, null);
  if (ev === Ev.HttpMsg) {
    const r = updates(u, Op.End, c, null) as [number, string];
    if (r[0] === 200) later(app, c, "update: restarting into the new app", function () {}, 200, r[1]);
    else httpReply(c, r[0], JSON_HDRS, r[1]);
    return;
  }
  const no = updates(u, Op.Piece, c, data);
  if (no) fail(c, no[0], no[1]);
}

/** Start the application on `hal` with the board's limits, listening on `port` (default: the board's), serving the UI files `ui`. Null if the port cannot be bound. */
export function startApp(hal: Hal, board: Board, port?: number, ui?: UiFile[]): App | null {
  const mgr = mgrInit(hal, board.limits);
  const head = ascii('{"board":' + JSON.stringify(board.name) + ',"title":' + JSON.stringify(board.title) + ',"version":' + JSON.stringify(VERSION) + ',"name":');
  // One view of the flash for both records: the settings and the boot loader's.
  const io = hal.storage && hal.crypto ? halIO(hal.storage, hal.crypto, hal.codec) : null;
  const store: Store | null = io
    ? settingsStore(io, function (line: string) {
        hal.log(line);
      })
    : null;
  const cfg = store ? load(store) : defaults();
  const auth = hal.crypto && hal.random ? new Auth(hal.crypto, hal.random, function () {
    return hal.clock.now();
  }, hal.codec) : null;
  const app = { mgr: mgr, hal: hal, board: board, t0: hal.clock.now(), scans: [], head: head, cfg: cfg, store: store, auth: auth, ui: ui || [] } as unknown as App;
  app.net = netStart(hal, board, function () {
    return app.cfg;
  }, function (line) {
    hal.log(line);
  });
  if (!store) hal.log("settings: no Storage or crypto on this platform: settings are not kept across reboots");
  if (!auth) hal.log("sign-in: no crypto or random source on this platform: the API is closed");
  consoleGuard(app);
  app.upd = null;
  // Called for every event of every connection (a poll pass included): the common ones leave after a comparison or two.
  // An update's upload has its own function: the interpreter reads through the text of every line it skips, on every call.
  const ok = httpListen(mgr, port === undefined ? board.httpPort : port, function (c, ev, data) {
    if (ev === Ev.HttpMsg) {
      const u = app.upd;
      return u && u.up && u.up.c === c ? upload(app, c, ev, data) : route(app, c, data);
    }
    if (ev === Ev.HttpHdrs ? data.method === "POST" && data.uri === "/api/update" : ev === Ev.HttpBody || ev === Ev.Close) upload(app, c, ev, data);
  });
  if (!ok) return null;
  // Only an app whose listener is up can confirm itself (a trial that cannot serve is given up by the loader).
  app.upd = updatesInit(hal, io, board, typeof __BOARD__ !== "undefined" ? __BOARD__ : board.name, function (line) {
    hal.log(line);
  });
  if (typeof __MQTT__ === "undefined" || __MQTT__) app.fleet = fleetStart(mgr, hal, board, {
    cfg: function () {
      return app.cfg;
    },
    change: function (patch) {
      return change(app, patch);
    },
    status: function () {
      return status(app, true);
    },
    reboot: function (why) {
      const sys = hal.sys;
      hal.log(sys ? why : why + ": this platform cannot restart");
      if (sys) hal.clock.after(ACT_MS, function () {
        sys.reboot();
      });
    },
    ip: function () {
      return netStatus(app.net).ip;
    },
  });
  hal.log("espweb " + VERSION + " on " + board.title + ": http port " + (port === undefined ? board.httpPort : port) + (cfg.admin ? "" : " (no admin password yet)"));
  return app;
}
