/**
 * An update survives a power cut at any phase: the emulated flash loses power
 * after a given number of programmed bytes — while the new app streams into its
 * slot, while the update's record is written, while the loader records the
 * trial's try at the restart, while the app confirms itself — then the board
 * is power-cycled. Every time it must come back serving the UI, running the
 * old app or the new one, confirmed (after finishing or failing the trial by
 * itself), never neither.
 */
import type { Emulator } from "../emulator";
import { AUTH, appVariant, boot, buildBundle, sha256, untilUpdate } from "./e2e/harness";

let emu: Emulator;
let bundle: string;
const BASIC = AUTH.slice(15, -2);

beforeAll(async () => {
  bundle = buildBundle("update-powercut");
  emu = await boot(bundle);
}, 120000);

afterAll(async () => {
  if (emu) await emu.stop();
});

const until = (pred: (s: any) => boolean, ms: number) => untilUpdate(emu, pred, ms);

/**
 * The board as flashed: the old app alone, confirmed, its Storage compacted (so that every run programs the same
 * bytes in the same order: a compaction on the way would move the cut elsewhere; a cut during one is the
 * interpreter's own hazard, see the README).
 */
async function restore(): Promise<void> {
  for (const n of ["app.1", "load.0", "load.1"]) emu.storage.erase(n);
  emu.eval('require("Storage").compact()');
  await emu.reboot();
  const s = await until((x) => x.running.version === "0.1.0", 10000);
  expect(s && s.state).toBe("confirmed");
}

const NEW = "0.9.0";

function send(app: Uint8Array): Promise<number> {
  return fetch(emu.url + "/api/update", { method: "POST", headers: { authorization: BASIC, connection: "close", "x-update-sha256": sha256(app) }, body: app })
    .then((r) => r.text().then(() => r.status))
    .catch(() => 0);
}

test("a power cut at any phase of an update leaves a board that serves the UI with the old or the new app", async () => {
  const app = appVariant(bundle, NEW);
  await restore();
  const p0 = emu.storage.programmed();
  expect(await send(app)).toBe(200);
  expect((await until((s) => s.running.version === NEW && s.state === "confirmed", 15000)).state).toBe("confirmed");
  const total = emu.storage.programmed() - p0;
  // The app's file (its Storage header, HEAD bytes, the bundle) comes first; the records after it.
  const appEnd = 32 + 64 + app.length;
  expect(total).toBeGreaterThan(appEnd + 150);
  const cuts: number[] = [0, 4, 32, 64, 96, 100];
  for (let i = 1; i < 8; i++) cuts.push(Math.floor((appEnd * i) / 8 / 4) * 4);
  const tail = appEnd - (appEnd % 4);
  for (let k = tail; k < tail + 40; k += 4) cuts.push(k);
  for (let k = tail + 40; k <= total + 4; k += 12) cuts.push(k - (k % 4));
  const seen: Record<string, number> = {};
  for (const k of cuts) {
    await restore();
    const cut = emu.storage.cutPowerAfter(k);
    let fired = false;
    cut.then(() => (fired = true));
    send(app);
    // Until the cut fires, or the update has gone all the way through without it.
    await Promise.race([cut, until((s) => s.running.version === NEW && s.state === "confirmed", 12000)]);
    await emu.reboot();
    const s = await until((x) => x.state === "confirmed", 20000);
    expect([k, fired, s && s.state]).toEqual([k, fired, "confirmed"]);
    expect([k, s.running.version === "0.1.0" || s.running.version === NEW]).toEqual([k, true]);
    const ui = await fetch(emu.url + "/", { headers: { "accept-encoding": "gzip", connection: "close" } });
    expect([k, ui.status]).toEqual([k, 200]);
    seen[s.running.version] = (seen[s.running.version] || 0) + 1;
  }
  // Early cuts keep the old app, late ones have the new one.
  expect(seen["0.1.0"]).toBeGreaterThan(0);
  expect(seen[NEW]).toBeGreaterThan(0);
  expect(emu.errors).toEqual([]);
}, 600000);
