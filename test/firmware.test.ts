import { Sim } from "../hal/sim";
import { startApp } from "../firmware/app";
import { VERSION } from "../firmware/version";
import { board } from "../boards/emulator";
import { parseResponses, used } from "./util";

function boot() {
  const sim = new Sim();
  sim.wifi.networks = [
    { ssid: "home", rssi: -50, channel: 6, auth: "wpa2" },
    { ssid: "cafe", rssi: -70, channel: 1, auth: "open" },
  ];
  const app = startApp(sim, board, 80)!;
  sim.run();
  return { sim, app };
}

test("the firmware version is package.json's", () => {
  expect(VERSION).toBe(require("../package.json").version);
});

test("GET /api/status reports board, version, uptime, memory and pool slots", () => {
  const { sim } = boot();
  sim.advance(5000);
  const cl = sim.connect(80);
  cl.send("GET /api/status HTTP/1.1\r\nHost: dev\r\n\r\n");
  sim.run();
  const r = parseResponses(cl.received).resps[0];
  expect(r.status).toBe(200);
  expect(r.headers["content-type"]).toBe("application/json");
  const s = JSON.parse(r.body);
  expect(s).toMatchObject({ board: "emulator", title: board.title, version: VERSION, uptime: 5, pool: { used: 1, total: board.limits.slots } });
  expect(Object.keys(s)).toEqual(["board", "title", "version", "uptime", "mem", "pool"]);
  expect(Object.keys(s.mem)).toEqual(["used", "free", "total", "unit"]);
  expect(s.mem.unit).toBe("bytes");
  expect(s.mem.total).toBeGreaterThan(s.mem.used);
  expect(s.mem.free).toBe(s.mem.total - s.mem.used);
});

test("GET /api/wifi/scan with Connection: close answers when the scan completes, whole, then closes", () => {
  const { sim, app } = boot();
  const cl = sim.connect(80);
  cl.send("GET /api/wifi/scan HTTP/1.1\r\nHost: dev\r\nConnection: close\r\n\r\n");
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

test("concurrent scan requests share one radio scan; a client that left is skipped", () => {
  const { sim } = boot();
  const a = sim.connect(80);
  const b = sim.connect(80);
  const c = sim.connect(80);
  for (const x of [a, b, c]) x.send("GET /api/wifi/scan HTTP/1.1\r\nHost: dev\r\n\r\n");
  sim.run();
  b.reset();
  sim.advance(sim.wifi.scanMs);
  expect(parseResponses(a.received).resps.map((r) => r.status)).toEqual([200]);
  expect(parseResponses(c.received).resps.map((r) => r.status)).toEqual([200]);
});

test("a failed scan is a 503 with the reason", () => {
  const { sim } = boot();
  sim.wifi.failNextScan = "radio off";
  const a = sim.connect(80);
  a.send("GET /api/wifi/scan HTTP/1.1\r\nHost: dev\r\n\r\n");
  sim.advance(sim.wifi.scanMs);
  const r = parseResponses(a.received).resps[0];
  expect([r.status, JSON.parse(r.body).error]).toEqual([503, "radio off"]);
});

test("unknown paths get 404 and wrong methods 405", () => {
  const { sim } = boot();
  const a = sim.connect(80);
  a.send("GET /nope HTTP/1.1\r\nHost: dev\r\n\r\nPOST /api/status HTTP/1.1\r\nHost: dev\r\nContent-Length: 0\r\n\r\n");
  sim.run();
  const r = parseResponses(a.received).resps;
  expect(r.map((x) => x.status)).toEqual([404, 405]);
  expect(r[1].headers.allow).toBe("GET, HEAD");
});
