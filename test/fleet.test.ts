/**
 * A fleet: 50 emulated boards (the firmware as flashed, each with its own
 * name, radio MAC and flash) on one Mosquitto broker. A change published once
 * on the group topic is applied by every board (each one's result and
 * retained state seen by a subscriber, each one's settings read back over
 * HTTP); the figures are printed: how long the change took to reach them all,
 * messages per second through the broker, memory per board.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import type { MqttClient } from "mqtt";
import { startEmulator, Emulator } from "../emulator";
import { buildBundle } from "./e2e/harness";
import { Broker, broker, client } from "./e2e/broker";
import { until } from "./e2e/emulators";

const N = 50;
const PW = "fleet-admin-pw";
const AUTHZ = "Basic " + Buffer.from("admin:" + PW).toString("base64");

let b: Broker;
let data: string;
const boards: Emulator[] = [];
let sub: MqttClient;
let bundle = "";
/** When the boards were given the broker's settings. */
let configured = 0;
const last: { [topic: string]: string } = {};
const times: { [topic: string]: number } = {};
let count = 0;

const name = (i: number) => "board-" + String(i).padStart(2, "0");

async function put(emu: Emulator, body: unknown, p = "/api/config"): Promise<number> {
  const r = await fetch(emu.url + p, { method: p === "/api/config" ? "PUT" : "POST", headers: { authorization: AUTHZ, "content-type": "application/json", origin: emu.url }, body: JSON.stringify(body) });
  await r.text();
  return r.status;
}

beforeAll(async () => {
  b = await broker({ fleet: "fleet-pass", ha: "ha-pass" });
  await b.start();
  sub = await client(b, { username: "ha", password: "ha-pass", clientId: "fleet-watch" });
  sub.on("message", (topic, payload) => {
    count++;
    last[topic] = payload.toString();
    times[topic] = Date.now();
  });
  await sub.subscribeAsync(["espweb/#"], { qos: 0 });
  data = fs.mkdtempSync(path.join(os.tmpdir(), "espweb-fleet-"));
  bundle = buildBundle("fleet", "firmware/main.ts");
  for (let i = 0; i < N; i++) {
    const emu = await startEmulator({
      bundle,
      port: 0,
      board: "emulator",
      data: path.join(data, String(i)),
      dnsPort: 0,
      wifi: { networks: [], mac: "02:00:00:f1:00:" + i.toString(16).padStart(2, "0") },
      quiet: true,
      memoryTtl: 0, // process.memory() estimates afresh at every call (the figure printed below)
    });
    boards.push(emu);
  }
  // Each board: a password, then its name and the broker (over HTTP, as a person would; in parallel).
  configured = Date.now();
  await Promise.all(
    boards.map(async (emu, i) => {
      const r = await fetch(emu.url + "/api/password", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password: PW }) });
      await r.text();
      expect(r.status).toBe(200);
      expect(await put(emu, { name: name(i), mqtt: true, mqttHost: "127.0.0.1", mqttPort: b.port, mqttUser: "fleet", mqttPass: "fleet-pass", mqttInterval: 3600 })).toBe(200);
    }),
  );
}, 300000);

afterAll(async () => {
  if (sub) await sub.endAsync(true);
  await Promise.all(boards.map((e) => e.stop().catch(() => undefined)));
  if (b) await b.stop();
  for (const d of [data, b && b.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

test(`${N} boards: every one online with its retained state; one group change reaches and is applied by all`, async () => {
  await until(() => boards.every((_, i) => last[`espweb/${name(i)}/status`] === "online" && !!last[`espweb/${name(i)}/state`]), 120000, "every board online with its state");
  const online = Math.max(...boards.map((_, i) => times[`espweb/${name(i)}/state`])) - configured;
  for (let i = 0; i < N; i++) expect(JSON.parse(last[`espweb/${name(i)}/state`])).toMatchObject({ name: name(i), mqtt: { state: "connected" }, config: { interval: 60 } });
  // A new subscriber sees every board's retained state at once.
  const late = await client(b, { username: "ha", password: "ha-pass", clientId: "fleet-late" });
  const retained = new Set<string>();
  late.on("message", (t, _p, pk) => pk.retain && retained.add(t));
  await late.subscribeAsync(["espweb/+/state"]);
  await until(() => retained.size === N, 10000, "every retained state");
  await late.endAsync();

  const c0 = count;
  const sent = Date.now();
  await sub.publishAsync("espweb/all/config/set", JSON.stringify({ interval: 30, units: "imperial" }), { qos: 1 });
  const result = (i: number) => `espweb/${name(i)}/config/result`;
  await until(() => boards.every((_, i) => last[result(i)] === '{"applied":true}' && JSON.parse(last[`espweb/${name(i)}/state`]).config.interval === 30), 60000, "every board's result and new state");
  const reached = Math.max(...boards.map((_, i) => times[result(i)])) - sent;
  const msgs = count - c0;
  const rate = msgs / (reached / 1000);
  // Applied for real: each board's settings, read back over HTTP.
  const cfgs = await Promise.all(boards.map(async (e) => (await (await fetch(e.url + "/api/config", { headers: { authorization: AUTHZ } })).json()) as any));
  for (const c of cfgs) expect(c).toMatchObject({ interval: 30, units: "imperial" });
  // Memory per board: one more board of the same firmware, connected to this broker, measured in a process of its
  // own (the emulator's estimate reads closure scopes through the V8 inspector, which the test runner hides).
  const m = JSON.parse(
    execFileSync(process.execPath, ["tools/memory.mjs", "--bundle", bundle, "--board", "esp32", "--slots", "6", "--mqtt", `mqtt://fleet:fleet-pass@127.0.0.1:${b.port}`, "--json"], { cwd: path.resolve(__dirname, ".."), encoding: "utf8" }),
  );
  expect(m.mqtt).toBeGreaterThan(m.idle);
  console.log(
    `fleet: ${N} boards given the broker's settings over HTTP were all online with their retained state ${(online / 1000).toFixed(1)} s later; a group change applied by all in ${reached} ms ` +
      `(${msgs} messages from the broker to one subscriber meanwhile: ${Math.round(rate)} per second); memory per board (esp32, 16 383 vars): ${m.idle} used idle, ` +
      `${m.mqtt} connected to the broker (+${m.mqtt - m.idle})`,
  );
}, 240000);
