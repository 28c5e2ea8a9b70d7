/**
 * App updates end to end: the firmware in the emulator, booted by its boot
 * loader from the build's flash image, updated over real sockets. A good app
 * runs and confirms itself; apps that throw at start, throw later or hang are
 * sent back within their trial and the API says why; every refusal (checksum,
 * signature, length, size, a second upload, a cut upload, the wrong board, not
 * an app) leaves the running app and its slot as they were.
 */
import type { Emulator } from "../emulator";
import { createHmac } from "crypto";
import { AUTH, appVariant, boot, buildBundle, exchange, raw, sha256, untilUpdate } from "./e2e/harness";

let emu: Emulator;
let bundle: string;
const BASIC = AUTH.slice(15, -2);

beforeAll(async () => {
  bundle = buildBundle("update");
  emu = await boot(bundle);
}, 120000);

afterAll(async () => {
  if (emu) await emu.stop();
});

async function call(method: string, path: string, body?: Uint8Array | string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const r = await fetch(emu.url + path, { method, headers: { authorization: BASIC, connection: "close", ...headers }, body });
  const text = await r.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch (e) {
    json = { text };
  }
  return { status: r.status, json };
}

/** POST an app with its checksum (and more headers). */
function send(app: Uint8Array, headers: Record<string, string> = {}) {
  return call("POST", "/api/update", app, { "content-type": "application/octet-stream", "x-update-sha256": sha256(app), ...headers });
}

/** GET /api/update, once the board answers. */
async function state(): Promise<any> {
  const s = await untilUpdate(emu, () => true, 20000);
  if (!s) throw new Error("the board does not answer GET /api/update");
  return s;
}

/** Poll the update state until `pred` holds (the board restarts meanwhile); the state. */
async function until(pred: (s: any) => boolean, ms: number): Promise<any> {
  const s = await untilUpdate(emu, pred, ms);
  if (!s || !pred(s)) throw new Error("state not reached in " + ms + " ms; last: " + JSON.stringify(s));
  return s;
}

const confirmed = (v: string) => (s: any) => s.running.version === v && s.state === "confirmed";

test("before any update: the flashed app runs confirmed, with nothing kept", async () => {
  const s = await state();
  expect(s).toMatchObject({ running: { version: "0.1.0", slot: 0 }, state: "confirmed", previous: null, back: null, receiving: null, signed: false });
  expect(s.room).toBeGreaterThan(60000);
});

test("a good update: answered, then the board restarts into it on trial, and it confirms itself", async () => {
  await call("PUT", "/api/config", JSON.stringify({ name: "kept-name" }), { "content-type": "application/json" });
  const app = appVariant(bundle, "0.1.1");
  const r = await send(app);
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ ok: true, version: "0.1.1", bytes: app.length, sha256: sha256(app), restarting: true });
  const t = await until((s) => s.running.version === "0.1.1", 15000);
  expect(t).toMatchObject({ running: { version: "0.1.1", slot: 1 }, state: "trial", previous: { version: "0.1.0", slot: 0 } });
  expect(t.confirmIn).toBeGreaterThan(0);
  const c = await until(confirmed("0.1.1"), 15000);
  expect(c).toMatchObject({ previous: { version: "0.1.0", slot: 0 }, back: null });
  const st = await call("GET", "/api/status");
  expect(st.json).toMatchObject({ version: "0.1.1", name: "kept-name" });
  expect(emu.logs.join("\n")).toMatch(/update: 0\.1\.1 confirmed itself/);
}, 60000);

test("return to the previous app: the board runs it again, and can go forward again", async () => {
  const r = await call("POST", "/api/update/rollback", "{}", { "content-type": "application/json" });
  expect(r.status).toBe(202);
  const s = await until(confirmed("0.1.0"), 15000);
  expect(s).toMatchObject({ running: { slot: 0 }, previous: { version: "0.1.1", slot: 1 }, back: { from: "0.1.1", to: "0.1.0", why: "asked through the API" } });
}, 30000);

describe("an app that fails is sent back within its trial, and the API says why", () => {
  const cases: [string, { before?: string; after?: string }, RegExp][] = [
    ["it throws at start", { before: 'throw new Error("broken at start");' }, /^threw at start: Error: broken at start/],
    ["it throws two seconds after start", { after: ';setTimeout(function(){throw new Error("late failure")},2000);' }, /^uncaught error: Error: late failure/],
    ["it hangs (the watchdog restarts the board, twice)", { after: ";setTimeout(function(){for(;;){}},2000);" }, /did not confirm itself: it hung \(the watchdog restarted the board\)/],
  ];
  test.each(cases)("%s", async (_name, code, why) => {
    const before = await state();
    const app = appVariant(bundle, "0.2.0", code);
    expect((await send(app)).status).toBe(200);
    const s = await until((x) => x.back && x.back.from === "0.2.0", 75000);
    expect(s.running).toEqual(before.running);
    expect(s.state).toBe("confirmed");
    expect(s.back.to).toBe(before.running.version);
    expect(s.back.why).toMatch(why);
    // The failed app's slot is reclaimed; the UI is served.
    expect(s.previous).toBeNull();
    expect(emu.storage.read("app." + (1 - s.running.slot))).toBeNull();
    expect((await fetch(emu.url + "/", { headers: { "accept-encoding": "gzip", connection: "close" } })).status).toBe(200);
  }, 90000);
});

describe("refusals change nothing", () => {
  let before: any;
  beforeEach(async () => {
    before = await state();
  });
  afterEach(async () => {
    const s = await state();
    expect(s.running).toEqual(before.running);
    expect(s.state).toBe("confirmed");
    expect(s.receiving).toBeNull();
    expect(emu.storage.read("app." + (1 - s.running.slot))).toBeNull();
  });

  test("a wrong checksum: 400 with what was expected and what arrived", async () => {
    const app = appVariant(bundle, "0.3.0");
    const r = await send(app, { "x-update-sha256": sha256(new Uint8Array(Buffer.from("something else"))) });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: expect.stringMatching(/SHA-256 does not match/), expected: sha256(new Uint8Array(Buffer.from("something else"))), actual: sha256(app) });
  });

  test("no checksum, or not one: 400 before the body is read", async () => {
    const app = appVariant(bundle, "0.3.0");
    for (const h of [{}, { "x-update-sha256": "abc" }] as Record<string, string>[]) {
      const r = await call("POST", "/api/update", app, { "content-type": "application/octet-stream", ...h });
      expect(r.status).toBe(400);
      expect(r.json.error).toMatch(/X-Update-SHA256/);
    }
  });

  test("no length (chunked): 411", async () => {
    const res = await exchange(emu.port, "POST /api/update HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH + "X-Update-SHA256: " + "0".repeat(64) + "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    expect(res.data).toMatch(/^HTTP\/1\.1 411 Length Required\r\n/);
    expect(res.data).toMatch(/Content-Length/);
  });

  test("too large: 413 with the room there is, before a byte is stored", async () => {
    const res = await exchange(emu.port, "POST /api/update HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH + "X-Update-SHA256: " + "0".repeat(64) + "\r\nContent-Length: 5000000\r\n\r\n");
    expect(res.data).toMatch(/^HTTP\/1\.1 413 /);
    expect(res.data).toMatch(/the app is 5000000 bytes; this board has room for \d+/);
  });

  test("not an espweb app, or one for another board: 400", async () => {
    const js = new Uint8Array(Buffer.from("print('hello');".repeat(10), "latin1"));
    let r = await send(js);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/not an espweb app/);
    r = await send(appVariant(bundle, "0.3.0", { board: "esp32c3" }));
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/built for esp32c3; this board runs the emulator build/);
  });

  test("signed out: 401; from another site: 403", async () => {
    const app = appVariant(bundle, "0.3.0");
    let r = await call("POST", "/api/update", app, { authorization: "", "x-update-sha256": sha256(app) });
    expect(r.status).toBe(401);
    r = await send(app, { origin: "http://evil.example" });
    expect(r.status).toBe(403);
  });

  test("an upload cut in the middle: the slot is reclaimed", async () => {
    const app = appVariant(bundle, "0.3.0");
    const c = await raw(emu.port, "POST /api/update HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH + "X-Update-SHA256: " + sha256(app) + "\r\nContent-Length: " + app.length + "\r\n\r\n");
    c.sock.write(app.subarray(0, 20000));
    const mid = await until((s) => s.receiving && s.receiving.bytes === 20000, 5000);
    expect(mid.receiving).toEqual({ bytes: 20000, of: app.length });
    c.sock.destroy();
    await until((s) => s.receiving === null, 5000);
    expect(emu.logs.join("\n")).toMatch(/update: discarded app\.\d: the upload was cut after 20000 of \d+ bytes/);
  });

  test("two uploads at once: the second is 409 while the first goes on", async () => {
    const app = appVariant(bundle, "0.3.0");
    const bad = sha256(new Uint8Array([120])); // the first one ends refused, so nothing changes
    const c = await raw(emu.port, "POST /api/update HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH + "X-Update-SHA256: " + bad + "\r\nContent-Length: " + app.length + "\r\n\r\n");
    c.sock.write(app.subarray(0, 1000));
    await until((s) => s.receiving !== null, 5000);
    const r = await send(app);
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/another update is being received/);
    c.sock.write(app.subarray(1000));
    const got = await c.until((s) => /\r\n\r\n\{.*\}$/.test(s));
    expect(got).toMatch(/^HTTP\/1\.1 400 /);
    c.sock.destroy();
  });
});

test("with an update key, only a file signed with it is taken (HMAC-SHA256 over the file)", async () => {
  const key = "a-long-update-key-0123456789";
  expect((await call("PUT", "/api/config", JSON.stringify({ updateKey: key }), { "content-type": "application/json" })).status).toBe(200);
  expect((await state()).signed).toBe(true);
  const app = appVariant(bundle, "0.4.0");
  let r = await send(app);
  expect(r.status).toBe(403);
  expect(r.json.error).toMatch(/only signed updates/);
  r = await send(app, { "x-update-signature": createHmac("sha256", "another-key-0123456789").update(app).digest("hex") });
  expect(r.status).toBe(403);
  expect(r.json.error).toMatch(/signature does not match/);
  expect((await state()).receiving).toBeNull();
  r = await send(app, { "x-update-signature": createHmac("sha256", key).update(app).digest("hex") });
  expect(r.status).toBe(200);
  await until(confirmed("0.4.0"), 20000);
  // The key is a secret: never returned.
  const cfg = await call("GET", "/api/config");
  expect(JSON.stringify(cfg.json)).not.toContain(key);
  expect((await call("PUT", "/api/config", JSON.stringify({ updateKey: "" }), { "content-type": "application/json" })).status).toBe(200);
}, 60000);

test("during a trial a second update is refused (409), and the trial can be ended by returning at once", async () => {
  const before = await state();
  expect((await send(appVariant(bundle, "0.5.0"))).status).toBe(200);
  await until((s) => s.running.version === "0.5.0" && s.state === "trial", 15000);
  const r = await send(appVariant(bundle, "0.5.1"));
  expect(r.status).toBe(409);
  expect(r.json.error).toMatch(/on trial/);
  expect((await call("POST", "/api/update/rollback", "{}", { "content-type": "application/json" })).status).toBe(202);
  const s = await until((x) => x.running.version === before.running.version && x.back && x.back.from === "0.5.0", 15000);
  expect(s.back.why).toBe("asked through the API");
  expect(s.state).toBe("confirmed");
}, 60000);

test("nothing in the console but what an update says: no uncaught error reached the interpreter", () => {
  expect(emu.errors).toEqual([]);
});
