/**
 * The board profiles are consistent: names and files agree, limits are sane,
 * the ESP32 family fits lwIP's sockets and its JsVar pool, ports and radios
 * are right, and the offline board JSON has the shape the espruino CLI reads.
 *
 * The JsVar estimate (rough, from ../shared/ESPRUINO.md; the device's
 * `process.memory()` is the real figure):
 *   code      45 vars per KB of minified bundle loaded from Storage
 *             (a 29 KB bundle ≈ 1 300 vars), at the board's bundle budget;
 *   per slot  each buffer ceil(bytes / 14) + 4 (2 048 bytes ≈ 150 vars),
 *             + 60 for the connection's state, the interpreter's socket
 *             object and its five listeners,
 *             + 110 for one 536-byte string in flight each way (10 chars/var),
 *             + the HAL's receive queue at its cap (hal/espruino.ts:
 *               max(2 × rxSize, 4 × 536) bytes, 10 chars/var) — only a peer
 *               that floods a busy slot fills it;
 *   reserve   400 for the interpreter's own network, timers and radio state.
 * Typical use (queues empty) must stay under 75 % of the pool, the worst case
 * under 90 %.
 */
import fs from 'node:fs';
import path from 'node:path';
import { boards, findBoard } from '../boards/all';
import { board as current } from '../boards/current';
import type { Board } from '../boards/types';
import { defaultLimits } from '../src/opts';
import { PIECE } from '../hal/espruino';

const bufVars = (bytes: number) => Math.ceil(bytes / 14) + 4;
const strVars = (chars: number) => Math.ceil(chars / 10);

/** { typical, worst } JsVars for `b` by the estimate above. */
function estimate(b: Board) {
  const l = b.limits;
  const code = Math.ceil((45 * b.bundleBudget) / 1024);
  const slot = bufVars(l.rxSize) + bufVars(l.txSize) + 60 + 2 * strVars(PIECE);
  const queue = strVars(Math.max(2 * l.rxSize, 4 * PIECE));
  return { typical: code + l.slots * slot + 400, worst: code + l.slots * (slot + queue) + 400 };
}

const esp = boards.filter((b) => b.espruino !== null); // the boards that get flashed
const hosted = boards.filter((b) => b.radio === 'sim');

describe('board profiles', () => {
  it('are the five boards, each in boards/<name>.ts, names unique', () => {
    expect(boards.map((b) => b.name)).toEqual(['esp32', 'esp32c3', 'esp32s3', 'linux', 'emulator']);
    const dir = path.join(__dirname, '..', 'boards');
    const profileFiles = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'current.ts')
      .filter((f) => /export\s+(const|let|var)\s+board\b/.test(fs.readFileSync(path.join(dir, f), 'utf8')))
      .map((f) => f.slice(0, -3))
      .sort();
    expect(profileFiles).toEqual(boards.map((b) => b.name).sort());
    for (const b of boards) expect(findBoard(b.name)).toBe(b);
    expect(findBoard('nope')).toBeNull();
  });

  it('boards/current stands in as the ESP32 for type checking and tests', () => {
    expect(current.name).toBe('esp32');
  });

  it.each(boards.map((b) => [b.name, b] as [string, Board]))('%s: every limit set, positive and whole; buffers hold a request line and a piece', (_n, b) => {
    expect(Object.keys(b.limits).sort()).toEqual(Object.keys(defaultLimits).sort());
    for (const k of Object.keys(b.limits) as (keyof typeof b.limits)[]) {
      expect(Number.isInteger(b.limits[k])).toBe(true);
      expect(b.limits[k]).toBeGreaterThan(0);
    }
    expect(b.limits.rxSize).toBeGreaterThanOrEqual(b.limits.maxLine);
    expect(b.limits.txSize).toBeGreaterThanOrEqual(PIECE);
    expect(b.limits.hdrMs).toBeLessThanOrEqual(b.limits.bodyMs);
    expect(b.title.length).toBeGreaterThan(0);
    expect(b.bundleBudget).toBeGreaterThan(16 * 1024);
  });

  it.each(esp.map((b) => [b.name, b] as [string, Board]))('%s: the pool fits lwIP’s 10 sockets with the listeners, the portal’s DNS and a spare for the 503', (_n, b) => {
    const telnet = b.espruino!.info.builtin_modules.indexOf('TelnetServer') >= 0 ? 2 : 0; // its listener and its session (on at first boot)
    expect(b.limits.slots).toBeLessThanOrEqual(8);
    expect(b.limits.slots + 1 /* HTTP listener */ + 1 /* DNS */ + telnet + 1 /* spare */).toBeLessThanOrEqual(10);
  });

  // The esp32c3's 4 095 vars are measured instead (test/memory.test.ts: the whole firmware booted from Storage in the
  // emulator keeps >= 1 200 free, and a page load never runs it out); this estimate is too coarse that close.
  it.each(esp.filter((b) => b.jsvars > 4095).map((b) => [b.name, b] as [string, Board]))('%s: buffers and code fit the JsVar pool (see the estimate at the top)', (_n, b) => {
    const e = estimate(b);
    expect(b.jsvars).toBeGreaterThan(0);
    expect(e.typical).toBeLessThanOrEqual(0.75 * b.jsvars);
    expect(e.worst).toBeLessThanOrEqual(0.9 * b.jsvars);
  });

  it('esp32c3 has the small pool: 4 095 JsVars, at most 3 slots, 1 KB buffers', () => {
    const c3 = findBoard('esp32c3')!;
    expect(c3.jsvars).toBe(4095);
    expect(c3.limits.slots).toBeLessThanOrEqual(3);
    expect(c3.limits.slots).toBeGreaterThanOrEqual(2);
    expect(c3.limits.rxSize).toBeLessThanOrEqual(1024);
    expect(c3.limits.txSize).toBeLessThanOrEqual(1024);
    expect(c3.bundleBudget).toBeLessThan(findBoard('esp32')!.bundleBudget);
  });

  it('boards serve HTTP on port 80 with the Wifi radio; the emulator on 8080 with its emulated Wifi module; the Linux build (no Wifi) on 8080 with the simulated radio', () => {
    for (const b of esp.filter((x) => x.name !== 'emulator')) expect([b.httpPort, b.radio]).toEqual([80, 'esp32']);
    expect([findBoard('emulator')!.httpPort, findBoard('emulator')!.radio, findBoard('emulator')!.espruino]).toEqual([8080, 'esp32', null]);
    expect(hosted.map((b) => b.name)).toEqual(['linux']);
    for (const b of hosted) expect([b.httpPort, b.radio, b.espruino]).toEqual([8080, 'sim', null]);
    expect(findBoard('linux')!.jsvars).toBe(0); // the Linux build's pool grows on demand
  });

  it('the emulator is held to an ESP32: its JsVar pool and lwIP’s 10 sockets (listener + DNS + slots + a spare)', () => {
    const em = findBoard('emulator')!;
    expect(em.jsvars).toBe(16383);
    expect(em.limits.slots + 1 + 1 + 1).toBeLessThanOrEqual(10);
    const e = estimate(em);
    expect(e.typical).toBeLessThanOrEqual(0.75 * em.jsvars);
    expect(e.worst).toBeLessThanOrEqual(0.9 * em.jsvars);
  });

  it('hosted boards keep 8 slots for the wrk -c8 keep-alive benchmark', () => {
    for (const b of hosted) expect(b.limits.slots).toBeGreaterThanOrEqual(8);
  });

  it.each(esp.map((b) => [b.name, b] as [string, Board]))('%s: the offline board JSON has what the espruino CLI reads', (_n, b) => {
    const j = JSON.parse(JSON.stringify({ info: b.espruino!.info, chip: b.espruino!.chip }));
    expect(Array.isArray(j.info.builtin_modules)).toBe(true);
    // Without these the CLI tries to download them as JavaScript modules.
    expect(j.info.builtin_modules).toEqual(expect.arrayContaining(['Storage', 'net', 'Wifi', 'http']));
    const sc = j.chip.saved_code;
    for (const k of ['address', 'page_size', 'pages', 'flash_available']) expect(Number.isInteger(sc[k])).toBe(true);
    expect(sc.address % sc.page_size).toBe(0);
    expect(sc.pages * sc.page_size).toBe(b.storage.size);
    expect(b.bundleBudget).toBeLessThan(b.storage.size);
    expect(j.info.default_console_baudrate).toBe(115200);
  });

  it('esp32 carries the 2v29 values measured in ESPRUINO.md', () => {
    const e = findBoard('esp32')!.espruino!;
    expect(e.info.builtin_modules.join(' ')).toBe('timer Flash Storage heatshrink fs net dgram tls http NetworkJS Wifi TelnetServer crypto neopixel');
    expect(e.chip.saved_code).toEqual({ address: 3276800, page_size: 4096, pages: 224, flash_available: 1344 });
  });
});
