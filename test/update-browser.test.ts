/**
 * The update page in Chromium against the firmware in the emulator, as a
 * person uses it: pick the app file, watch the upload, see the device restart
 * into it and confirm itself; return to the previous app; an app that fails
 * comes back with why; a file that is not an app is refused before sending;
 * with an update key the page signs the file. Screenshots at phone and desktop
 * width go to test-output/.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Browser, Page } from "playwright-core";
import type { Emulator } from "../emulator";
import { appVariant, boot, buildBundle, PASSWORD, AUTH } from "./e2e/harness";
import { PHONE, launch, shoot as shot } from "./e2e/chromium";

let emu: Emulator;
let bundle: string;
let browser: Browser;
let page: Page;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "espweb-update-ui-"));
  bundle = buildBundle("update-browser");
  emu = await boot(bundle);
  browser = await launch();
  const ctx = await browser.newContext({ viewport: PHONE });
  ctx.setDefaultTimeout(20000);
  page = await ctx.newPage();
  page.on("pageerror", (e) => {
    throw e;
  });
}, 180000);

afterAll(async () => {
  if (browser) await browser.close();
  if (emu) await emu.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const shoot = (name: string) => shot(page, name);

/** A file for the picker. */
function file(name: string, data: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
}

async function install(f: string) {
  await page.getByLabel("App file").setInputFiles(f);
  await page.getByRole("button", { name: "Upload and install" }).click();
}

/** The "Running" row of the page's state. */
const running = () => page.locator("dt", { hasText: "Running" }).locator("xpath=following-sibling::dd").first();

test("sign in and open the update page: the flashed app, confirmed, nothing kept", async () => {
  await page.goto(emu.url + "/#/update");
  await page.getByLabel("Admin password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 2, name: "Update" }).waitFor();
  await page.getByText("0.1.0 — confirmed").waitFor();
  await page.getByText("No previous app is kept on this device.").waitFor();
  await shoot("update");
}, 60000);

test("a good update: the upload's progress, the restart, then the new app confirmed", async () => {
  const seen: number[] = [];
  await page.exposeFunction("progressSeen", (v: number) => seen.push(v));
  // Every value the page gives the progress bar, as the upload goes.
  await page.evaluate(() => {
    const w = globalThis as any;
    const desc = Object.getOwnPropertyDescriptor(w.HTMLProgressElement.prototype, "value")!;
    Object.defineProperty(w.document.querySelector("progress"), "value", {
      set(v) {
        desc.set!.call(this, v);
        w.progressSeen(v);
      },
      get() {
        return desc.get!.call(this);
      },
    });
  });
  await install(file("app-0.1.1.js", appVariant(bundle, "0.1.1")));
  await page.getByText("The device checked 0.1.1 and restarts into it.").waitFor();
  await page.getByText(/0\.1\.1 runs on trial|0\.1\.1 runs and has confirmed itself/).waitFor({ timeout: 30000 });
  await shoot("update-trial");
  await page.getByText("0.1.1 runs and has confirmed itself.").waitFor({ timeout: 30000 });
  await expectRunning("0.1.1 — confirmed");
  await page.getByRole("button", { name: "Return to 0.1.0…" }).waitFor();
  expect(seen.length).toBeGreaterThan(0);
  expect(Math.max(...seen)).toBeGreaterThan(50000);
  await shoot("update-done");
}, 90000);

async function expectRunning(text: string) {
  await expect(running().textContent()).resolves.toBe(text);
}

test("return to the previous app: asked in a dialog, the device restarts into it", async () => {
  await page.getByRole("button", { name: "Return to 0.1.0…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Return and restart" }).click();
  await page.getByText("The device runs 0.1.0 again.").waitFor({ timeout: 30000 });
  await page.getByText("0.1.0 — confirmed").waitFor();
  await page.getByText("0.1.1 → 0.1.0: asked through the API").waitFor();
}, 60000);

test("an app that throws after start: the page says the device went back, and why", async () => {
  await install(file("app-0.2.0.js", appVariant(bundle, "0.2.0", { after: ';setTimeout(function(){throw new Error("late failure")},2000);' })));
  await page.getByText(/The device went back to 0\.1\.0: 0\.2\.0 failed \(uncaught error: Error: late failure\)\./).waitFor({ timeout: 60000 });
  await shoot("update-back");
}, 90000);

test("a file that is not an app is refused before anything is sent", async () => {
  await install(file("notes.js", new Uint8Array(Buffer.from("console.log('hello')"))));
  await page.getByText("This is not an espweb app: its first line is not /*espweb <version> <board>*/.").waitFor();
  const s = (await fetch(emu.url + "/api/update", { headers: { authorization: AUTH.slice(15, -2), connection: "close" } }).then((r) => r.json())) as any;
  expect(s.receiving).toBeNull();
}, 30000);

test("with an update key set, the page signs the file with the key typed in", async () => {
  const key = "browser-update-key-123";
  const r = await fetch(emu.url + "/api/config", { method: "PUT", headers: { authorization: AUTH.slice(15, -2), "content-type": "application/json", connection: "close" }, body: JSON.stringify({ updateKey: key }) });
  expect(r.status).toBe(200);
  // The restarts ended the browser's session (sessions live in RAM): a reload asks to sign in again.
  await page.reload();
  await page.getByLabel("Admin password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 2, name: "Update" }).waitFor();
  await page.getByText("required (an update key is set)").waitFor();
  await page.getByLabel("Update key").fill("not-the-right-key-000");
  await install(file("app-0.3.0.js", appVariant(bundle, "0.3.0")));
  await page.getByText(/the signature does not match/i).waitFor();
  await page.getByLabel("Update key").fill(key);
  await page.getByRole("button", { name: "Upload and install" }).click();
  await page.getByText("0.3.0 runs and has confirmed itself.").waitFor({ timeout: 60000 });
}, 90000);
