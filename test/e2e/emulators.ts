/** Emulators a test file starts, stopped after each test; and waiting for a condition by polling. */
import { startEmulator, Emulator, EmulatorOptions } from "../../emulator";

const running: Emulator[] = [];

afterEach(async () => {
  while (running.length) await (running.pop() as Emulator).stop();
});

/** Start an emulator (quiet unless asked) that is stopped after the current test. */
export async function start(o: EmulatorOptions): Promise<Emulator> {
  const e = await startEmulator(Object.assign({ quiet: true }, o));
  running.push(e);
  return e;
}

/** Resolves once `cond()` (or the promise it returns) is truthy, polling; fails after `ms`, saying `what` when given. */
export async function until<T>(cond: () => T | Promise<T>, ms = 10000, what?: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(what ? "timed out waiting for " + what : "condition not met: " + cond.toString());
    await new Promise((r) => setTimeout(r, 5));
  }
}
