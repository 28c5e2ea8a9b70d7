/**
 * Settings survive a power cut at any instant: the firmware in the emulator
 * saves new settings over HTTP while the emulated flash loses power after
 * every possible number of programmed words; after each cut the board boots
 * again and must hold either the old settings or the new ones — never a mix,
 * never the defaults, and the admin password still works.
 */
import type { Emulator } from "../emulator";
import { AUTH, boot, buildBundle } from "./e2e/harness";

let emu: Emulator;

beforeAll(async () => {
  emu = await boot(buildBundle("powercut"));
}, 120000);

afterAll(async () => {
  if (emu) await emu.stop();
});

const OLD = { name: "old-name", interval: 111, units: "metric", staSsid: "old-net" };
const NEW = { name: "new-name", interval: 222, units: "imperial", staSsid: "new-net" };

async function put(v: object): Promise<number> {
  const r = await fetch(emu.url + "/api/config", { method: "PUT", headers: { "content-type": "application/json", authorization: AUTH.slice(15, -2), connection: "close" }, body: JSON.stringify(v) });
  await r.text();
  return r.status;
}

async function config(): Promise<{ status: number; json: any }> {
  const r = await fetch(emu.url + "/api/config", { headers: { authorization: AUTH.slice(15, -2), connection: "close" } });
  return { status: r.status, json: await r.json() };
}

const pick = (c: any) => ({ name: c.name, interval: c.interval, units: c.units, staSsid: c.staSsid });

test("a save cut at every word boundary leaves the old or the new settings, whole", async () => {
  expect(await put(OLD)).toBe(200);
  const p0 = emu.storage.programmed();
  expect(await put(NEW)).toBe(200);
  const bytes = emu.storage.programmed() - p0;
  expect(bytes).toBeGreaterThan(100);
  const seen = { old: 0, new: 0 };
  for (let k = 0; k <= bytes + 4; k += 4) {
    expect(await put(OLD)).toBe(200);
    const cut = emu.storage.cutPowerAfter(k);
    // The request may be answered (a cut after the last word) or die with the board.
    await Promise.race([cut, put(NEW).catch(() => 0)]);
    await emu.reboot();
    const c = await config();
    expect([k, c.status]).toEqual([k, 200]);
    const got = pick(c.json);
    if (got.name === OLD.name) {
      expect([k, got]).toEqual([k, OLD]);
      seen.old++;
    } else {
      expect([k, got]).toEqual([k, NEW]);
      seen.new++;
    }
  }
  // Both outcomes happen: early cuts keep the old settings, a cut after the whole write has the new ones.
  expect(seen.old).toBeGreaterThan(0);
  expect(seen.new).toBeGreaterThan(0);
  expect(emu.errors).toEqual([]);
}, 300000);
