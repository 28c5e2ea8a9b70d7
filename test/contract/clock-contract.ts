/**
 * The Clock half of the HAL contract (hal/hal.ts: Clock), as jest tests any
 * HAL can be run through. Delays are short so a real-time HAL passes within
 * its settle() budget; only orderings the contract promises are checked
 * (soon() versus after(0) is platform-defined and deliberately not).
 */
import { ContractEnv, quiet, waitFor } from './env';

/** Declare the Clock contract tests for one HAL; `makeEnv` builds a fresh platform per test. */
export function clockContract(name: string, makeEnv: () => Promise<ContractEnv>): void {
  describe(`HAL clock contract: ${name}`, () => {
    let env: ContractEnv;
    beforeEach(async () => {
      env = await makeEnv();
    });
    afterEach(async () => {
      await env.dispose();
    });

    test('now() is a number that never goes backwards', async () => {
      const clock = env.hal.clock;
      let last = clock.now();
      expect(typeof last).toBe('number');
      let fired = false;
      clock.after(15, () => (fired = true));
      await waitFor(
        env,
        () => {
          const t = clock.now();
          if (t < last) throw new Error(`now() went back from ${last} to ${t}`);
          last = t;
          return fired;
        },
        'the timer',
      );
    });

    test('after(ms) fires once, not before ms have passed', async () => {
      const clock = env.hal.clock;
      const start = clock.now();
      const at: number[] = [];
      clock.after(20, () => at.push(clock.now()));
      await waitFor(env, () => at.length > 0, 'the timer');
      // 1 ms of slack for platforms whose clock is a rounded float
      expect(at[0] - start).toBeGreaterThanOrEqual(19);
      await quiet(env);
      expect(at.length).toBe(1);
    });

    test('timers fire in the order they fall due', async () => {
      const clock = env.hal.clock;
      const seen: string[] = [];
      clock.after(30, () => seen.push('late'));
      clock.after(5, () => seen.push('early'));
      await waitFor(env, () => seen.length === 2, 'both timers');
      expect(seen).toEqual(['early', 'late']);
    });

    test('cancel() stops a pending timer and is harmless once it ran', async () => {
      const clock = env.hal.clock;
      const seen: string[] = [];
      const h = clock.after(5, () => seen.push('cancelled'));
      const h2 = clock.after(10, () => seen.push('kept'));
      clock.cancel(h);
      await waitFor(env, () => seen.length > 0, 'the kept timer');
      clock.cancel(h2);
      clock.cancel(h);
      await quiet(env);
      expect(seen).toEqual(['kept']);
    });

    test('soon() runs after the current call returns, in FIFO order', async () => {
      const clock = env.hal.clock;
      const seen: number[] = [];
      clock.soon(() => {
        seen.push(1);
        clock.soon(() => seen.push(3));
      });
      clock.soon(() => seen.push(2));
      expect(seen).toEqual([]);
      await waitFor(env, () => seen.length === 3, 'the soon() tasks');
      expect(seen).toEqual([1, 2, 3]);
    });
  });
}
