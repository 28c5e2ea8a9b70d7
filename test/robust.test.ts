/**
 * Robustness on the device, end to end: the firmware bundle in the emulator,
 * whose sockets deliver data as Espruino 2v29 does (one 536-byte piece per
 * socket per idle pass, no way to pause a socket), against clients that
 * misbehave: a peer that outruns the board, huge heads, slow senders.
 * Each of these failed on the real interpreter before (issue 12).
 */
import * as net from "net";
import type { Emulator } from "../emulator";
import { parseResponses } from "./util";
import { boot, buildBundle, eventually, exchange, raw, slotsUsed, withTimeout } from "./e2e/harness";

let emu: Emulator;
let port: number;

beforeAll(async () => {
  emu = await boot(buildBundle("robust"));
  port = emu.port;
}, 120000);

afterAll(async () => {
  if (emu) await emu.stop();
});

const STATUS = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/** Send `data` on a new connection in pieces of `piece` bytes, all at once; what came back and how the connection ended. */
function blast(data: string, piece: number): Promise<{ got: string; reset: boolean }> {
  return new Promise((resolve) => {
    let got = "";
    let reset = false;
    const s = net.connect(port, "127.0.0.1", () => {
      for (let i = 0; i < data.length; i += piece) s.write(data.slice(i, i + piece), "latin1");
    });
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("error", () => (reset = true));
    s.on("close", () => resolve({ got, reset }));
  });
}

describe("a peer that sends faster than the board reads", () => {
  test("1 000 pipelined requests in 50-byte pieces: every response that starts is whole, then a clean close", async () => {
    const { got, reset } = await withTimeout(blast(STATUS.repeat(1000), 50), 30000, () => "the connection never ended");
    // The interpreter cannot pause the socket: the board takes what it may hold, answers every request complete in
    // it, and closes; nothing is cut inside a response and the close is a FIN, so the client keeps every answer and
    // retries the rest (RFC 9112 §9.3.2).
    expect(reset).toBe(false);
    const p = parseResponses(got, [], true);
    expect(p.rest).toBe("");
    expect(p.resps.length).toBeGreaterThan(10);
    expect(p.resps.every((r) => r.status === 200)).toBe(true);
    // The slot is free again: a newcomer is served.
    const r = await fetch(`http://127.0.0.1:${port}/api/status`);
    expect(r.status).toBe(200);
  }, 40000);

  test("the same flood in one write", async () => {
    const { got, reset } = await withTimeout(blast(STATUS.repeat(1000), 1 << 20), 30000, () => "the connection never ended");
    expect(reset).toBe(false);
    const p = parseResponses(got, [], true);
    expect(p.rest).toBe("");
    expect(p.resps.length).toBeGreaterThan(10);
  }, 40000);
});

describe("large heads always get their answer", () => {
  const head = (size: number) => {
    let h = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    while (h.length < size) h += "X-Fill-" + h.length + ": " + "v".repeat(60) + "\r\n";
    return h + "\r\n";
  };
  test.each([3000, 6000, 10000, 30000])("a %i-byte head: 431, then a clean close", async (size) => {
    const { data, reset } = await exchange(port, head(size));
    expect(data.split("\r\n")[0]).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    expect(reset).toBe(false);
  });
  test.each([600, 3000])("a %i-byte request target: 414, then a clean close", async (size) => {
    const { data, reset } = await exchange(port, "GET /" + "a".repeat(size) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect(data.split("\r\n")[0]).toBe("HTTP/1.1 414 URI Too Long");
    expect(reset).toBe(false);
  });
});

describe("the absolute form of a request target (RFC 9112 §3.2.2: a server MUST accept it)", () => {
  test("GET http://host/api/status reaches its route, on the fast path and in pieces alike", async () => {
    const req = "GET http://127.0.0.1/api/status?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    for (const piece of [1 << 20, 7]) {
      const { got } = await blast(req, piece);
      const r = parseResponses(got, [], true).resps;
      expect(r.map((x) => x.status)).toEqual([200]);
      expect(JSON.parse(r[0].body)).toMatchObject({ board: "e2e" });
    }
  });
});

describe("a bad line is refused as soon as it is complete, not when the head's deadline fires", () => {
  test.each([
    ["an unknown version", "GET / HTTP/5.6\r\n", 505],
    ["a bare CR in a field line", "GET / HTTP/1.1\r\nHost: a\rb\r\n", 400],
    ["a malformed chunk extension", "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5;=x\r\n", 400],
  ])("%s", async (_what, req, code) => {
    // The head is never finished: only the early check can answer within the wait.
    const c = await raw(port, req);
    await c.until((s) => s.indexOf("\r\n\r\n") >= 0, 3000);
    expect(+c.data().split(" ")[1]).toBe(code);
    const { reset } = await withTimeout(c.closed, 3000, () => "no close");
    expect(reset).toBe(false);
    c.sock.destroy();
  });
});

describe("slow senders cannot starve the pool", () => {
  test("20 sockets sending a header byte every 500 ms, reconnecting when dropped: a client polling every 200 ms is answered", async () => {
    let stop = false;
    let slow408 = 0;
    const slow = () => {
      if (stop) return;
      let got = "";
      const s = net.connect(port, "127.0.0.1");
      const head = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "z".repeat(1000);
      let i = 0;
      const tick = () => {
        if (stop) return void s.destroy();
        if (!s.destroyed) s.write(head[i++ % head.length]);
      };
      const t = setInterval(tick, 500);
      s.on("connect", tick);
      s.on("data", (d) => (got += d.toString("latin1")));
      s.on("error", () => {});
      s.on("close", () => {
        clearInterval(t);
        if (got.startsWith("HTTP/1.1 408")) slow408++;
        setTimeout(slow, 10);
      });
    };
    for (let k = 0; k < 20; k++) slow();
    // Let the slow sockets take every slot first.
    await new Promise((r) => setTimeout(r, 1500));
    let answered = 0;
    const polls = 25;
    for (let k = 0; k < polls; k++) {
      const { data } = await exchange(port, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
      if (data.startsWith("HTTP/1.1 200")) answered++;
      await new Promise((r) => setTimeout(r, 200));
    }
    stop = true;
    console.log(`slow senders: ${answered}/${polls} polls answered, ${slow408} slow sockets dropped with a 408`);
    expect(answered / polls).toBeGreaterThanOrEqual(0.9);
    expect(slow408).toBeGreaterThan(0);
  }, 60000);
});

describe("clients that gave up before the board accepted them", () => {
  test("60 connections closed while queued in the listen backlog hold no slot afterwards", async () => {
    const gone: Promise<void>[] = [];
    for (let k = 0; k < 60; k++)
      gone.push(
        new Promise((res) => {
          const s = net.connect(port, "127.0.0.1", () => {
            s.write(STATUS);
            // Gone before the board's accept (one per pass) reaches most of them: FIN, or a reset for half.
            if (k % 2) s.resetAndDestroy();
            else s.destroy();
          });
          s.on("error", () => {});
          s.on("close", () => res());
        }),
      );
    await Promise.all(gone);
    // What the interpreter reports for each (its first recv fails: end, close) frees the slot in that pass: no
    // slot waits for a deadline. A bounded number of real requests, no timing margin.
    await eventually(async () => (await slotsUsed(port)) === 1, 40, 100);
  }, 30000);
});
