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

    test('bytes() of equal strings are equal bytes (read-only: they may be views of the strings)', () => {
      const { codec } = env.hal;
      expect(Array.from(codec.bytes('abc'))).toEqual(Array.from(codec.bytes('abc')));
      expect(codec.bytes('').length).toBe(0);
    });

    test('put() writes the char codes of a string at an offset and nothing around them', () => {
      const { codec } = env.hal;
      const dst = new Uint8Array(8).fill(7);
      codec.put(dst, 2, 'A\xff\x00');
      expect(Array.from(dst)).toEqual([7, 7, 65, 255, 0, 7, 7, 7]);
      codec.put(dst, 8, '');
      const all = new Uint8Array(300);
      let s = '';
      for (let i = 0; i < 256; i++) s += String.fromCharCode(i);
      codec.put(all, 44, s);
      for (let i = 0; i < 256; i++) expect(all[44 + i]).toBe(i);
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
