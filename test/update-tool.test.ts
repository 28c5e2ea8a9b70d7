/**
 * `make update` (tools/update.mjs) against the firmware in the emulator: it
 * sends the bundle with its checksum (and signature), prints progress and the
 * final state after the restart; every failure is one line and a non-zero exit.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { Emulator } from "../emulator";
import { AUTH, PASSWORD, ROOT, appVariant, boot, buildBundle } from "./e2e/harness";

const TOOL = path.join(ROOT, "tools", "update.mjs");
let emu: Emulator;
let bundle: string;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "espweb-update-tool-"));
  bundle = buildBundle("update-tool");
  emu = await boot(bundle);
}, 120000);

afterAll(async () => {
  if (emu) await emu.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TOOL].concat(args), { cwd: ROOT, env: { ...process.env, PASSWORD: "", UPDATE_KEY: "", ...env } });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => resolve({ code: code === null ? -1 : code, out, err }));
  });
}

function app(version: string, o: { before?: string; after?: string } = {}): string {
  const f = path.join(dir, "app-" + version + ".js");
  fs.writeFileSync(f, appVariant(bundle, version, o));
  return f;
}

const host = () => "127.0.0.1:" + emu.port;
const oneLine = (r: { err: string }) => expect(r.err.trim().split("\n")).toHaveLength(1);

test("an update: progress, the check, the restart on trial, then confirmed (exit 0)", async () => {
  const r = await run(["--board", "emulator", "--host", host(), "--bundle", app("0.1.1")], { PASSWORD });
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/runs 0\.1\.0 \(confirmed\); sending 0\.1\.1 for emulator, \d+ bytes/);
  expect(r.out).toMatch(/sent 100% \(\d+ bytes\)/);
  expect(r.out).toMatch(/the board checked 0\.1\.1 .* restarts into it on trial/);
  expect(r.out).toMatch(/runs 0\.1\.1, confirmed\n$/);
}, 60000);

test("an app that throws at start: the board goes back, and the tool says why (exit 1)", async () => {
  const r = await run(["--board", "emulator", "--host", host(), "--bundle", app("0.2.0", { before: 'throw new Error("broken at start");' })], { PASSWORD });
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/^update: the board went back to 0\.1\.1 \(0\.2\.0 failed: threw at start: Error: broken at start\)/);
  oneLine(r);
}, 60000);

test("signed updates: without the key it stops before sending; with it the update goes through", async () => {
  const key = "tool-update-key-0123";
  const put = await fetch(emu.url + "/api/config", { method: "PUT", headers: { authorization: AUTH.slice(15, -2), "content-type": "application/json", connection: "close" }, body: JSON.stringify({ updateKey: key }) });
  expect(put.status).toBe(200);
  let r = await run(["--board", "emulator", "--host", host(), "--bundle", app("0.3.0")], { PASSWORD });
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/takes only signed updates: give its key, UPDATE_KEY=/);
  r = await run(["--board", "emulator", "--host", host(), "--bundle", app("0.3.0")], { PASSWORD, UPDATE_KEY: "a-wrong-key-000000" });
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/the board refused the update: the signature does not match/);
  r = await run(["--board", "emulator", "--host", host(), "--bundle", app("0.3.0")], { PASSWORD, UPDATE_KEY: key });
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/runs 0\.3\.0, confirmed/);
}, 90000);

describe("failures: one line, a non-zero exit, nothing sent", () => {
  test("no HOST (exit 2)", async () => {
    const r = await run(["--board", "emulator", "--host", ""]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/HOST is missing/);
    oneLine(r);
  });
  test("a HOST that is not an address (exit 2)", async () => {
    const r = await run(["--board", "emulator", "--host", "http://x y:99999"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not an address/);
    oneLine(r);
  });
  test("a file that is not an app (exit 2)", async () => {
    const f = path.join(dir, "notes.js");
    fs.writeFileSync(f, "print(1)");
    const r = await run(["--board", "emulator", "--host", host(), "--bundle", f], { PASSWORD });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not an espweb app bundle/);
    oneLine(r);
  });
  test("a wrong password (exit 1)", async () => {
    const r = await run(["--board", "emulator", "--host", host(), "--bundle", app("0.4.0")], { PASSWORD: "not-the-password" });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the board refused the password/);
    oneLine(r);
  });
  test("nothing listening there (exit 1)", async () => {
    const srv = net.createServer();
    await new Promise<void>((res) => srv.listen(0, "127.0.0.1", () => res()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((res) => srv.close(() => res()));
    const r = await run(["--board", "emulator", "--host", "127.0.0.1:" + port, "--bundle", app("0.4.0")], { PASSWORD });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    oneLine(r);
  });
});
