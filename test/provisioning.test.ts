/**
 * First-boot provisioning in the emulator, as a phone lives it: Chromium with
 * every host name and address mapped to the emulated board (a phone on the
 * board's access point reaches only the board), the captive portal's
 * redirect from the phone's connectivity probe, the first-boot steps, the
 * join with the new address and the countdown, the access point going off
 * after the grace period, and coming back when the home network goes away.
 * The DNS responder is asked by a real DNS client (Node's resolver) on the
 * emulator's UDP port.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Resolver } from "dns/promises";
import type { Browser, Page } from "playwright-core";
import { startEmulator, Emulator } from "../emulator";
import { buildBundle, eventually } from "./e2e/harness";
import { OUT, launch } from "./e2e/chromium";

const PW = "portal-pass";
const AUTHZ = "Basic " + Buffer.from("admin:" + PW).toString("base64");

let emu: Emulator;
let browser: Browser;
let page: Page;
let data: string;

beforeAll(async () => {
  data = fs.mkdtempSync(path.join(os.tmpdir(), "espweb-portal-"));
  const networks = [
    { ssid: "home", password: "secret123", rssi: -48, channel: 6 },
    { ssid: "neighbour", password: "whatever1", rssi: -82, channel: 1 },
  ];
  emu = await startEmulator({ bundle: buildBundle("portal", "firmware/main.ts"), port: 0, board: "emulator", data, dnsPort: 0, wifi: { networks, scanMs: 300 }, quiet: true });
  ({ browser, page } = await phoneOn(emu.port));
}, 180000);

/** A phone on the board's access point: Chromium with every host name and address mapped to the emulated board on `port`. */
async function phoneOn(port: number): Promise<{ browser: Browser; page: Page }> {
  const b = await launch(["--host-rules=MAP * 127.0.0.1:" + port]);
  const ctx = await b.newContext({ viewport: { width: 390, height: 844 } });
  ctx.setDefaultTimeout(20000);
  return { browser: b, page: await ctx.newPage() };
}

afterAll(async () => {
  if (browser) await browser.close();
  if (emu) await emu.stop();
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

/** A request of the test's own: the browser's keep-alive connections may hold every slot for a moment, so a 503 "all slots busy" is retried after its Retry-After, as the UI does. */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  for (let i = 0; ; i++) {
    const r = await fetch(emu.url + path, { ...init, headers: { authorization: AUTHZ, connection: "close", ...(init.headers || {}) } });
    if (r.status !== 503 || i === 20) return r;
    await r.text();
    await new Promise((res) => setTimeout(res, 1000 * (+(r.headers.get("retry-after") || 1))));
  }
}

async function status(): Promise<any> {
  return (await call("/api/status")).json();
}

describe("first boot on a phone", () => {
  test("the DNS responder answers every name with the access point's address, AAAA with nothing", async () => {
    const r = new Resolver({ timeout: 2000, tries: 2 });
    r.setServers(["127.0.0.1:" + emu.udpPorts[53]]);
    for (const name of ["connectivitycheck.gstatic.com", "captive.apple.com", "www.msftconnecttest.com", "example.org"]) {
      expect(await r.resolve4(name, { ttl: true })).toEqual([{ address: "192.168.4.1", ttl: 30 }]);
    }
    await expect(r.resolve6("captive.apple.com")).rejects.toMatchObject({ code: "ENODATA" });
    // Throughput of the responder in the emulator, for the record.
    // 4 at a time: lwIP queues at most 6 datagrams per UDP socket (CONFIG_LWIP_UDP_RECVMBOX_SIZE), more are dropped.
    const t0 = process.hrtime.bigint();
    const n = 400;
    let next = 0;
    const worker = async () => {
      while (next < n) expect(await r.resolve4("host" + next++ + ".example")).toEqual(["192.168.4.1"]);
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    // eslint-disable-next-line no-console
    console.log("dns: " + n + " queries in " + s.toFixed(2) + " s (" + Math.round(n / s) + " per second), 4 at a time");
  }, 30000);

  test("the phone's probe is redirected to the board, which opens the first-boot steps", async () => {
    await page.goto("http://connectivitycheck.gstatic.com/generate_204");
    expect(page.url()).toBe("http://192.168.4.1/");
    await page.getByRole("heading", { name: /set an admin password/ }).waitFor();
    await page.screenshot({ path: path.join(OUT, "phone-portal-first-run.png") });
    await page.getByLabel("Password", { exact: true }).fill(PW);
    await page.getByLabel("Confirm password").fill(PW);
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByRole("heading", { level: 2, name: "Status" }).waitFor();
    expect((await status()).wifi).toMatchObject({ state: "ap", mode: "ap", apSsid: expect.stringMatching(/^espweb-[0-9A-F]{4}$/), apIp: "192.168.4.1" });
  }, 60000);

  test("join the home network: the new address and the countdown are shown, then the access point goes", async () => {
    // Short grace and fallback, so the test does not wait a minute for each.
    const put = await call("/api/config", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ apGrace: 10, fallback: 10 }) });
    expect(put.status).toBe(200);
    await page.getByRole("navigation").getByRole("link", { name: "Wi-Fi", exact: true }).click();
    await page.getByRole("button", { name: "Scan for networks" }).click();
    await page.getByRole("radio", { name: /home/ }).click();
    await page.getByLabel("Password", { exact: true }).fill("secret123");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText(/From now on, find the device at:/).waitFor();
    await page.getByRole("link", { name: "http://192.168.1.77/" }).waitFor();
    await page.getByText(/own network stays on for another \d+ s/).waitFor();
    await page.screenshot({ path: path.join(OUT, "phone-portal-joined.png") });
    expect((await status()).wifi).toMatchObject({ state: "grace", mode: "ap+sta", ip: "192.168.1.77" });
    expect(emu.wifi.state().ap).not.toBeNull();
    await eventually(async () => (await status()).wifi.state === "sta", 100, 200);
    await eventually(async () => emu.wifi.state().ap === null, 50, 100);
    // Station only: another site's name is no longer sent to the portal.
    const probe = await call("/generate_204", { headers: { host: "connectivitycheck.gstatic.com" }, redirect: "manual" });
    expect(probe.status).toBe(404);
  }, 60000);

  test("the home network goes away: the access point and portal come back; it returns: the board rejoins and the access point goes again", async () => {
    emu.wifi.networkGone("home");
    await eventually(async () => (await status()).wifi.state === "fallback", 100, 200);
    await eventually(async () => emu.wifi.state().ap !== null, 50, 100); // the radio's AP is up a moment after it is asked for
    await page.goto("http://captive.apple.com/hotspot-detect.html");
    expect(page.url()).toBe("http://192.168.4.1/");
    emu.wifi.networkBack("home");
    await eventually(async () => (await status()).wifi.state === "sta", 150, 200);
    await eventually(async () => emu.wifi.state().ap === null, 50, 100);
    expect((await status()).wifi).toMatchObject({ ssid: "home", ip: "192.168.1.77" });
  }, 90000);
});

describe("a captive-portal sheet that keeps no cookie", () => {
  test("the first-boot steps still work: the page signs its calls with the password typed on it", async () => {
    const sheetEmu = await startEmulator({ bundle: buildBundle("portal", "firmware/main.ts"), port: 0, board: "emulator", dnsPort: 0, wifi: { networks: [{ ssid: "home", password: "secret123" }], scanMs: 300 }, quiet: true });
    const sheet = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      sheet.setDefaultTimeout(20000);
      // Every Set-Cookie dropped, as such sheets may do.
      await sheet.route("**/*", async (route) => {
        // Fetched by the test on the page's behalf (to the emulated board, the page's Host kept), then handed back without cookies.
        const u = new URL(route.request().url());
        const resp = await route.fetch({ url: sheetEmu.url + u.pathname + u.search, headers: { ...route.request().headers(), host: u.host } });
        const headers = { ...resp.headers() };
        delete headers["set-cookie"];
        await route.fulfill({ response: resp, headers });
      });
      const p = await sheet.newPage();
      await p.goto("http://192.168.4.1/");
      await p.getByLabel("Password", { exact: true }).fill(PW);
      await p.getByLabel("Confirm password").fill(PW);
      await p.getByRole("button", { name: "Set password" }).click();
      await p.getByRole("heading", { level: 2, name: "Status" }).waitFor();
      await p.getByText("Errors since boot").waitFor(); // the signed-in status: the call carried the password
      await p.getByRole("navigation").getByRole("link", { name: "Wi-Fi", exact: true }).click();
      await p.getByRole("button", { name: "Scan for networks" }).click();
      await p.getByText("1 network found").waitFor();
      expect(await p.getByRole("heading", { name: "Sign in" }).count()).toBe(0);
    } finally {
      await sheet.close();
      await sheetEmu.stop();
    }
  }, 90000);
});

describe("first boot of an ESP32-C3 (no AP+STA: it switches)", () => {
  let c3: Emulator;
  let phone: Browser;
  let cpage: Page;

  beforeAll(async () => {
    const networks = [{ ssid: "home", password: "secret123", rssi: -48, channel: 6 }];
    c3 = await startEmulator({ bundle: buildBundle("portal-c3", "firmware/main.ts", "esp32c3"), port: 0, board: "esp32c3", dnsPort: 0, wifi: { networks, scanMs: 300 }, quiet: true });
    // A second phone, that sees only the C3.
    ({ browser: phone, page: cpage } = await phoneOn(c3.port));
  }, 180000);

  afterAll(async () => {
    if (phone) await phone.close();
    if (c3) await c3.stop();
  });

  test("the page says where to go before the board leaves its access point; then it is a station only", async () => {
    await cpage.goto("http://connectivitycheck.gstatic.com/generate_204");
    expect(cpage.url()).toBe("http://192.168.4.1/");
    await cpage.getByLabel("Password", { exact: true }).fill(PW);
    await cpage.getByLabel("Confirm password").fill(PW);
    await cpage.getByRole("button", { name: "Set password" }).click();
    await cpage.getByRole("navigation").getByRole("link", { name: "Wi-Fi", exact: true }).click();
    await cpage.getByRole("button", { name: "Scan for networks" }).click();
    await cpage.getByRole("radio", { name: /home/ }).click();
    await cpage.getByLabel("Password", { exact: true }).fill("secret123");
    await cpage.getByRole("button", { name: "Connect" }).click();
    await cpage.getByText(/The device now leaves “espweb-[0-9A-F]{4}” and joins “home”/).waitFor();
    await cpage.getByText(/Connect this phone or computer to “home”/).waitFor();
    await cpage.screenshot({ path: path.join(OUT, "phone-portal-c3-switching.png") });
    await eventually(async () => c3.wifi.state().ap === null && c3.wifi.state().ip === "192.168.1.77", 100, 100);
    const s: any = await (await fetch(c3.url + "/api/status", { headers: { authorization: AUTHZ, connection: "close" } })).json();
    expect(s.wifi).toMatchObject({ state: "sta", mode: "sta", ssid: "home", apsta: false });
  }, 90000);
});
