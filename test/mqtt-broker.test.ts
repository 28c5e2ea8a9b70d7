/**
 * The firmware (firmware/main.ts, the emulator board) against a real
 * Mosquitto broker with a password file: refused with wrong credentials and
 * saying why on the status page; availability, retained state and Home
 * Assistant discovery seen by a subscriber; settings changed over MQTT,
 * validated, applied, persisted and reported (and a bad change refused with
 * its field errors); the group topic; a broker restart (the web UI answers
 * meanwhile, the client backs off and comes back, a change made while the
 * broker was down reaches a subscriber with a persistent QoS 1 session); the
 * last will when the board dies.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { MqttClient } from "mqtt";
import { startEmulator, Emulator } from "../emulator";
import { buildBundle } from "./e2e/harness";
import { Broker, broker, client } from "./e2e/broker";
import { until } from "./e2e/emulators";
import { PHONE, launch, shoot } from "./e2e/chromium";

const PW = "mqtt-e2e-admin";
const AUTHZ = "Basic " + Buffer.from("admin:" + PW).toString("base64");
const BASE = "espweb/kitchen";

let b: Broker;
let emu: Emulator;
let data: string;
let sub: MqttClient;
/** Every message the test's subscriber got, in order, and the last one per topic. */
const got: { topic: string; payload: string; retain: boolean }[] = [];
const last: { [topic: string]: string } = {};

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(emu.url + p, {
    method,
    headers: { authorization: AUTHZ, "content-type": "application/json", origin: emu.url, connection: "close" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const t = await r.text();
  return { status: r.status, json: t ? JSON.parse(t) : null };
}

const mqttState = async () => (await api("GET", "/api/status")).json.mqtt;

beforeAll(async () => {
  b = await broker({ board: "board-pass", ha: "ha-pass" });
  await b.start();
  data = fs.mkdtempSync(path.join(os.tmpdir(), "espweb-mqtt-board-"));
  emu = await startEmulator({
    bundle: buildBundle("mqtt", "firmware/main.ts"),
    port: 0,
    board: "emulator",
    data,
    wifi: { networks: [{ ssid: "home", password: "secret123", rssi: -52, channel: 6 }], mac: "02:00:00:aa:bb:01" },
    quiet: true,
  });
  const r = await fetch(emu.url + "/api/password", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password: PW }) });
  expect(r.status).toBe(200);
  // Home Assistant's side: a persistent session, QoS 1 subscriptions.
  sub = await client(b, { username: "ha", password: "ha-pass", clientId: "ha-test", clean: false });
  sub.on("message", (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), retain: packet.retain });
    last[topic] = payload.toString();
  });
  await sub.subscribeAsync([BASE + "/#", "homeassistant/#", "espweb/all/#"], { qos: 1 });
}, 120000);

afterAll(async () => {
  if (sub) await sub.endAsync(true);
  if (emu) await emu.stop().catch(() => undefined);
  if (b) await b.stop();
  for (const d of [data, b && b.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

test("wrong credentials: refused, and the status page says why; the settings page has the MQTT group", async () => {
  const schema = (await api("GET", "/api/schema")).json.fields.filter((f: any) => f.group === "MQTT").map((f: any) => f.name);
  expect(schema).toEqual(["mqtt", "mqttHost", "mqttPort", "mqttUser", "mqttPass", "mqttBase", "mqttInterval"]);
  expect(await mqttState()).toEqual({ state: "off" });
  expect((await api("PUT", "/api/config", { mqtt: true })).status).toBe(200);
  expect(await mqttState()).toEqual({ state: "off", why: "turned on, but no broker address is set" });
  const r = await api("PUT", "/api/config", { name: "kitchen", staSsid: "home", staPass: "secret123", mqtt: true, mqttHost: "127.0.0.1", mqttPort: b.port, mqttUser: "board", mqttPass: "wrong-pass" });
  expect(r.status).toBe(200);
  expect(r.json.mqttPass).toEqual({ set: true }); // never echoed
  await until(async () => (await mqttState()).why === "refused: bad username or password, or not authorised", 15000, "the refusal on the status page");
  const st = await mqttState();
  expect(st).toMatchObject({ state: expect.stringMatching(/^(waiting|connecting)$/), broker: "127.0.0.1:" + b.port, base: BASE });
});

test("right credentials: online (retained), the state document, Home Assistant discovery", async () => {
  expect((await api("PUT", "/api/config", { mqttPass: "board-pass" })).status).toBe(200);
  await until(async () => (await mqttState()).state === "connected", 20000, "the connection");
  await until(() => last[BASE + "/status"] === "online" && !!last[BASE + "/state"], 10000, "availability and state");
  const state = JSON.parse(last[BASE + "/state"]);
  expect(state).toMatchObject({ name: "kitchen", signedIn: true, mqtt: { state: "connected" }, config: { interval: 60, units: "metric", led: true } });
  expect(typeof state.uptime).toBe("number");
  await until(() => Object.keys(last).filter((t) => t.startsWith("homeassistant/")).length >= 5, 10000, "five discovery messages");
  const disc = (comp: string, key: string) => JSON.parse(last[`homeassistant/${comp}/espweb-aabb01/${key}/config`]);
  expect(disc("sensor", "uptime")).toMatchObject({ stat_t: BASE + "/state", avty_t: BASE + "/status", val_tpl: "{{ value_json.uptime }}", unit_of_meas: "s", uniq_id: "espweb-aabb01_uptime" });
  expect(disc("sensor", "rssi")).toMatchObject({ dev_cla: "signal_strength", unit_of_meas: "dBm", val_tpl: "{{ value_json.wifi.rssi }}" });
  expect(disc("number", "interval")).toMatchObject({ cmd_t: BASE + "/config/set", cmd_tpl: '{"interval": {{ value | int }}}', min: 1, max: 3600 });
  expect(disc("select", "units")).toMatchObject({ options: ["metric", "imperial"], cmd_tpl: '{"units": "{{ value }}"}' });
  expect(disc("switch", "led")).toMatchObject({ pl_on: '{"led": true}', pl_off: '{"led": false}' });
  expect(disc("sensor", "uptime").dev).toMatchObject({ ids: ["espweb-aabb01"], name: "kitchen", mf: "espweb" });
  // Retained: a newcomer (Home Assistant starting later) gets them at once.
  const late = await client(b, { username: "ha", password: "ha-pass", clientId: "late" });
  const seen: string[] = [];
  late.on("message", (t, _p, pk) => pk.retain && seen.push(t));
  await late.subscribeAsync([BASE + "/status", BASE + "/state", "homeassistant/#"]);
  await until(() => seen.length >= 7, 5000, "the retained messages");
  await late.endAsync();
  // The signal sensor has something to show: the board joined "home".
  await until(() => JSON.parse(last[BASE + "/state"]).wifi.rssi === -52, 20000, "the joined network's signal in the state (published when the address changes)");
}, 120000);

test("settings over MQTT: validated like PUT /api/config, applied, persisted, reported; a bad change refused with its field errors", async () => {
  const results = () => got.filter((m) => m.topic === BASE + "/config/result").map((m) => JSON.parse(m.payload));
  await sub.publishAsync(BASE + "/config/set", JSON.stringify({ interval: 42, units: "imperial" }), { qos: 1 });
  await until(() => results().length === 1, 10000, "the result");
  expect(results()[0]).toEqual({ applied: true });
  expect((await api("GET", "/api/config")).json).toMatchObject({ interval: 42, units: "imperial" });
  await until(() => JSON.parse(last[BASE + "/state"]).config.interval === 42, 5000, "the new state");
  await sub.publishAsync(BASE + "/config/set", JSON.stringify({ interval: 0, units: "kelvin", nope: 1 }), { qos: 1 });
  await until(() => results().length === 2, 10000, "the refusal");
  expect(results()[1]).toEqual({ errors: { interval: "must be from 1 to 3600", units: "must be one of: metric, imperial", nope: "is not a setting of this device" } });
  await sub.publishAsync(BASE + "/config/set", "not json", { qos: 1 });
  await sub.publishAsync(BASE + "/config/set", JSON.stringify({ admin: "x" }), { qos: 1 });
  await until(() => results().length === 4, 10000, "two more refusals");
  expect(results()[2].errors[""]).toMatch(/JSON object/);
  expect(results()[3].errors.admin).toMatch(/POST \/api\/password/);
  expect((await api("GET", "/api/config")).json).toMatchObject({ interval: 42, units: "imperial" });
  // The group topic reaches this board too.
  await sub.publishAsync("espweb/all/config/set", JSON.stringify({ led: false }), { qos: 1 });
  await until(() => results().length === 5, 10000, "the group change");
  expect((await api("GET", "/api/config")).json.led).toBe(false);
  // Persisted: a power cycle keeps it, and the board comes back to the broker by itself.
  await emu.reboot();
  expect((await api("GET", "/api/config")).json).toMatchObject({ interval: 42, units: "imperial", led: false, mqtt: true });
  await until(async () => (await mqttState()).state === "connected", 20000, "the reconnection after a reboot");
}, 120000);

test("a broker restart: the web UI answers meanwhile, the client backs off and returns; a change made meanwhile reaches a QoS 1 subscriber", async () => {
  await b.stop();
  await until(async () => (await mqttState()).state === "waiting", 10000, "the loss");
  const down = await mqttState();
  expect(down.why).toMatch(/broker/);
  // The UI is not held up: requests answered while the client retries.
  for (let i = 0; i < 5; i++) expect((await api("GET", "/api/config")).status).toBe(200);
  expect((await api("PUT", "/api/config", { interval: 77 })).status).toBe(200);
  const waits: number[] = [];
  await until(async () => {
    const s = await mqttState();
    if (s.state === "waiting" && waits[waits.length - 1] !== s.retryIn) waits.push(s.retryIn);
    return waits.length >= 3;
  }, 30000, "three retries");
  expect(Math.max(...waits)).toBeGreaterThan(1); // the waits grow
  await b.start();
  await until(async () => (await mqttState()).state === "connected", 60000, "the reconnection");
  // The subscriber's persistent session (QoS 1) gets what was published while it and the broker were away.
  await until(() => !!last[BASE + "/state"] && JSON.parse(last[BASE + "/state"]).config.interval === 77, 20000, "the state changed while the broker was down");
}, 150000);

/** The topics a newcomer (Home Assistant starting later) gets retained messages on, under `filters`, once `want` has come. */
async function retained(id: string, filters: string[], want: string): Promise<string[]> {
  const late = await client(b, { username: "ha", password: "ha-pass", clientId: id });
  const seen: string[] = [];
  late.on("message", (t, _p, pk) => pk.retain && seen.push(t));
  await late.subscribeAsync(filters);
  await until(() => seen.includes(want), 5000, "the retained " + want);
  await new Promise((r) => setTimeout(r, 300));
  await late.endAsync();
  return seen;
}

test("renamed: the old base topic's retained messages are cleared, the new one has them", async () => {
  await sub.subscribeAsync("espweb/pantry/#", { qos: 1 });
  expect((await api("PUT", "/api/config", { name: "pantry" })).status).toBe(200);
  await until(() => last["espweb/pantry/status"] === "online" && !!last["espweb/pantry/state"], 15000, "the new base topic");
  await until(() => last[BASE + "/status"] === "" && last[BASE + "/state"] === "", 5000, "the old topics cleared");
  const seen = await retained("late2", [BASE + "/#", "espweb/pantry/#"], "espweb/pantry/state");
  expect(seen.filter((t) => t.startsWith(BASE + "/"))).toEqual([]);
  expect((await api("PUT", "/api/config", { name: "kitchen" })).status).toBe(200);
  await until(() => last[BASE + "/status"] === "online", 15000, "back under the first name");
  // Moved over MQTT itself: the result comes on the topic the change came on, then the board is at its new base.
  await sub.subscribeAsync("espweb/moved/#", { qos: 1 });
  const n = got.filter((m) => m.topic === BASE + "/config/result").length;
  await sub.publishAsync(BASE + "/config/set", JSON.stringify({ mqttBase: "espweb/moved" }), { qos: 1 });
  await until(() => got.filter((m) => m.topic === BASE + "/config/result").length > n, 10000, "the result on the old base");
  expect(last[BASE + "/config/result"]).toBe('{"applied":true}');
  await until(() => last["espweb/moved/status"] === "online", 15000, "online at the new base");
  await sub.publishAsync("espweb/moved/config/set", JSON.stringify({ mqttBase: "" }), { qos: 1 });
  await until(() => last[BASE + "/status"] === "online" && last["espweb/moved/status"] === "", 15000, "back at the first base");
}, 60000);

test("renamed while the broker is away: the client, once back, clears what the board left under its old name", async () => {
  await sub.subscribeAsync("espweb/attic/#", { qos: 1 });
  await b.stop();
  await until(async () => (await mqttState()).state === "waiting", 10000, "the loss");
  expect((await api("PUT", "/api/config", { name: "attic" })).status).toBe(200);
  await b.start();
  await until(() => last["espweb/attic/status"] === "online", 60000, "online under the new name");
  const seen = await retained("late3", [BASE + "/#", "espweb/attic/#"], "espweb/attic/state");
  expect(seen.filter((t) => t.startsWith(BASE + "/"))).toEqual([]);
  expect((await api("PUT", "/api/config", { name: "kitchen" })).status).toBe(200);
  await until(() => last[BASE + "/status"] === "online", 15000, "back under the first name");
}, 120000);

test("cmd/reboot restarts the board, which comes back online by itself", async () => {
  const before = (await api("GET", "/api/status")).json.uptime;
  const onlines = () => got.filter((m) => m.topic === BASE + "/status" && m.payload === "online").length;
  const n = onlines();
  await sub.publishAsync(BASE + "/cmd/reboot", "", { qos: 1 });
  await until(() => emu.logs.some((l) => /rebooting: asked over MQTT/.test(l)), 10000, "the reboot");
  await until(() => onlines() > n, 30000, "online again after the restart");
  await until(async () => {
    try {
      const s = (await api("GET", "/api/status")).json;
      return s.mqtt.state === "connected" && s.uptime < before + 5;
    } catch (e) {
      return false;
    }
  }, 30000, "a fresh uptime");
}, 90000);

test("in Chromium: the status page shows the broker connection, the settings page its MQTT group; a wrong password shows why", async () => {
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: PHONE })).newPage();
    page.setDefaultTimeout(15000);
    await page.goto(emu.url + "/");
    await page.getByLabel("Admin password").fill(PW);
    await page.getByRole("button", { name: "Sign in" }).click();
    const card = page.locator("section.card", { has: page.getByRole("heading", { name: "MQTT" }) });
    await card.getByText("Connected").waitFor();
    await card.getByText("127.0.0.1:" + b.port).waitFor();
    await shoot(page, "mqtt-status");
    await page.getByRole("navigation").getByRole("link", { name: "Settings", exact: true }).click();
    await page.getByLabel("Broker address", { exact: true }).waitFor();
    expect(await page.getByLabel("Broker address", { exact: true }).inputValue()).toBe("127.0.0.1");
    expect(await page.getByLabel("Base topic", { exact: true }).inputValue()).toBe("");
    await shoot(page, "mqtt-settings");
    // A wrong broker password: the status page says why.
    expect((await api("PUT", "/api/config", { mqttPass: "wrong-again" })).status).toBe(200);
    await page.getByRole("navigation").getByRole("link", { name: "Status", exact: true }).click();
    await card.getByText("Bad username or password").waitFor({ timeout: 20000 });
    await shoot(page, "mqtt-refused");
    expect((await api("PUT", "/api/config", { mqttPass: "board-pass" })).status).toBe(200);
    await card.getByText("Connected").waitFor({ timeout: 20000 });
  } finally {
    await browser.close();
  }
}, 90000);

test("the last will: the board gone without a word, the broker says offline", async () => {
  await until(() => last[BASE + "/status"] === "online", 10000, "online");
  await emu.stop();
  await until(() => last[BASE + "/status"] === "offline", 60000, "the will");
}, 90000);
