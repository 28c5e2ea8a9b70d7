/**
 * The configuration app's API on the simulated HAL: every route and every bad
 * input — wrong types, out-of-range values, unknown fields, huge bodies,
 * broken JSON, wrong content type, missing or malformed credentials, a
 * foreign Origin, the rate limit — and the settings surviving a restart.
 */
import { Sim } from "../hal/sim";
import { startApp, App, ACT_MS } from "../firmware/app";
import { JOIN_MS } from "../firmware/wifi";
import { fields, SCHEMA_VERSION } from "../firmware/settings";
import { board } from "../boards/emulator";
import { VERSION } from "../firmware/version";
import { parseResponses, preset, used, WireResp } from "./util";

const PW = "correct horse";

function boot(sim = new Sim()) {
  sim.wifi.networks = [
    { ssid: "home", rssi: -50, channel: 6, auth: "wpa2" },
    { ssid: "cafe", rssi: -70, channel: 1, auth: "open" },
  ];
  sim.wifi.passwords = { home: "secret123" };
  const app = startApp(sim, board, 80) as App;
  sim.run();
  return { sim, app };
}

interface Opts {
  headers?: { [k: string]: string };
  body?: unknown;
  raw?: string;
  type?: string | null;
  /** The client's address (default: the same for every request, as one browser). */
  from?: string;
}

/** One request on its own connection; the response. */
function req(sim: Sim, method: string, path: string, o: Opts = {}): WireResp & { json: any } {
  const h: { [k: string]: string } = { Host: "192.168.4.1", "Accept-Encoding": "gzip, deflate", ...(o.headers || {}) };
  let body = "";
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body || method === "POST" || method === "PUT") {
    h["Content-Length"] = String(Buffer.byteLength(body, "latin1"));
    if (o.type !== null && !("Content-Type" in h)) h["Content-Type"] = o.type || "application/json";
  }
  const cl = sim.connect(80, o.from || "10.0.0.9");
  cl.send(method + " " + path + " HTTP/1.1\r\n" + Object.keys(h).map((k) => k + ": " + h[k] + "\r\n").join("") + "\r\n" + body);
  sim.run();
  const r = parseResponses(cl.received).resps[0];
  if (!r) throw new Error("no response to " + method + " " + path + ": " + JSON.stringify(cl.received));
  cl.end();
  sim.run();
  let json: any = null;
  try {
    json = JSON.parse(r.body);
  } catch (e) {
    /* not JSON */
  }
  return { ...r, json };
}

const basic = (pw: string, user = "admin") => ({ Authorization: "Basic " + Buffer.from(user + ":" + pw).toString("base64") });

/** Set the admin password; the session cookie it returns. */
function setup(sim: Sim): string {
  const r = req(sim, "POST", "/api/password", { body: { password: PW } });
  expect(r.status).toBe(200);
  return cookieOf(r);
}

function cookieOf(r: WireResp): string {
  const m = /sid=([0-9a-f]+)/.exec(r.headers["set-cookie"] || "");
  if (!m) throw new Error("no session cookie in " + r.raw);
  return "sid=" + m[1];
}

describe("before an admin password is set", () => {
  test("status says so, and every other route but schema and password answers 403 saying why", () => {
    const { sim } = boot();
    const s = req(sim, "GET", "/api/status");
    expect(s.status).toBe(200);
    expect(s.json).toEqual({ board: "emulator", title: board.title, version: expect.any(String), name: "espweb", passwordSet: false, signedIn: false });
    expect(req(sim, "GET", "/api/schema").status).toBe(200);
    for (const [m, p] of [["GET", "/api/config"], ["PUT", "/api/config"], ["GET", "/api/wifi/scan"], ["POST", "/api/reboot"], ["POST", "/api/login"], ["GET", "/api/config/export"]]) {
      const r = req(sim, m, p, { body: {} });
      expect([p, r.status]).toEqual([p, 403]);
      expect(r.json.error).toMatch(/set an admin password first/);
    }
  });

  test("the first password needs no credentials, must be long enough, and signs the browser in", () => {
    const { sim, app } = boot();
    const short = req(sim, "POST", "/api/password", { body: { password: "short" } });
    expect(short.status).toBe(400);
    expect(short.json.errors.password).toMatch(/at least 8/);
    // Beyond ASCII the same text is different bytes on different platforms (and a hash of the low bytes alone).
    expect(req(sim, "POST", "/api/password", { raw: '{"password":"\\u0141\\u0142\\u0143\\u0144\\u0145\\u0146\\u0147\\u0148"}' }).json.errors.password).toMatch(/printable ASCII/);
    const r = req(sim, "POST", "/api/password", { body: { password: PW } });
    expect(r.status).toBe(200);
    expect(r.headers["set-cookie"]).toMatch(/^sid=[0-9a-f]{32}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=86400$/);
    expect(req(sim, "GET", "/api/config", { headers: { Cookie: cookieOf(r) } }).status).toBe(200);
    // Only the salted hash is kept, never the password.
    expect(app.cfg.admin).toMatch(/^2048\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    for (const f of sim.storage.list("")) expect(Buffer.from(sim.storage.read(f)!).toString("latin1")).not.toContain(PW);
  });

  test("the first password is refused through a name that is not the device's (DNS rebinding)", () => {
    const { sim } = boot();
    // While the access point runs, another site's name is sent to the portal; once joined, it is refused.
    expect(req(sim, "POST", "/api/password", { body: { password: PW }, headers: { Host: "evil.example" } }).status).toBe(302);
    const joined = new Sim();
    preset(joined, { staSsid: "home", staPass: "secret123" });
    boot(joined);
    joined.advance(1000);
    const r = req(joined, "POST", "/api/password", { body: { password: PW }, headers: { Host: "evil.example" } });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatch(/device's own address/);
    expect(req(joined, "GET", "/api/status").json.passwordSet).toBe(false);
    expect(req(sim, "POST", "/api/password", { body: { password: PW }, headers: { Host: "espweb.local" } }).status).toBe(200);
  });

  test("setting a password turns the telnet console off", () => {
    const { sim } = boot();
    expect(sim.console).toBe(true);
    setup(sim);
    expect(sim.console).toBe(false);
  });
});

describe("signed out, once a password is set", () => {
  test("a request target in absolute form reaches its route (RFC 9112 §3.2.2: a server MUST accept it)", () => {
    const { sim } = boot();
    setup(sim);
    for (const t of ["http://192.168.4.1/api/status", "http://192.168.4.1:80/api/status?x=1", "HTTP://192.168.4.1/api/status"]) {
      const r = req(sim, "GET", t);
      expect([t, r.status, r.json && r.json.passwordSet]).toEqual([t, 200, true]);
    }
    expect(req(sim, "GET", "http://192.168.4.1/api/nothing").json.error).toBe("no such API route: /api/nothing");
    expect(req(sim, "GET", "http://192.168.4.1").body).toBe("not found: /\n"); // an empty path is "/" (this app has no UI files)
  });

  test("everything but status, login and the UI answers 401; status is reduced", () => {
    const { sim } = boot();
    setup(sim);
    const s = req(sim, "GET", "/api/status");
    expect(s.json).toEqual({ board: "emulator", title: board.title, version: expect.any(String), name: "espweb", passwordSet: true, signedIn: false });
    for (const [m, p] of [["GET", "/api/config"], ["GET", "/api/schema"], ["POST", "/api/reboot"], ["POST", "/api/factory-reset"], ["GET", "/api/wifi/scan"], ["POST", "/api/logout"], ["POST", "/api/password"]]) {
      const r = req(sim, m, p, { body: {} });
      expect([p, r.status, r.json.error]).toEqual([p, 401, "sign in first"]);
    }
    expect(sim.reboots).toBe(0);
  });

  test.each([
    ["empty", ""],
    ["scheme only", "Basic"],
    ["scheme and space", "Basic "],
    ["wrong scheme", "Bearer " + Buffer.from("admin:" + PW).toString("base64")],
    ["not base64", "Basic %%%%"],
    ["no colon", "Basic " + Buffer.from("admin").toString("base64")],
    ["prefix of the password", "Basic " + Buffer.from("admin:" + PW.slice(0, 3)).toString("base64")],
    ["empty password", "Basic " + Buffer.from("admin:").toString("base64")],
    ["another user", "Basic " + Buffer.from("root:" + PW).toString("base64")],
    ["bad padding", "Basic " + Buffer.from("admin:" + PW).toString("base64").replace(/=+$/, "") + "="],
  ])("an Authorization header that is %s is refused", (_why, value) => {
    const { sim } = boot();
    setup(sim);
    const r = req(sim, "GET", "/api/config", { headers: { Authorization: value } });
    expect(r.status).toBe(401);
    expect(r.json.error).toMatch(/credentials/);
  });

  test("a 401 challenges scripts with Basic, and browsers (Sec-Fetch-Mode) with the page's own sign-in, never the browser's dialog", () => {
    const { sim } = boot();
    setup(sim);
    expect(req(sim, "GET", "/api/config").headers["www-authenticate"]).toBe('Basic realm="espweb"');
    expect(req(sim, "GET", "/api/config", { headers: { "Sec-Fetch-Mode": "cors" } }).headers["www-authenticate"]).toBe('Cookie realm="espweb"');
  });

  test("HTTP Basic with user admin works for scripts", () => {
    const { sim } = boot();
    setup(sim);
    const r = req(sim, "GET", "/api/config", { headers: basic(PW) });
    expect(r.status).toBe(200);
    expect(req(sim, "GET", "/api/status", { headers: basic(PW) }).json.signedIn).toBe(true);
  });

  test("a made-up or expired session cookie is refused", () => {
    const { sim } = boot();
    const c = setup(sim);
    expect(req(sim, "GET", "/api/config", { headers: { Cookie: "sid=" + "0".repeat(32) } }).status).toBe(401);
    expect(req(sim, "GET", "/api/config", { headers: { Cookie: c } }).status).toBe(200);
    sim.advance(24 * 3600 * 1000);
    expect(req(sim, "GET", "/api/config", { headers: { Cookie: c } }).status).toBe(401);
  });

  test("login: wrong password 401, right one a cookie; logout ends that session", () => {
    const { sim } = boot();
    setup(sim);
    expect(req(sim, "POST", "/api/login", { body: { password: "nope nope" } }).status).toBe(401);
    const r = req(sim, "POST", "/api/login", { body: { password: PW } });
    expect(r.status).toBe(200);
    const c = cookieOf(r);
    expect(req(sim, "GET", "/api/config", { headers: { Cookie: c } }).status).toBe(200);
    const out = req(sim, "POST", "/api/logout", { headers: { Cookie: c } });
    expect(out.status).toBe(200);
    expect(out.headers["set-cookie"]).toMatch(/^sid=; .*Max-Age=0$/);
    expect(req(sim, "GET", "/api/config", { headers: { Cookie: c } }).status).toBe(401);
  });

  test("after 5 failed sign-ins: 429 with a Retry-After that grows, capped, and the owner gets back in once it passes", () => {
    const { sim } = boot();
    setup(sim);
    for (let i = 0; i < 5; i++) expect(req(sim, "POST", "/api/login", { body: { password: "guess" + i } }).status).toBe(401);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = req(sim, "POST", "/api/login", { body: { password: PW } });
      expect(r.status).toBe(429);
      expect(r.json.error).toMatch(/try again in \d+ s/);
      const w = +r.headers["retry-after"];
      waits.push(w);
      sim.advance(w * 1000);
      expect(req(sim, "POST", "/api/login", { body: { password: "wrong" } }).status).toBe(401);
    }
    expect(waits).toEqual([2, 4, 8, 16, 32, 60, 60, 60]);
    // Basic auth is locked out too, so it is no way around the limit.
    expect(req(sim, "GET", "/api/config", { headers: basic(PW) }).status).toBe(429);
    sim.advance(60000);
    expect(req(sim, "POST", "/api/login", { body: { password: PW } }).status).toBe(200);
    expect(req(sim, "POST", "/api/login", { body: { password: "wrong" } }).status).toBe(401);
    expect(req(sim, "POST", "/api/login", { body: { password: PW } }).status).toBe(200);
  });

  test("a stranger's failures do not lock out the owner's address", () => {
    const { sim } = boot();
    setup(sim);
    for (let i = 0; i < 12; i++) req(sim, "POST", "/api/login", { body: { password: "guess" + i }, from: "10.0.0.66" });
    expect(req(sim, "POST", "/api/login", { body: { password: PW }, from: "10.0.0.66" }).status).toBe(429);
    expect(req(sim, "POST", "/api/login", { body: { password: PW }, from: "10.0.0.7" }).status).toBe(200);
  });

  test("a lockout does not hold up a script whose credentials were already verified, and old failures are forgotten", () => {
    const { sim } = boot();
    setup(sim);
    expect(req(sim, "GET", "/api/config", { headers: basic(PW) }).status).toBe(200);
    for (let i = 0; i < 6; i++) req(sim, "POST", "/api/login", { body: { password: "guess" + i } });
    expect(req(sim, "POST", "/api/login", { body: { password: PW } }).status).toBe(429);
    expect(req(sim, "GET", "/api/config", { headers: basic(PW) }).status).toBe(200);
    // A quiet while later, one more failure is a first failure again, not a longer lockout.
    sim.advance(121000);
    expect(req(sim, "POST", "/api/login", { body: { password: "again" } }).status).toBe(401);
    expect(req(sim, "POST", "/api/login", { body: { password: PW } }).status).toBe(200);
  });

  test("wrong Basic passwords count toward the limit", () => {
    const { sim } = boot();
    setup(sim);
    for (let i = 0; i < 5; i++) expect(req(sim, "GET", "/api/config", { headers: basic("bad" + i) }).status).toBe(401);
    expect(req(sim, "GET", "/api/config", { headers: basic(PW) }).status).toBe(429);
  });
});

describe("signed in", () => {
  function signedIn() {
    const b = boot();
    const cookie = setup(b.sim);
    const h = { Cookie: cookie };
    return { ...b, h, r: (m: string, p: string, o: Opts = {}) => req(b.sim, m, p, { ...o, headers: { ...h, ...(o.headers || {}) } }) };
  }

  test("status has uptime, memory, Wi-Fi, pool, requests by class and errors", () => {
    const { sim, r } = signedIn();
    sim.advance(5000);
    r("GET", "/nope");
    const s = r("GET", "/api/status").json;
    expect(s).toMatchObject({ board: "emulator", name: "espweb", passwordSet: true, signedIn: true, uptime: 5, pool: { used: 1, total: board.limits.slots }, errors: 0 });
    expect(Object.keys(s.mem)).toEqual(["used", "free", "total", "unit"]);
    expect(s.wifi).toMatchObject({ state: "ap", mode: "ap", apSsid: "espweb-3F2A", apIp: "192.168.4.1", ip: "" });
    expect(s.requests["4xx"]).toBe(1);
    expect(s.requests["2xx"]).toBeGreaterThanOrEqual(1);
  });

  test("the schema lists every field with only the keys that apply", () => {
    const { r } = signedIn();
    const s = r("GET", "/api/schema").json;
    expect(s.version).toBe(SCHEMA_VERSION);
    expect(s.fields.map((f: any) => f.name)).toEqual(fields().map((f) => f.name));
    const by = (n: string) => s.fields.find((f: any) => f.name === n);
    expect(by("interval")).toEqual({ name: "interval", type: "int", default: 60, min: 1, max: 3600, label: expect.any(String), help: expect.any(String), group: "Application" });
    expect(by("units").choices).toEqual(["metric", "imperial"]);
    expect(by("led")).not.toHaveProperty("min");
    expect(by("staPass")).toMatchObject({ type: "secret", default: "" });
  });

  test("config shows secrets only as set or not set", () => {
    const { r } = signedIn();
    expect(r("PUT", "/api/config", { body: { staSsid: "home", staPass: "secret123" } }).status).toBe(200);
    const c = r("GET", "/api/config");
    expect(c.json.staPass).toEqual({ set: true });
    expect(c.json.apPass).toEqual({ set: false });
    expect(c.body).not.toContain("secret123");
    expect(c.json).not.toHaveProperty("admin");
  });

  test("a partial update changes only what it names and persists it", () => {
    const { sim, r } = signedIn();
    const u = r("PUT", "/api/config", { body: { name: "greenhouse", interval: 300 } });
    expect(u.status).toBe(200);
    expect(u.json).toMatchObject({ name: "greenhouse", interval: 300, units: "metric" });
    // A restart of the app on the same flash: the same settings, the same password.
    const again = startApp(sim, board, 81) as App;
    expect(again.cfg).toMatchObject({ name: "greenhouse", interval: 300 });
    expect(again.cfg.admin).toMatch(/^2048\$/);
  });

  test("every bad field is named with its own message, and nothing is saved", () => {
    const { r } = signedIn();
    const bad = r("PUT", "/api/config", {
      body: { name: "", interval: 0, units: "kelvin", led: "yes", staPass: "short", colour: "red", staSsid: 5, sessionHours: 1.5 },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toEqual({
      name: "must not be empty",
      interval: "must be from 1 to 3600",
      units: "must be one of: metric, imperial",
      led: "must be true or false",
      staPass: "must be at least 8 characters (or empty)",
      colour: "is not a setting of this device",
      staSsid: "must be text",
      sessionHours: "must be a whole number from 1 to 720",
    });
    expect(r("GET", "/api/config").json).toMatchObject({ name: "espweb", interval: 60 });
    // One good field with one bad one: still nothing saved.
    expect(r("PUT", "/api/config", { body: { name: "ok-name", interval: "60" } }).status).toBe(400);
    expect(r("GET", "/api/config").json.name).toBe("espweb");
  });

  test("a save the flash refuses (507) changes nothing: the settings in force, the password and the sessions stay", () => {
    const { sim, r, h } = signedIn();
    const write = sim.storage.write.bind(sim.storage);
    sim.storage.write = () => false;
    const bad = r("PUT", "/api/config", { body: { name: "unsaved" } });
    expect([bad.status, bad.json.error]).toEqual([507, "the settings could not be written to flash: nothing was changed"]);
    expect(r("GET", "/api/config").json.name).toBe("espweb");
    const pw = r("POST", "/api/password", { body: { password: "another password", current: PW } });
    expect(pw.status).toBe(507);
    expect(req(sim, "GET", "/api/config", { headers: h }).status).toBe(200);
    expect(req(sim, "GET", "/api/config", { headers: basic(PW) }).status).toBe(200);
    expect(req(sim, "GET", "/api/config", { headers: basic("another password") }).status).toBe(401);
    sim.storage.write = write;
    expect(r("PUT", "/api/config", { body: { name: "saved" } }).status).toBe(200);
  });

  test("secrets never appear in a response, an export or a log line", () => {
    const { sim, r } = signedIn();
    r("PUT", "/api/config", { body: { staSsid: "home", staPass: "wifi-secret-1", apPass: "ap-secret-22" } });
    const bodies = [r("GET", "/api/config"), r("GET", "/api/config/export"), r("GET", "/api/status"), r("GET", "/api/schema"), r("PUT", "/api/config", { body: { staPass: "x" } })].map((x) => x.raw);
    for (const secret of ["wifi-secret-1", "ap-secret-22", PW]) {
      for (const b of bodies) expect(b).not.toContain(secret);
      for (const l of sim.logs) expect(l).not.toContain(secret);
    }
  });

  test("text limits are bytes in UTF-8; secrets are printable ASCII (the WPA rule)", () => {
    const { r } = signedIn();
    // JSON escapes, as 2v29's JSON.parse also makes of UTF-8 it receives: characters above 255.
    expect(r("PUT", "/api/config", { raw: '{"staSsid":"' + "\\u4e00".repeat(11) + '"}' }).json.errors.staSsid).toBe("must be at most 32 bytes (accented letters and symbols take 2 to 4)");
    expect(r("PUT", "/api/config", { raw: '{"staSsid":"' + "\\u4e00".repeat(10) + '"}' }).status).toBe(200);
    expect(r("PUT", "/api/config", { body: { staPass: "p\u00e4sswort1" } }).json.errors.staPass).toMatch(/printable ASCII/);
  });

  test("control characters and patterns are checked; the admin hash cannot be written through config", () => {
    const { r } = signedIn();
    expect(r("PUT", "/api/config", { body: { staSsid: "a\nb" } }).json.errors.staSsid).toMatch(/control/);
    expect(r("PUT", "/api/config", { body: { name: "-lead" } }).json.errors.name).toMatch(/letters, digits/);
    expect(r("PUT", "/api/config", { body: { admin: "1$00$00" } }).json.errors.admin).toMatch(/POST \/api\/password/);
  });

  test("bodies: 415 without JSON's content type, 400 for broken JSON or not an object, 413 past the limit", () => {
    const { r } = signedIn();
    const t = r("PUT", "/api/config", { raw: "name=x", type: "application/x-www-form-urlencoded" });
    expect([t.status, t.json.error]).toEqual([415, "send the body as JSON, with Content-Type: application/json"]);
    expect(r("PUT", "/api/config", { raw: "{}", type: null }).status).toBe(415);
    expect(r("PUT", "/api/config", { raw: '{"name": "x"', type: "application/json; charset=utf-8" }).json).toEqual({ error: "the body is not valid JSON" });
    expect(r("PUT", "/api/config", { raw: "[1,2]" }).json).toEqual({ error: "the body must be a JSON object" });
    expect(r("PUT", "/api/config", { raw: "null" }).status).toBe(400);
    expect(r("PUT", "/api/config", { raw: JSON.stringify({ name: "x".repeat(5000) }) }).status).toBe(413);
  });

  test("a platform without crypto: the status answers, signed out; everything that needs sign-in is 503 and says why", () => {
    const sim = new Sim();
    const app = startApp(Object.assign(Object.create(sim), { crypto: null }), board, 80) as App;
    sim.run();
    expect(app.auth).toBe(null);
    expect(req(sim, "GET", "/api/status", { headers: basic(PW) }).json).toMatchObject({ signedIn: false, passwordSet: false });
    const r = req(sim, "GET", "/api/config");
    expect([r.status, r.json.error]).toEqual([503, "this platform has no crypto or random source: sign-in cannot work"]);
  });

  test("GET /api/status, answered in route() when signed out, by api() otherwise: the same rules either way", () => {
    const { sim } = boot();
    expect(req(sim, "GET", "/api/status", { headers: basic(PW) }).json.signedIn).toBe(false); // no password yet
    const c = setup(sim);
    expect(req(sim, "GET", "/api/status").json.signedIn).toBe(false);
    expect(req(sim, "GET", "/api/status", { headers: { Cookie: c } }).json).toMatchObject({ signedIn: true, uptime: expect.any(Number) });
    expect(req(sim, "GET", "/api/status", { headers: basic(PW) }).json.signedIn).toBe(true);
    // Wrong credentials only make it the signed-out status (never a 401: the sign-in page reads it).
    const bad = req(sim, "GET", "/api/status", { headers: { Cookie: "sid=" + "0".repeat(32) } });
    expect([bad.status, bad.json.signedIn, bad.json.uptime]).toEqual([200, false, undefined]);
    expect(req(sim, "GET", "/api/status", { headers: basic("wrong-" + PW) }).json.signedIn).toBe(false);
    const cl = sim.connect(80);
    cl.send("HEAD /api/status HTTP/1.1\r\nHost: 192.168.4.1\r\n\r\n");
    sim.run();
    const head = parseResponses(cl.received, [true]).resps[0];
    expect([head.status, head.body, Number(head.headers["content-length"]) > 50]).toEqual([200, "", true]);
    const post = req(sim, "POST", "/api/status", { body: {} });
    expect([post.status, post.headers.allow]).toEqual([405, "GET, HEAD"]);
  });

  test("unknown API routes are 404 and wrong methods 405 with Allow, in words", () => {
    const { r } = signedIn();
    const n = r("GET", "/api/nope");
    expect([n.status, n.json.error]).toEqual([404, "no such API route: /api/nope"]);
    const m = r("DELETE", "/api/config");
    expect(m.status).toBe(405);
    expect(m.headers.allow).toBe("GET, PUT, HEAD");
    expect(m.json.error).toBe("method not allowed: /api/config takes GET or PUT");
    expect(r("GET", "/api/reboot").headers.allow).toBe("POST");
    expect(r("GET", "/elsewhere").status).toBe(404);
  });

  test("a state change from another origin is 403 whatever its credentials; same origin and no origin pass", () => {
    const { sim, r } = signedIn();
    const foreign = r("PUT", "/api/config", { body: { name: "pwned" }, headers: { Origin: "http://evil.example" } });
    expect(foreign.status).toBe(403);
    expect(foreign.json.error).toMatch(/another site/);
    expect(req(sim, "PUT", "/api/config", { body: { name: "pwned" }, headers: { ...basic(PW), Origin: "http://evil.example" } }).status).toBe(403);
    expect(r("PUT", "/api/config", { body: { name: "x" }, headers: { Referer: "http://evil.example/page" } }).status).toBe(403);
    expect(r("PUT", "/api/config", { body: { name: "x" }, headers: { Origin: "null" } }).status).toBe(403);
    expect(r("POST", "/api/reboot", { headers: { Origin: "http://evil.example" } }).status).toBe(403);
    expect(sim.reboots).toBe(0);
    expect(r("GET", "/api/config").json.name).toBe("espweb");
    expect(r("PUT", "/api/config", { body: { name: "same" }, headers: { Origin: "http://192.168.4.1" } }).status).toBe(200);
    expect(r("PUT", "/api/config", { body: { name: "ref" }, headers: { Referer: "http://192.168.4.1/#settings" } }).status).toBe(200);
    expect(r("PUT", "/api/config", { body: { name: "script" } }).status).toBe(200);
  });

  test("export leaves secrets out; import restores it, keeps secrets, and refuses what is not an export", () => {
    const { r } = signedIn();
    r("PUT", "/api/config", { body: { name: "lab", units: "imperial", staSsid: "home", staPass: "secret123" } });
    const e = r("GET", "/api/config/export");
    expect(e.status).toBe(200);
    expect(e.headers["content-disposition"]).toBe('attachment; filename="espweb-lab.json"');
    expect(e.body).not.toContain("secret123");
    expect(e.json).toMatchObject({ format: "espweb-config", version: SCHEMA_VERSION, settings: { name: "lab", units: "imperial", staSsid: "home" } });
    expect(e.json.settings).not.toHaveProperty("staPass");
    r("PUT", "/api/config", { body: { name: "changed", units: "metric" } });
    const i = r("POST", "/api/config/import", { raw: e.body });
    expect(i.status).toBe(200);
    expect(i.json).toMatchObject({ name: "lab", units: "imperial", staPass: { set: true } });
    expect(r("POST", "/api/config/import", { body: { name: "x" } }).json.error).toMatch(/not an espweb settings export/);
    expect(r("POST", "/api/config/import", { body: { format: "espweb-config", version: 99, settings: {} } }).json.error).toMatch(/newer firmware/);
    const bad = r("POST", "/api/config/import", { body: { format: "espweb-config", version: 1, settings: { interval: 99999 } } });
    expect([bad.status, bad.json.errors.interval]).toEqual([400, "must be from 1 to 3600"]);
  });

  test("changing the password needs the current one, ends other sessions and gives a new cookie", () => {
    const { sim, r, h } = signedIn();
    const wrong = r("POST", "/api/password", { body: { password: "new password", current: "nope" } });
    expect([wrong.status, wrong.json.errors.current]).toEqual([403, "the current password is wrong"]);
    expect(r("POST", "/api/password", { body: { password: "new password" } }).status).toBe(403);
    const ok = r("POST", "/api/password", { body: { password: "new password", current: PW } });
    expect(ok.status).toBe(200);
    expect(req(sim, "GET", "/api/config", { headers: h }).status).toBe(401);
    expect(req(sim, "GET", "/api/config", { headers: { Cookie: cookieOf(ok) } }).status).toBe(200);
    expect(req(sim, "GET", "/api/config", { headers: basic(PW) }).status).toBe(401);
    expect(req(sim, "GET", "/api/config", { headers: basic("new password") }).status).toBe(200);
  });

  test("reboot and factory reset answer first, then act", () => {
    const { sim, r } = signedIn();
    r("PUT", "/api/config", { body: { name: "keepme" } });
    const rb = r("POST", "/api/reboot");
    expect([rb.status, rb.json]).toEqual([202, { ok: true }]);
    expect(sim.reboots).toBe(0);
    sim.advance(ACT_MS);
    expect(sim.reboots).toBe(1);
    expect((startApp(sim, board, 82) as App).cfg.name).toBe("keepme");
    expect(r("POST", "/api/factory-reset").status).toBe(202);
    expect(sim.storage.list("cfg.").length).toBeGreaterThan(0);
    sim.advance(ACT_MS);
    expect(sim.reboots).toBe(2);
    expect(sim.storage.list("cfg.")).toEqual([]);
    const fresh = startApp(sim, board, 83) as App;
    expect(fresh.cfg.name).toBe("espweb");
    expect(fresh.cfg.admin).toBe("");
  });

  test("scan: sorted by signal; join: saved on success, the reason on failure, 409 while one runs", () => {
    const { sim, h } = signedIn();
    const go = (m: string, p: string, o: Opts = {}) => send(sim, m, p, { ...o, headers: { ...h, ...(o.headers || {}) } });
    const sc = go("GET", "/api/wifi/scan");
    sim.advance(sim.wifi.scanMs);
    expect(sc().json.networks.map((n: any) => [n.ssid, n.auth])).toEqual([["home", "wpa2"], ["cafe", "open"]]);
    sim.wifi.connectMs = 1000;
    const bad = go("POST", "/api/wifi/connect", { body: { ssid: "home", password: "wrongpass" } });
    const busy = go("POST", "/api/wifi/connect", { body: { ssid: "cafe" } });
    expect([busy().status, busy().json.error]).toEqual([409, "a join is already under way: wait for its result"]);
    sim.advance(1000);
    expect([bad().status, bad().json.error]).toEqual([502, 'could not join "home": wrong password']);
    const none = go("POST", "/api/wifi/connect", { body: { ssid: "nowhere", password: "whatever1" } });
    sim.advance(1000);
    expect(none().json.error).toBe('could not join "nowhere": no network of that name is in range');
    const good = go("POST", "/api/wifi/connect", { body: { ssid: "home", password: "secret123" } });
    sim.advance(1000);
    expect(good().status).toBe(200);
    expect(good().json).toEqual({ ssid: "home", ip: "192.168.1.50", saved: true, apOffIn: 60 });
    expect(req(sim, "GET", "/api/config", { headers: h }).json).toMatchObject({ staSsid: "home", staPass: { set: true } });
    const v = go("POST", "/api/wifi/connect", { body: { ssid: "", password: "x", extra: 1 } });
    expect(v().json.errors).toEqual({ ssid: "must be the name of a network", password: "must be at least 8 characters (or empty)", extra: "is not a field of a join request" });
  });

  test("a join the radio never answers fails at the app's own deadline", () => {
    const { sim, h } = signedIn();
    sim.wifi.connectMs = 10 * JOIN_MS;
    const j = send(sim, "POST", "/api/wifi/connect", { body: { ssid: "home", password: "secret123" }, headers: h });
    sim.advance(JOIN_MS - 1);
    expect(j).toThrow(/no response/);
    sim.advance(1);
    expect(j().json.error).toBe('could not join "home": the network did not answer in time');
  });
});

/** Send a request now; the returned function reads its response later (after the test moves time). */
function send(sim: Sim, method: string, path: string, o: Opts = {}): () => WireResp & { json: any } {
  const cl = sim.connect(80);
  const h: { [k: string]: string } = { Host: "192.168.4.1", ...(o.headers || {}) };
  const body = o.body !== undefined ? JSON.stringify(o.body) : "";
  if (method === "POST") {
    h["Content-Length"] = String(body.length);
    h["Content-Type"] = "application/json";
  }
  cl.send(method + " " + path + " HTTP/1.1\r\n" + Object.keys(h).map((k) => k + ": " + h[k] + "\r\n").join("") + "\r\n" + body);
  sim.run();
  return () => {
    const r = parseResponses(cl.received).resps[0];
    if (!r) throw new Error("no response to " + method + " " + path);
    return { ...r, json: JSON.parse(r.body) };
  };
}

test("the firmware version is package.json's", () => {
  expect(VERSION).toBe(require("../package.json").version);
});

describe("the deferred Wi-Fi scan", () => {
  const SCAN = "GET /api/wifi/scan HTTP/1.1\r\nHost: 192.168.4.1\r\nAuthorization: Basic " + Buffer.from("admin:" + PW).toString("base64") + "\r\n";

  test("with Connection: close it answers when the scan completes, whole, then closes", () => {
    const { sim, app } = boot();
    setup(sim);
    const cl = sim.connect(80);
    cl.send(SCAN + "Connection: close\r\n\r\n");
    sim.run();
    sim.advance(sim.wifi.scanMs - 1);
    expect(cl.received).toBe("");
    sim.advance(1);
    const r = parseResponses(cl.received).resps;
    expect(r.length).toBe(1);
    expect(JSON.parse(r[0].body).networks.map((n: { ssid: string }) => n.ssid)).toEqual(["home", "cafe"]);
    expect(cl.gotFin).toBe(true);
    expect(used(app.mgr)).toBe(0);
  });

  test("concurrent requests share one radio scan; a client that left is skipped", () => {
    const { sim } = boot();
    setup(sim);
    const [a, b, c] = [sim.connect(80), sim.connect(80), sim.connect(80)];
    for (const x of [a, b, c]) x.send(SCAN + "\r\n");
    sim.run();
    b.reset();
    sim.advance(sim.wifi.scanMs);
    expect(parseResponses(a.received).resps.map((r) => r.status)).toEqual([200]);
    expect(parseResponses(c.received).resps.map((r) => r.status)).toEqual([200]);
  });

  test("a failed scan is a 503 with the reason", () => {
    const { sim } = boot();
    setup(sim);
    sim.wifi.failNextScan = "radio off";
    const a = sim.connect(80);
    a.send(SCAN + "\r\n");
    sim.advance(sim.wifi.scanMs);
    const r = parseResponses(a.received).resps[0];
    expect([r.status, JSON.parse(r.body).error]).toEqual([503, "the scan failed: radio off"]);
  });
});

describe("the UI's files", () => {
  const gz = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4]);
  const UI = [{ path: "/", file: "ui.index.html", type: "text/html; charset=utf-8", etag: '"0123456789abcdef"', size: gz.length, raw: 40 }];
  function withUi(write = true) {
    const sim = new Sim();
    if (write) sim.storage.write("ui.index.html", new Uint8Array(gz), 0, gz.length);
    startApp(sim, board, 80, UI);
    sim.run();
    return sim;
  }

  test("are served from flash gzipped, with a strong ETag, no-cache, nosniff and no framing; public before and after sign-in", () => {
    const sim = withUi();
    for (const p of ["/", "/index.html"]) {
      const r = req(sim, "GET", p);
      expect(r.status).toBe(200);
      expect(Buffer.from(r.body, "latin1")).toEqual(gz);
      expect(r.headers).toMatchObject({ "content-type": "text/html; charset=utf-8", "content-encoding": "gzip", etag: '"0123456789abcdef"', "cache-control": "no-cache", "x-frame-options": "DENY", "x-content-type-options": "nosniff" });
    }
    setup(sim);
    expect(req(sim, "GET", "/").status).toBe(200);
  });

  test("If-None-Match with the ETag (or *, or a weak form of it) is a 304 without a body; another ETag gets the file", () => {
    const sim = withUi();
    for (const inm of ['"0123456789abcdef"', '"x", "0123456789abcdef"', "*", 'W/"0123456789abcdef"']) {
      const r = req(sim, "GET", "/", { headers: { "If-None-Match": inm } });
      expect([inm, r.status, r.body]).toEqual([inm, 304, ""]);
      expect(r.headers.etag).toBe('"0123456789abcdef"');
    }
    expect(req(sim, "GET", "/", { headers: { "If-None-Match": '"other"' } }).status).toBe(200);
  });

  test("HEAD gets the headers alone; other methods 405; a file missing from flash is a 503 that says to flash again", () => {
    const sim = withUi();
    const cl = sim.connect(80);
    cl.send("HEAD / HTTP/1.1\r\nHost: 192.168.4.1\r\nAccept-Encoding: gzip\r\n\r\n");
    sim.run();
    const h = parseResponses(cl.received, [true]).resps[0];
    expect([h.status, h.headers["content-length"], h.body]).toEqual([200, String(gz.length), ""]);
    const p = req(sim, "POST", "/", { body: {} });
    expect([p.status, p.headers.allow]).toEqual([405, "GET, HEAD"]);
    const gone = req(withUi(false), "GET", "/");
    expect(gone.status).toBe(503);
    expect(gone.body).toMatch(/not in this board's flash.*make flash/);
  });

  test("a client that does not take gzip is told how to ask (the files are stored compressed)", () => {
    const sim = withUi();
    for (const ae of ["identity", ""]) {
      const r = req(sim, "GET", "/", { headers: { "Accept-Encoding": ae } });
      expect([r.status, r.body]).toEqual([406, "this file is stored gzip-compressed: ask with Accept-Encoding: gzip (curl --compressed)\n"]);
    }
  });
});
