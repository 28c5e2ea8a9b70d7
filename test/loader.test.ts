/**
 * The boot loader (firmware/loader.ts) on its own, in the emulator: Storage
 * is set up by hand in each state the loader can find at boot, and the board
 * is power-cycled. Whatever it finds, it runs an app that serves the UI when
 * one is there, and its record says what it did.
 */
import type { Emulator } from "../emulator";
import { createHash } from "crypto";
import { appVariant, boot, buildBundle, untilUpdate } from "./e2e/harness";

let emu: Emulator;
let bundle: string;

beforeAll(async () => {
  bundle = buildBundle("loader");
  emu = await boot(bundle);
}, 120000);

afterAll(async () => {
  if (emu) await emu.stop();
});

/** A slot file as an update writes it: 64 bytes the update uses, then the bundle. */
function slot(app: Uint8Array): Uint8Array {
  const b = new Uint8Array(64 + app.length).fill(32);
  b.set(app, 64);
  return b;
}

/** A record copy (firmware/record.ts): "<seq> <first 8 bytes of the body's SHA-256, hex>\n<body>". */
function record(seq: number, doc: object): string {
  const body = JSON.stringify(doc);
  return seq + " " + createHash("sha256").update(body, "latin1").digest("hex").slice(0, 16) + "\n" + body;
}

/** The loader's record as it is in flash now (the newest valid copy). */
function doc(): any {
  let best: any = null;
  for (const n of ["load.0", "load.1"]) {
    const t = emu.storage.readString(n);
    const m = t && /^(\d+) ([0-9a-f]+)\n([\s\S]*)$/.exec(t);
    if (m && (!best || +m[1] > best.seq)) best = { seq: +m[1], doc: JSON.parse(m[3]) };
  }
  return best && best.doc;
}

async function update(): Promise<any> {
  const s = await untilUpdate(emu, () => true, 10000);
  if (!s) throw new Error("the board does not answer: " + emu.logs.slice(-8).join(" | "));
  return s;
}

/** Storage as the test says, then a power cycle. */
async function set(files: Record<string, Uint8Array | string | null>): Promise<void> {
  for (const n of ["app.1", "load.0", "load.1"]) emu.storage.erase(n);
  for (const n in files) {
    emu.storage.erase(n);
    const v = files[n];
    if (v !== null) emu.storage.write(n, v);
  }
  await emu.reboot();
}

afterEach(async () => {
  // Back to the flashed image: app.0 as built, nothing else.
  emu.storage.erase("app.0");
  emu.storage.write("app.0", slot(appVariant(bundle, "0.1.0")));
  await set({});
});

test("a slot that holds neither the kept app nor a trial (a cut upload, a failed trial) is reclaimed at boot", async () => {
  await set({ "app.1": slot(appVariant(bundle, "0.1.4")), "load.0": record(1, { current: 0, trial: -1, tries: 0, prev: -1 }) });
  expect((await update()).running).toEqual({ version: "0.1.0", slot: 0 });
  expect(emu.storage.read("app.1")).toBeNull();
  expect(emu.logs.join("\n")).toMatch(/update: reclaimed app\.1/);
});

test("no record: the app in slot 0 runs, confirmed", async () => {
  await set({});
  expect(await update()).toMatchObject({ running: { version: "0.1.0", slot: 0 }, state: "confirmed" });
});

test("both copies of the record damaged (torn writes): the loader starts from the flashed state", async () => {
  await set({ "load.0": "3 0000000000000000\n{\"current\":1", "load.1": "\xff\xff\xff\xff" });
  expect(await update()).toMatchObject({ running: { version: "0.1.0", slot: 0 }, state: "confirmed" });
});

test("the newer valid copy wins over an older one", async () => {
  await set({ "app.1": slot(appVariant(bundle, "0.1.7")), "load.0": record(4, { current: 0, trial: -1, tries: 0, prev: 1 }), "load.1": record(5, { current: 1, trial: -1, tries: 0, prev: 0 }) });
  expect(await update()).toMatchObject({ running: { version: "0.1.7", slot: 1 }, previous: { version: "0.1.0", slot: 0 } });
});

test("a trial takes one try before it runs: the record says so even if the board dies at once", async () => {
  await set({ "app.1": slot(appVariant(bundle, "0.1.8")), "load.1": record(1, { current: 0, trial: 1, tries: 2, prev: -1 }) });
  const s = await update();
  expect(s).toMatchObject({ running: { version: "0.1.8", slot: 1 }, state: "trial" });
  expect(doc()).toMatchObject({ trial: 1, tries: 1 });
});

test("a trial whose app file is missing: back to the current app, with why", async () => {
  await set({ "load.1": record(1, { current: 0, trial: 1, tries: 2, prev: -1 }) });
  const s = await update();
  expect(s).toMatchObject({ running: { version: "0.1.0", slot: 0 }, state: "confirmed", back: { from: "none", to: "0.1.0", why: "its file is missing or damaged" } });
});

test("a trial with no try left (it restarted during both): back, with why", async () => {
  await set({ "app.1": slot(appVariant(bundle, "0.1.9")), "load.1": record(1, { current: 0, trial: 1, tries: 0, prev: -1 }) });
  const s = await update();
  expect(s.back).toEqual({ from: "0.1.9", to: "0.1.0", why: expect.stringMatching(/did not confirm itself/) });
  expect(s.running.version).toBe("0.1.0");
});

test("a confirmed app that throws at start falls back to the kept one, once, and says why", async () => {
  const broken = slot(appVariant(bundle, "0.6.0", { before: 'throw new Error("broken flash");' }));
  emu.storage.erase("app.0");
  emu.storage.write("app.0", broken);
  await set({ "app.1": slot(appVariant(bundle, "0.5.9")), "load.0": record(2, { current: 0, trial: -1, tries: 0, prev: 1 }) });
  const s = await update();
  expect(s).toMatchObject({ running: { version: "0.5.9", slot: 1 }, state: "confirmed", back: { from: "0.6.0", to: "0.5.9", why: expect.stringMatching(/^threw at start: Error: broken flash/) } });
  expect(doc()).toMatchObject({ current: 1, prev: -1, fell: 1 });
});

test("the current slot empty but the other holds an app: that one runs", async () => {
  await set({ "app.0": null, "app.1": slot(appVariant(bundle, "0.1.5")), "load.0": record(1, { current: 0, trial: -1, tries: 0, prev: -1 }) });
  expect((await update()).running).toEqual({ version: "0.1.5", slot: 1 });
});

test("no app at all: the loader says so on the console and the board stays up", async () => {
  emu.storage.erase("app.0");
  await set({});
  await new Promise((r) => setTimeout(r, 200));
  expect(emu.logs.join("\n")).toMatch(/loader: no app in app\.0 or app\.1: flash one \(make flash\)/);
  expect(emu.errors).toEqual([]);
});
