/**
 * The configuration UI in a real browser (Debian's Chromium, driven by
 * playwright-core) against the firmware in the emulator, as a person uses it:
 * first boot sets the password; sign in; scan and join a network; change
 * settings and see them survive a power cycle; a wrong value shows the
 * device's message next to its field; export, factory reset, import; sign
 * out; refused without the password. Screenshots of every page at phone and
 * desktop width go to test-output/ (git-ignored).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startEmulator, Emulator } from "../emulator";
import { buildBundle } from "./e2e/harness";
import { PHONE, OUT, launch, shoot as shot } from "./e2e/chromium";

const PW = "browser-pass";

let emu: Emulator;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let data: string;

beforeAll(async () => {
  data = fs.mkdtempSync(path.join(os.tmpdir(), "espweb-browser-"));
  const networks = [
    { ssid: "home", password: "secret123", rssi: -48, channel: 6 },
    { ssid: "cafe", rssi: -71, channel: 1 },
    { ssid: "workshop", password: "tools4all", rssi: -80, channel: 11 },
  ];
  emu = await startEmulator({ bundle: buildBundle("browser", "firmware/main.ts"), port: 0, board: "emulator", data, wifi: { networks, scanMs: 300 }, quiet: true });
  browser = await launch();
  ctx = await browser.newContext({ viewport: PHONE, acceptDownloads: true });
  ctx.setDefaultTimeout(15000);
  page = await ctx.newPage();
  page.on("pageerror", (e) => {
    throw e;
  });
}, 180000);

afterAll(async () => {
  if (browser) await browser.close();
  if (emu) await emu.stop();
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

/** Screenshots of what the page shows now, at phone and desktop width. */
const shoot = (name: string, p: Page = page) => shot(p, name);

async function go(section: string) {
  await page.getByRole("navigation").getByRole("link", { name: section, exact: true }).click();
  await page.getByRole("heading", { level: 2, name: section, exact: true }).waitFor();
}

/** The Settings page shows these values (by field label). */
async function settingsAre(want: { [label: string]: string }) {
  await go("Settings");
  const got: { [label: string]: string } = {};
  for (const l of Object.keys(want)) got[l] = await page.getByLabel(l, { exact: true }).inputValue();
  expect(got).toEqual(want);
}

/** On the first-run screen: the password and its confirmation, then the button. */
async function setPassword(pw: string) {
  await page.getByLabel("Password", { exact: true }).fill(pw);
  await page.getByLabel("Confirm password").fill(pw);
  await page.getByRole("button", { name: "Set password" }).click();
}

async function signIn(p: Page = page) {
  await p.getByRole("heading", { name: "Sign in" }).waitFor();
  await p.getByLabel("Admin password").fill(PW);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.getByRole("navigation").waitFor();
}

describe("the configuration UI in Chromium", () => {
  test("first boot leads to setting the admin password, then to the app", async () => {
    await page.goto(emu.url + "/");
    await page.getByRole("heading", { name: /set an admin password/ }).waitFor();
    await shoot("first-run");
    await setPassword("short");
    await page.getByText("Use at least 8 characters.").waitFor();
    await setPassword(PW);
    await page.getByRole("heading", { level: 2, name: "Status" }).waitFor();
    await page.getByText("Errors since boot").waitFor();
    await shoot("status");
    expect(emu.telnet()).toBe("off");
  }, 60000);

  test("scan, pick a secured network, a wrong password says why, the right one shows the address to use", async () => {
    await go("Wi-Fi");
    await shoot("wifi");
    await page.getByRole("button", { name: "Scan for networks" }).click();
    await page.getByText("3 networks found").waitFor();
    await shoot("wifi-scan");
    await page.getByRole("radio", { name: /home/ }).click();
    await page.getByLabel("Password", { exact: true }).fill("wrongpass1");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText('could not join "home": wrong password').waitFor({ timeout: 20000 });
    await shoot("wifi-failed");
    await page.getByLabel("Password", { exact: true }).fill("secret123");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText(/Joined .home.\. From now on, find the device at:/).waitFor({ timeout: 20000 });
    await page.getByRole("link", { name: /192\.168\.1\.77/ }).waitFor();
    await shoot("wifi-joined");
  }, 60000);

  test("settings: the form comes from the schema, a wrong value shows the device's message next to its field", async () => {
    await go("Settings");
    await page.getByLabel("Device name").waitFor();
    // Filled from the device: the network just joined.
    expect(await page.getByLabel("Network name (SSID)").inputValue()).toBe("home");
    await shoot("settings");
    await page.getByLabel("Device name").fill("-bad name");
    await page.getByRole("button", { name: "Save" }).click();
    const msg = page.getByText(/use letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit/i).first();
    await msg.waitFor();
    const name = page.getByLabel("Device name");
    expect(await name.getAttribute("aria-invalid")).toBe("true");
    const described = (await name.getAttribute("aria-describedby")) || "";
    const texts = await Promise.all(described.split(" ").filter(Boolean).map((id) => page.locator("#" + id).textContent()));
    expect(texts.join(" ")).toMatch(/use letters, digits/i);
    await shoot("settings-error");
  }, 60000);

  test("settings saved survive a power cycle of the board", async () => {
    await page.getByLabel("Device name").fill("greenhouse");
    await page.getByLabel("Measurement interval (s)").fill("300");
    await page.getByLabel("Units").selectOption("imperial");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText(/Saved 3 settings/).waitFor();
    await emu.reboot();
    await page.reload();
    await signIn(); // sessions live in RAM: a power cycle signs everyone out
    await settingsAre({ "Device name": "greenhouse", "Measurement interval (s)": "300", Units: "imperial" });
  }, 60000);

  test("export, factory reset, set up again, import: the settings are back", async () => {
    await go("System");
    await shoot("system");
    const [dl] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export settings" }).click()]);
    const file = path.join(OUT, "exported-settings.json");
    await dl.saveAs(file);
    const doc = JSON.parse(fs.readFileSync(file, "utf8"));
    expect(doc).toMatchObject({ format: "espweb-config", settings: { name: "greenhouse", interval: 300, staSsid: "home" } });
    expect(JSON.stringify(doc)).not.toContain("secret123");

    await page.getByRole("button", { name: "Factory reset…" }).click();
    await page.getByRole("dialog").waitFor();
    await shoot("system-reset-dialog");
    await page.getByRole("button", { name: "Erase and restart" }).click();
    await page.getByRole("heading", { name: /set an admin password/ }).waitFor({ timeout: 30000 });
    await setPassword(PW);
    await settingsAre({ "Device name": "espweb" });

    await go("System");
    await page.getByLabel("Settings file").setInputFiles(file);
    await page.getByRole("button", { name: "Import" }).click();
    await page.getByText("Settings imported.").waitFor();
    await settingsAre({ "Device name": "greenhouse", "Network name (SSID)": "home" });
  }, 90000);

  test("the security and update pages", async () => {
    await go("Security");
    await shoot("security");
    await go("Update");
    await shoot("update");
  }, 60000);

  test("sign out; a wrong password is refused; nothing is reachable without the password", async () => {
    await go("Security");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await shoot("sign-in");
    const api = await page.evaluate(async () => (await fetch("/api/config")).status);
    expect(api).toBe(401);
    await page.getByLabel("Admin password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText(/wrong password/i).first().waitFor({ timeout: 10000 });
    await shoot("sign-in-wrong");

    // A stranger's browser: the sign-in screen, no data, no changes.
    const other = await browser.newContext({ viewport: PHONE });
    const p = await other.newPage();
    await p.goto(emu.url + "/#/settings");
    await p.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await p.getByLabel("Device name").count()).toBe(0);
    const put = await p.evaluate(async () => (await fetch("/api/config", { method: "PUT", headers: { "content-type": "application/json" }, body: '{"name":"pwned"}' })).status);
    expect(put).toBe(401);
    await other.close();
  }, 60000);

  test("with the keyboard alone: sign in, reach a section through the navigation, save a setting", async () => {
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // The password field has the focus: type, Enter.
    await page.keyboard.type(PW);
    await page.keyboard.press("Enter");
    await page.getByRole("navigation").waitFor();
    const focused = () => page.evaluate<string>('document.activeElement ? (document.activeElement.textContent || "").trim() : ""');
    await page.keyboard.press("Shift+Tab"); // to the top of the page
    let hops = 0;
    while ((await focused()) !== "Settings" && hops++ < 20) await page.keyboard.press("Tab");
    expect(await focused()).toBe("Settings");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 2, name: "Settings" }).waitFor();
    await page.getByLabel("Device name").waitFor();
    hops = 0;
    const nameId = await page.getByLabel("Device name").getAttribute("id");
    while ((await page.evaluate<string>('document.activeElement ? document.activeElement.id : ""')) !== nameId && hops++ < 20) await page.keyboard.press("Tab");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("keyboard-only");
    await page.keyboard.press("Enter"); // Enter in a field submits its form
    await page.getByText(/Saved 1 setting/).waitFor();
    expect(await page.getByLabel("Device name").inputValue()).toBe("keyboard-only");
  }, 60000);

  test("a cold page load transfers the gzipped files; a warm one gets 304s", async () => {
    const fresh = await browser.newContext({ viewport: PHONE });
    const p = await fresh.newPage();
    const seen: { url: string; status: number; bytes: number }[] = [];
    p.on("response", async (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith("/api/") || r.request().method() !== "GET") return;
      const h = await r.allHeaders();
      seen.push({ url: u.pathname, status: r.status(), bytes: Number(h["content-length"] || 0) });
    });
    await p.goto(emu.url + "/");
    await p.getByRole("heading", { name: "Sign in" }).waitFor();
    const cold = seen.splice(0);
    await p.reload();
    await p.getByRole("heading", { name: "Sign in" }).waitFor();
    const warm = seen.splice(0);
    await fresh.close();
    // eslint-disable-next-line no-console
    console.log("page load: cold " + JSON.stringify(cold) + "; warm " + JSON.stringify(warm));
    expect(cold.map((r) => [r.url, r.status]).sort()).toEqual([["/", 200], ["/app.css", 200], ["/app.js", 200]]);
    expect(warm.every((r) => r.status === 304 || r.status === 200)).toBe(true);
    expect(warm.filter((r) => r.status === 304).length).toBeGreaterThanOrEqual(1);
  }, 60000);
});
