/**
 * Memory, the budget that binds (DESIGN.md): the whole firmware booted from
 * Storage in the emulator, held to each board's JsVars, after boot and at the
 * peak of a page load (the UI's files and the API calls the UI makes when it
 * opens, signed in, as many at once as the board has slots). The esp32c3 must
 * keep at least 1 200 vars free after boot and never run out. The emulator's
 * figures are estimates (emulator/README.md, "What is estimated").
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { buildBundle, ROOT } from "./e2e/harness";

/** tools/memory.mjs in its own process (the emulator's estimate needs the V8 inspector, which jest's sandbox hides). */
function measure(board: string, bundle: string) {
  const out = execFileSync(process.execPath, [path.join(ROOT, "tools/memory.mjs"), "--bundle", bundle, "--board", board, "--json"], { encoding: "utf8" });
  return JSON.parse(out) as {
    boot: { usage: number; free: number; total: number };
    peak: number;
    statuses: number[];
    errors: string[];
    uploads: { bytes: number; status: number; peak: number; above: number }[];
  };
}

let esp32: string;
let c3: string;
beforeAll(() => {
  esp32 = buildBundle("mem-esp32", "firmware/main.ts", "esp32");
  c3 = buildBundle("mem-c3", "firmware/main.ts", "esp32c3");
}, 180000);

test.each([
  ["esp32", 16383, 0],
  ["esp32c3", 4095, 1200],
] as const)("%s: memory after boot, at the peak of a page load, and during an update upload (the same for 20 and 60 KB)", async (board, total, minFree) => {
  const m = measure(board, board === "esp32" ? esp32 : c3);
  // eslint-disable-next-line no-console
  console.log(`memory ${board}: after boot ${m.boot.usage} of ${m.boot.total} vars used (${m.boot.free} free); peak of a page load ${m.peak} (${total - m.peak} free)`);
  expect(m.boot.total).toBe(total);
  expect(m.boot.free).toBeGreaterThanOrEqual(minFree);
  expect(m.peak).toBeLessThan(total);
  expect(m.statuses.sort()).toEqual([200, 200, 200, 200, 200, 200]);
  // eslint-disable-next-line no-console
  console.log(`memory ${board}: update upload ` + m.uploads.map((u) => u.bytes + " B: " + u.above + " vars above idle").join(", "));
  // Stored and checked whole (the checksum sent is wrong on purpose: no restart), in memory that does not grow with the file.
  expect(m.uploads.map((u) => u.status)).toEqual([400, 400]);
  expect(m.uploads[1].bytes).toBe(3 * m.uploads[0].bytes);
  expect(m.uploads[1].above).toBe(m.uploads[0].above);
  for (const u of m.uploads) expect(u.peak).toBeLessThan(total);
  expect(m.errors).toEqual([]);
}, 60000);
