/**
 * End-to-end harness: builds the firmware bundle once per test file and runs
 * it in the emulator; raw loopback sockets for exact bytes.
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import { readFileSync } from "fs";
import * as net from "net";
import * as path from "path";
import { startEmulator, Emulator } from "../../emulator";

export const ROOT = path.resolve(__dirname, "../..");

/**
 * Build a bundle for the emulator board from `entry` into its own folder (not
 * dist/, which other suites rebuild concurrently). The e2e entry is
 * firmware/main.ts's wiring with test/fixtures/e2e/board.ts: the emulator
 * board with deadlines short enough to wait for.
 */
export function buildBundle(name: string, entry = "test/fixtures/e2e/main.ts", board = "emulator"): string {
  const out = path.join(ROOT, "build", "e2e-" + name);
  execFileSync(process.execPath, ["tools/build.mjs", "--board", board, "--entry", entry, "--out", out + "/dist", "--build", out + "/build", "--quiet"], {
    cwd: ROOT,
    stdio: "pipe",
  });
  return path.join(out, "dist", board, "app.js");
}

export const NETWORKS = [
  { ssid: "home", password: "secret", rssi: -48, channel: 6 },
  { ssid: "cafe", rssi: -71, channel: 1 },
  { ssid: "workshop", password: "tools4all", rssi: -80, channel: 11 },
];

/** The admin password `boot` sets, and the Basic credentials header line for it. */
export const PASSWORD = "e2e-password";
export const AUTH = "Authorization: Basic " + Buffer.from("admin:" + PASSWORD).toString("base64") + "\r\n";

/** Boot `bundle` in the emulator (fresh flash) and, unless `setup` is false, set the admin password so scripts can use AUTH. */
export async function boot(bundle: string, scanMs = 300, setup = true): Promise<Emulator> {
  const emu = await startEmulator({ bundle, port: 0, board: "emulator", wifi: { networks: NETWORKS, scanMs }, quiet: true });
  if (setup) {
    const r = await fetch(`http://127.0.0.1:${emu.port}/api/password`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password: PASSWORD }) });
    if (r.status !== 200) throw new Error("setting the admin password failed: " + r.status + " " + (await r.text()));
  }
  return emu;
}

/** A raw client: what it received, whether the server closed (FIN) or reset it. */
export interface Raw {
  sock: net.Socket;
  data(): string;
  /** Resolves when the server's FIN (or a reset) arrives; `reset` says which. */
  closed: Promise<{ reset: boolean }>;
  /** Resolves once `n` bytes (latin1) or a `marker` arrived. */
  until(pred: (s: string) => boolean, ms?: number): Promise<string>;
}

export function raw(port: number, send?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const waiters: (() => void)[] = [];
    let done: (v: { reset: boolean }) => void = () => {};
    const closed = new Promise<{ reset: boolean }>((r) => (done = r));
    const sock = net.connect(port, "127.0.0.1", () => {
      if (send !== undefined) sock.write(send, "latin1");
      resolve({
        sock,
        data: () => buf,
        closed,
        until(pred, ms = 15000) {
          return new Promise((res, rej) => {
            const t = setTimeout(() => rej(new Error("timed out waiting; received: " + JSON.stringify(buf.slice(0, 500)))), ms);
            const check = () => {
              if (pred(buf)) {
                clearTimeout(t);
                res(buf);
                return true;
              }
              return false;
            };
            if (!check()) waiters.push(() => void check());
          });
        },
      });
    });
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      waiters.slice().forEach((w) => w());
    });
    sock.on("end", () => done({ reset: false }));
    sock.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNRESET" || e.code === "EPIPE") done({ reset: true });
      else reject(e);
    });
    sock.on("close", () => done({ reset: false }));
  });
}

/** Send `req` on a new connection and wait for the server to close it; returns everything received. */
export async function exchange(port: number, req: string): Promise<{ data: string; reset: boolean }> {
  const c = await raw(port, req);
  const { reset } = await withTimeout(c.closed, 15000, () => "no close; received " + JSON.stringify(c.data().slice(0, 300)));
  c.sock.destroy();
  return { data: c.data(), reset };
}

export function withTimeout<T>(p: Promise<T>, ms: number, why: () => string): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(why())), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        res(v);
      },
      (e) => {
        clearTimeout(t);
        rej(e);
      },
    );
  });
}

/** Poll `f` until it returns true (bounded count, not a timing margin: each try is a real request). */
export async function eventually(f: () => Promise<boolean>, tries = 100, gapMs = 50): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, gapMs));
  }
  throw new Error("condition never became true");
}

/** Slots in use as the firmware reports them (this request's own slot included). */
export async function slotsUsed(port: number): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { connection: "close", authorization: AUTH.slice(15, -2) } });
  if (r.status !== 200) return -1;
  return ((await r.json()) as { pool: { used: number } }).pool.used;
}

/**
 * An app bundle for update tests, made from a built one: its version (identity line and VERSION) replaced, and code
 * run `before` it (right after the identity line) or `after` it. `board` replaces the identity's board name.
 */
export function appVariant(bundle: string, version: string, o: { before?: string; after?: string; board?: string } = {}): Uint8Array {
  const text = readFileSync(bundle, "latin1");
  const nl = text.indexOf("\n");
  const id = /^\/\*espweb (\S+) (\S+)\*\/$/.exec(text.slice(0, nl));
  if (!id) throw new Error(bundle + " has no identity line");
  // Everywhere the version is written: the minifier puts it in place, inside longer strings too ("espweb 0.1.0 on ").
  const at = new RegExp("(?<![0-9.])" + id[1].replace(/\./g, "\\.") + "(?![0-9.])", "g");
  const body = text.slice(nl + 1).replace(at, version);
  return new Uint8Array(Buffer.from("/*espweb " + version + " " + (o.board || id[2]) + "*/\n" + (o.before || "") + body + (o.after || ""), "latin1"));
}

/** SHA-256 of bytes, hex. */
export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** GET /api/update with the AUTH credentials: the state, or null while the board does not answer it (restarting). */
export async function updateState(emu: Emulator): Promise<any | null> {
  try {
    const r = await fetch(emu.url + "/api/update", { headers: { authorization: AUTH.slice(15, -2), connection: "close" } });
    return r.status === 200 ? await r.json() : null;
  } catch (e) {
    return null;
  }
}

/** Poll the update state until `pred` holds or `ms` have passed (the board may restart meanwhile): the last state seen, null if none. */
export async function untilUpdate(emu: Emulator, pred: (s: any) => boolean, ms: number): Promise<any | null> {
  const end = Date.now() + ms;
  let s: any = null;
  while (Date.now() < end) {
    s = (await updateState(emu)) || s;
    if (s && pred(s)) return s;
    await new Promise((r) => setTimeout(r, 150));
  }
  return s;
}
