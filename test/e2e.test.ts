/**
 * The firmware bundle in the emulator, with real clients over loopback: the
 * lifecycle guarantees observed on the wire, malformed input, pool exhaustion
 * and recovery, idle and header timeouts.
 */
import { execFile } from "child_process";
import { promisify } from "util";
import * as http from "http";
import type { Emulator } from "../emulator";
import { parseResponses } from "./util";
import { boot, buildBundle, eventually, exchange, raw, slotsUsed, withTimeout, AUTH, NETWORKS, PASSWORD } from "./e2e/harness";

let bundle: string;
let emu: Emulator;
let port: number;

beforeAll(async () => {
  bundle = buildBundle("main");
  emu = await boot(bundle);
  port = emu.port;
}, 120000);

afterAll(async () => {
  if (emu) await emu.stop();
});

const SCAN = "GET /api/wifi/scan HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH;
const STATUS = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n";

function resps(s: string, closed = true) {
  const p = parseResponses(s, [], closed);
  expect(p.rest).toBe("");
  return p.resps;
}

describe("end to end, in the emulator", () => {
  test("Node's http client, keep-alive: two requests on one socket", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; body: string; sock: unknown }>((res, rej) => {
        http
          .get({ host: "127.0.0.1", port, path: "/api/status", agent, headers: { authorization: AUTH.slice(15, -2) } }, (r) => {
            let b = "";
            r.on("data", (d) => (b += d));
            r.on("end", () => res({ status: r.statusCode!, body: b, sock: r.socket }));
          })
          .on("error", rej);
      });
    const a = await get();
    const b = await get();
    agent.destroy();
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.sock).toBe(b.sock);
    expect(JSON.parse(b.body)).toMatchObject({ board: "e2e", pool: { total: 7 } });
  });

  test("curl: the deferred Wi-Fi scan with Connection: close returns the whole JSON", async () => {
    // Asynchronously: the emulator runs in this process and must keep serving while curl waits.
    const { stdout: out } = await promisify(execFile)("curl", ["-s", "-i", "--max-time", "20", "-u", "admin:" + PASSWORD, "-H", "Connection: close", `http://127.0.0.1:${port}/api/wifi/scan`], { encoding: "latin1" });
    const r = resps(out);
    expect(r.map((x) => x.status)).toEqual([200]);
    expect(r[0].headers.connection).toBe("close");
    expect(JSON.parse(r[0].body).networks.map((n: { ssid: string }) => n.ssid).sort()).toEqual(NETWORKS.map((n) => n.ssid).sort());
  });

  test("deferred scan + Connection: close: the full JSON, then FIN", async () => {
    const { data, reset } = await exchange(port, SCAN + "Connection: close\r\n\r\n");
    expect(reset).toBe(false);
    const r = resps(data);
    expect(r.length).toBe(1);
    expect(+r[0].headers["content-length"]).toBe(r[0].body.length);
    expect(JSON.parse(r[0].body).networks.length).toBe(NETWORKS.length);
  });

  test("the same over HTTP/1.0: the full JSON, then FIN", async () => {
    const { data, reset } = await exchange(port, "GET /api/wifi/scan HTTP/1.0\r\n" + AUTH + "\r\n");
    expect(reset).toBe(false);
    const r = resps(data);
    expect(r.map((x) => x.status)).toEqual([200]);
    expect(JSON.parse(r[0].body).networks.length).toBe(NETWORKS.length);
  });

  test("requests pipelined behind a deferred one are answered in order; bytes after the closing one are ignored", async () => {
    const { data } = await exchange(port, SCAN + "\r\n" + STATUS + "\r\n" + "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" + STATUS + "\r\n");
    const r = resps(data);
    expect(r.map((x) => x.status)).toEqual([200, 200, 404]);
    expect(JSON.parse(r[0].body).networks).toBeDefined();
    expect(JSON.parse(r[1].body).board).toBe("e2e");
  });

  test("a client gone during a deferred reply: no crash, its slot freed, the next client gets only its own answer", async () => {
    const a = await raw(port, SCAN + "\r\n");
    a.sock.destroy();
    const b = await raw(port, STATUS + "Connection: close\r\n\r\n");
    await withTimeout(b.closed, 10000, () => "b not closed");
    const r = resps(b.data());
    expect(r.length).toBe(1);
    expect(JSON.parse(r[0].body).board).toBe("e2e");
    // After the scan completes, nothing is left over: only the asking request holds a slot.
    await eventually(async () => (await slotsUsed(port)) === 1);
    expect(emu.errors).toEqual([]);
  });

  test.each([
    ["400 for a malformed request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["400 for obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400],
    ["400 for a missing Host", "GET / HTTP/1.1\r\n\r\n", 400],
    ["400 for a NUL in a header", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 400],
    ["414 for a long request line", "GET /" + "a".repeat(600) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414],
    ["431 for a header section over the buffer", "GET / HTTP/1.1\r\nHost: a\r\n" + "X-Pad: " + "p".repeat(60) + "\r\n".repeat(1) + ("X-More: " + "m".repeat(60) + "\r\n").repeat(40) + "\r\n", 431],
    ["413 for a body over the buffer", "POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n", 413],
    ["501 for an unknown transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
    ["505 for HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
  ])("%s, then close", async (_n, req, code) => {
    const { data } = await exchange(port, req);
    const r = resps(data);
    expect(r.map((x) => x.status)).toEqual([code]);
    expect(r[0].headers.connection).toBe("close");
  });

  test("on the interpreter's String.indexOf (the emulator reproduces 2v29's), a wrong method is 405 with Allow and changes nothing", async () => {
    const cases: [string, string, string][] = [
      ["GET", "/api/reboot", "POST"],
      ["HEAD", "/api/factory-reset", "POST"],
      ["DELETE", "/api/config", "GET, PUT, HEAD"],
      ["POST", "/api/config", "GET, PUT, HEAD"],
      ["GET", "/api/logout", "POST"],
      ["POST", "/api/status", "GET, HEAD"],
    ];
    for (const [m, p, allow] of cases) {
      const { data } = await exchange(port, m + " " + p + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH + "Content-Length: 0\r\nConnection: close\r\n\r\n");
      const r = parseResponses(data, [m === "HEAD"], true).resps[0];
      expect([m, p, r.status, r.headers.allow]).toEqual([m, p, 405, allow]);
    }
    expect((await fetch(`http://127.0.0.1:${port}/api/status`)).status).toBe(200); // not rebooted, not erased
    expect(((await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { passwordSet: boolean }).passwordSet).toBe(true);
  });

  test("a slow-header client gets 408 at the header deadline, then FIN", async () => {
    const c = await raw(port, "GET /api/status HTTP/1.1\r\nHost: a\r\n");
    await withTimeout(c.closed, 10000, () => "no close");
    expect(resps(c.data()).map((x) => x.status)).toEqual([408]);
  });

  test("an idle keep-alive connection is closed silently after the idle timeout", async () => {
    const c = await raw(port, STATUS + "\r\n");
    await c.until((s) => resps(s, false).length === 1);
    const before = c.data();
    const { reset } = await withTimeout(c.closed, 10000, () => "idle connection never closed");
    expect(reset).toBe(false);
    expect(c.data()).toBe(before);
  });

  test("pool exhaustion: busy slots are kept, the newcomer gets 503 with Retry-After; the pool recovers", async () => {
    await eventually(async () => (await slotsUsed(port)) === 1);
    emu.wifi.hangScan(); // every scan request now waits (until its response deadline)
    const busy = [];
    for (let i = 0; i < 7; i++) busy.push(await raw(port, SCAN + "\r\n"));
    // All 7 slots hold a pending response: the 8th client is refused with 503.
    const { data } = await exchange(port, STATUS + "\r\n");
    const r = resps(data);
    expect(r.map((x) => x.status)).toEqual([503]);
    expect(r[0].headers["retry-after"]).toBeDefined();
    for (const b of busy) expect(b.data()).toBe("");
    // The pending scans reach their deadline: each gets the runtime's 503, the connections stay usable.
    for (const b of busy) await b.until((s) => resps(s, false).length === 1);
    for (const b of busy) expect(resps(b.data(), false)[0].status).toBe(503);
    for (const b of busy) b.sock.destroy();
    await eventually(async () => (await slotsUsed(port)) === 1);
  }, 30000);
});
