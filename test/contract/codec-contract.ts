/**
 * The Codec, Mem and log parts of the HAL contract (hal/hal.ts), as jest
 * tests any HAL can be run through.
 */
import { ContractEnv } from './env';

/** Declare the Codec/Mem/log contract tests for one HAL; `makeEnv` builds a fresh platform per test. */
export function codecContract(name: string, makeEnv: () => Promise<ContractEnv>): void {
  describe(`HAL codec contract: ${name}`, () => {
    let env: ContractEnv;
    beforeEach(async () => {
      env = await makeEnv();
    });
    afterEach(async () => {
      await env.dispose();
    });

    test('str() and bytes() round-trip all 256 byte values', () => {
      const { codec } = env.hal;
      const all = new Uint8Array(256);
      for (let i = 0; i < 256; i++) all[i] = i;
      const s = codec.str(all, 0, 256);
      expect(s.length).toBe(256);
      for (let i = 0; i < 256; i++) expect(s.charCodeAt(i)).toBe(i);
      const back = codec.bytes(s);
      expect(back).toBeInstanceOf(Uint8Array);
      expect(Array.from(back)).toEqual(Array.from(all));
    });

    test('str() converts exactly the range [from, to) of a view', () => {
      const { codec } = env.hal;
      const buf = new Uint8Array([120, 72, 105, 33, 120]);
      expect(codec.str(buf, 1, 4)).toBe('Hi!');
      expect(codec.str(buf.subarray(1), 0, 2)).toBe('Hi');
      expect(codec.str(buf, 2, 2)).toBe('');
    });

    test('bytes() returns a new array each time', () => {
      const { codec } = env.hal;
      const a = codec.bytes('abc');
      const b = codec.bytes('abc');
      a[0] = 0;
      expect(b[0]).toBe(97);
    });

    test('mem.usage() reports used and total in a named unit', () => {
      const u = env.hal.mem.usage();
      expect(typeof u.unit).toBe('string');
      expect(u.total).toBeGreaterThan(0);
      expect(u.used).toBeGreaterThanOrEqual(0);
      expect(u.used).toBeLessThanOrEqual(u.total);
    });

    test('log() takes a line', () => {
      expect(() => env.hal.log('contract: hello')).not.toThrow();
    });
  });
}
