/**
 * The emulator's `require("crypto")`, `peek8/16/32` (the chip's hardware RNG register, memory-mapped
 * Storage) and `require("TelnetServer")`, held to Espruino 2v29's behaviour (libs/crypto/jswrap_crypto.c,
 * src/jswrap_io.c, targets/esp32/jshardware.c, libs/network/telnet/jswrap_telnet.c at the release commit
 * 6106910b8) and to published test vectors.
 */
import * as crypto from 'crypto';
import { Emulator } from '../emulator';
import { start, until } from './e2e/emulators';


/** Hex of the bytes of an expression that yields an ArrayBuffer in the device. */
const hex = (e: Emulator, expr: string): string => e.eval('var _r = ' + expr + '; _r === undefined ? "undefined" : E.toString(new Uint8Array(_r))')
  .split('').map((c: string) => ('0' + c.charCodeAt(0).toString(16)).slice(-2)).join('');

const RNG_ESP32 = 0x60035144; // ESP-IDF soc/esp32/include/soc/wdev_reg.h
const RNG_ESP32_DPORT = 0x3ff75144; // the same register on the DPORT bus (ESP32 TRM)
const RNG_S3 = 0x6003507c; // soc/esp32s3/include/soc/wdev_reg.h
const RNG_C3 = 0x600260b0; // soc/esp32c3/include/soc/wdev_reg.h

describe('require("crypto")', () => {
  test('is built in: no longer "not emulated"; AES stays unemulated', async () => {
    const e = await start({ code: 'var c = require("crypto");' });
    expect(e.eval('typeof c.SHA256 + typeof c.PBKDF2 + typeof c.AES')).toBe('functionfunctionobject');
    expect(() => e.eval('c.AES.encrypt("0123456789abcdef", "0123456789abcdef")')).toThrow(/crypto\.AES\.encrypt is built into the board but not emulated/);
    expect(() => e.eval('c.AES.decrypt("0123456789abcdef", "0123456789abcdef")')).toThrow(/not emulated/);
  });

  test('SHA256("abc") and SHA1("abc") are the FIPS 180 digests, as ArrayBuffers of the sandbox', async () => {
    const e = await start({ code: 'var c = require("crypto");' });
    expect(hex(e, 'c.SHA256("abc")')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hex(e, 'c.SHA1("abc")')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(hex(e, 'c.SHA256("")')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(e.eval('c.SHA256("abc") instanceof ArrayBuffer')).toBe(true);
  });

  test('SHA224/384/512 give 28, 48 and 64 bytes (the doc strings say 20: the code uses shaNum / 8)', async () => {
    const e = await start({ code: 'var c = require("crypto");' });
    expect(e.eval('[c.SHA1("x").byteLength, c.SHA224("x").byteLength, c.SHA256("x").byteLength, c.SHA384("x").byteLength, c.SHA512("x").byteLength].join()'))
      .toBe('20,28,32,48,64');
    for (const [m, n] of [['SHA224', 'sha224'], ['SHA384', 'sha384'], ['SHA512', 'sha512']]) {
      expect(hex(e, 'c.' + m + '("abc")')).toBe(crypto.createHash(n).update('abc').digest('hex'));
    }
  });

  test('a string, a Uint8Array, an ArrayBuffer, an array of bytes and {data, count} hash the same bytes', async () => {
    const e = await start({ code: 'var c = require("crypto");' });
    const want = crypto.createHash('sha256').update('abc').digest('hex');
    expect(hex(e, 'c.SHA256(new Uint8Array([97, 98, 99]))')).toBe(want);
    expect(hex(e, 'c.SHA256(new Uint8Array([97, 98, 99]).buffer)')).toBe(want);
    expect(hex(e, 'c.SHA256(new Uint8Array([0, 97, 98, 99, 0]).subarray(1, 4))')).toBe(want);
    expect(hex(e, 'c.SHA256([97, 98, 99])')).toBe(want);
    expect(hex(e, 'c.SHA256(["a", 98, [99]])')).toBe(want);
    expect(hex(e, 'c.SHA256({data: "abc", count: 1})')).toBe(want);
    expect(hex(e, 'c.SHA256({data: "a", count: 3})')).toBe(crypto.createHash('sha256').update('aaa').digest('hex'));
    // Chars above 255 make a UTF-8 string on the device: its bytes are hashed.
    expect(hex(e, 'c.SHA256("\\u20ac")')).toBe(crypto.createHash('sha256').update('\u20ac', 'utf8').digest('hex'));
  });

  test('arguments the way JSV_GET_AS_CHAR_ARRAY takes them: undefined gives undefined, null and plain objects throw', async () => {
    const e = await start({ code: 'var c = require("crypto");' });
    expect(e.eval('c.SHA256()')).toBeUndefined();
    expect(e.eval('c.SHA1(undefined)')).toBeUndefined();
    expect(() => e.eval('c.SHA256(null)')).toThrow('Expecting Number or iterable, got null');
    expect(() => e.eval('c.SHA256([1, undefined])')).toThrow('Expecting Number or iterable, got undefined');
    expect(() => e.eval('c.SHA256({a: 1})')).toThrow(/must be of the form \{data : \.\.\., count : N\} or \{callback : fn\}/);
    expect(e.eval('try { c.SHA256(null); "no" } catch (x) { x instanceof TypeError }')).toBe(true);
    // A number is one byte.
    expect(hex(e, 'c.SHA256(97)')).toBe(crypto.createHash('sha256').update('a').digest('hex'));
  });

  test('a wider typed array held in one block is read with its element count as byte length (2v29 quirk)', async () => {
    const e = await start({ code: 'var c = require("crypto");' });
    // 4 bytes (one JsVar): jsvGetDataPointer hands out `length` (2) bytes of memory: "AB".
    expect(hex(e, 'c.SHA256(new Uint16Array([0x4241, 0x4443]))')).toBe(crypto.createHash('sha256').update('AB').digest('hex'));
    // 12 bytes (two linked JsVars): iterated, each element's low byte.
    expect(hex(e, 'c.SHA256(new Uint16Array([0x141, 0x142, 0x143, 0x144, 0x145, 0x146]))')).toBe(crypto.createHash('sha256').update('ABCDEF').digest('hex'));
  });

  test('PBKDF2 matches RFC 6070 (HMAC-SHA1) and the PBKDF2-HMAC-SHA256 vectors, keySize in 32-bit words', async () => {
    const e = await start({ code: 'var c = require("crypto");' });
    expect(hex(e, 'c.PBKDF2("password", "salt", {keySize: 5, iterations: 1, hasher: "SHA1"})')).toBe('0c60c80f961f0e71f3a9b524af6012062fe037a6');
    expect(hex(e, 'c.PBKDF2("password", "salt", {keySize: 5, iterations: 2, hasher: "SHA1"})')).toBe('ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957');
    expect(hex(e, 'c.PBKDF2("password", "salt", {keySize: 5, iterations: 4096, hasher: "SHA1"})')).toBe('4b007901b765489abead49d926f721d065a429c1');
    expect(hex(e, 'c.PBKDF2("password", "salt", {keySize: 8, iterations: 1, hasher: "SHA256"})')).toBe('120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b');
    expect(hex(e, 'c.PBKDF2("password", "salt", {keySize: 8, iterations: 4096, hasher: "SHA256"})')).toBe('c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a');
    // RFC 7914 section 11: PBKDF2-HMAC-SHA256, P = "passwd", S = "salt", c = 1, dkLen = 64.
    expect(hex(e, 'c.PBKDF2("passwd", "salt", {keySize: 16, iterations: 1, hasher: "SHA256"})')).toBe(
      '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783',
    );
    // Byte arrays are taken as well as strings.
    expect(hex(e, 'c.PBKDF2("password", new Uint8Array([115, 97, 108, 116]), {keySize: 8, hasher: "SHA256"})')).toBe('120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b');
    expect(e.eval('c.PBKDF2("p", "s", {keySize: 8, hasher: "SHA512"}) instanceof ArrayBuffer')).toBe(true);
  });

  test('PBKDF2 defaults are the code\'s, not the doc string\'s: keySize 4 words, 1 iteration, SHA1', async () => {
    const e = await start({ code: 'var c = require("crypto");' });
    const sha1c1 = crypto.pbkdf2Sync('password', 'salt', 1, 16, 'sha1').toString('hex');
    expect(hex(e, 'c.PBKDF2("password", "salt")')).toBe(sha1c1);
    expect(hex(e, 'c.PBKDF2("password", "salt", {})')).toBe(sha1c1);
    expect(hex(e, 'c.PBKDF2("password", "salt", {keySize: 0, iterations: 0})')).toBe(sha1c1);
    expect(hex(e, 'c.PBKDF2("password", "salt", {keySize: -3, iterations: -1})')).toBe(sha1c1);
    // Not the documented `keySize: 8, iterations: 10`.
    expect(hex(e, 'c.PBKDF2("password", "salt")')).not.toBe(crypto.pbkdf2Sync('password', 'salt', 10, 32, 'sha1').toString('hex'));
    // Integers as jsvGetInteger reads them: a numeric string counts, a fraction is cut.
    expect(e.eval('c.PBKDF2("p", "s", {keySize: "8"}).byteLength')).toBe(32);
    expect(e.eval('c.PBKDF2("p", "s", {keySize: 2.9}).byteLength')).toBe(8);
    // Options that are neither an object nor undefined: an error is printed, the defaults apply.
    expect(hex(e, 'c.PBKDF2("password", "salt", "SHA256")')).toBe(sha1c1);
    expect(e.logs).toContain('ERROR: Options should be an object or undefined, got String');
    // An unknown hasher throws; undefined arguments give undefined.
    expect(() => e.eval('c.PBKDF2("p", "s", {hasher: "MD5"})')).toThrow('Unknown Hasher "MD5"');
    expect(() => e.eval('c.PBKDF2("p", "s", {hasher: "sha256"})')).toThrow('Unknown Hasher "sha256"');
    expect(e.eval('c.PBKDF2(undefined, "s")')).toBeUndefined();
    expect(e.eval('c.PBKDF2("p")')).toBeUndefined();
  });
});

describe('peek8/16/32', () => {
  test('the ESP32 RNG register gives 32 fresh random bits at each read, both bus addresses', async () => {
    const e = await start({ code: '', board: 'esp32' });
    const reads: number[] = [];
    for (let i = 0; i < 16; i++) reads.push(e.eval('peek32(' + RNG_ESP32 + ')'), e.eval('peek32(' + RNG_ESP32_DPORT + ')'));
    for (const r of reads) {
      expect(Number.isInteger(r)).toBe(true);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan(2 ** 32);
    }
    expect(new Set(reads).size).toBeGreaterThan(30);
    // Some read has the top bit set: the value is unsigned, as jsvNewFromLongInteger makes it.
    expect(reads.some((r) => r >= 2 ** 31)).toBe(true);
    expect(e.eval('typeof peek8(' + RNG_ESP32 + ') + typeof peek16(' + RNG_ESP32 + ')')).toBe('numbernumber');
    expect(e.eval('var a = []; for (var i = 0; i < 40; i++) a.push(peek8(' + RNG_ESP32 + ')); a.filter(function (x) { return x !== a[0]; }).length > 0')).toBe(true);
  });

  test('the register values differ across reboots (unlike Math.random and E.hwRand on the board)', async () => {
    const e = await start({ code: 'var first = peek32(' + RNG_ESP32 + ');' });
    const before = [e.eval('first'), e.eval('peek32(' + RNG_ESP32 + ')'), e.eval('peek32(' + RNG_ESP32 + ')')];
    await e.reboot();
    const after = [e.eval('first'), e.eval('peek32(' + RNG_ESP32 + ')'), e.eval('peek32(' + RNG_ESP32 + ')')];
    expect(after[0]).not.toBe(before[0]);
    for (const v of after) expect(before).not.toContain(v);
  });

  test('each chip has its own register; other addresses read 0', async () => {
    const c3 = await start({ code: '', board: 'esp32c3' });
    expect(new Set([0, 1, 2, 3, 4, 5].map(() => c3.eval('peek32(' + RNG_C3 + ')'))).size).toBeGreaterThan(1);
    expect(c3.eval('peek32(' + RNG_ESP32 + ')')).toBe(0);
    const s3 = await start({ code: '', board: 'esp32s3' });
    expect(new Set([0, 1, 2, 3, 4, 5].map(() => s3.eval('peek32(' + RNG_S3 + ')'))).size).toBeGreaterThan(1);
    expect(s3.eval('peek32(' + RNG_ESP32 + ')')).toBe(0);
    const e = await start({ code: '' });
    expect(e.eval('peek32(' + RNG_S3 + ')')).toBe(0);
    expect(e.eval('peek32(' + RNG_C3 + ')')).toBe(0);
    expect(e.eval('peek32(0x3FFB0000)')).toBe(0);
    expect(e.eval('peek8(0x50000000) + peek16(0x60000000)')).toBe(0);
  });

  test('count > 1 reads consecutive addresses into a Uint8/16/32Array: only the first item is the RNG register', async () => {
    const e = await start({ code: '' });
    expect(e.eval('var a = peek32(' + RNG_ESP32 + ', 3); (a instanceof Uint32Array) + "," + a.length + "," + a[1] + "," + a[2]')).toBe('true,3,0,0');
    expect(e.eval('peek16(0x60000000, 2) instanceof Uint16Array')).toBe(true);
    expect(e.eval('peek8(0x60000000, 2) instanceof Uint8Array')).toBe(true);
  });

  test('addresses up to 0x10000000 are flash: the Storage area is memory-mapped at 0x320000', async () => {
    const e = await start({ code: 'var x = 1;' });
    // .bootcde is the first file: a 32-byte header (size, then the name), then the code.
    expect(e.eval('E.toString(peek8(0x320004, 8))')).toBe('.bootcde');
    expect(e.eval('peek32(0x320000) & 0xFFFFFF')).toBe('var x = 1;'.length);
    expect(e.eval('E.toString(peek8(0x320020, 10))')).toBe('var x = 1;');
    expect(e.eval('peek16(0x320020)')).toBe('v'.charCodeAt(0) + 256 * 'a'.charCodeAt(0));
    expect(e.eval('peek8(0x31FFFF)')).toBe(0);
  });
});

describe('require("TelnetServer")', () => {
  test('the console is on at power-on; setOptions({mode}) switches it and the host sees it', async () => {
    const e = await start({ code: '' });
    expect(e.telnet()).toBe('on');
    e.eval('require("TelnetServer").setOptions({mode: "off"})');
    expect(e.telnet()).toBe('off');
    e.eval('require("TelnetServer").setOptions({mode: "on"})');
    expect(e.telnet()).toBe('on');
    e.eval('require("TelnetServer").setOptions({mode: "off"})');
    // No mode, or a mode that is not a string: nothing changes.
    e.eval('require("TelnetServer").setOptions({})');
    e.eval('require("TelnetServer").setOptions({mode: 1})');
    expect(e.telnet()).toBe('off');
    expect(e.eval('require("TelnetServer").setOptions({mode: "on"})')).toBeUndefined();
  });

  test('setOptions checks its argument like 2v29', async () => {
    const e = await start({ code: '' });
    expect(() => e.eval('require("TelnetServer").setOptions("off")')).toThrow('Expecting Object, got String');
    expect(() => e.eval('require("TelnetServer").setOptions()')).toThrow('Expecting Object, got undefined');
    expect(() => e.eval('require("TelnetServer").setOptions({mode: "OFF"})')).toThrow('Unknown mode value');
    expect(e.telnet()).toBe('on');
  });

  test('the mode does not survive a reset, a load() or a reboot: the boot code must set it every time', async () => {
    const e = await start({ code: '' });
    e.eval('require("TelnetServer").setOptions({mode: "off"})');
    await e.reset();
    expect(e.telnet()).toBe('on');
    e.eval('require("TelnetServer").setOptions({mode: "off"})');
    await e.reboot();
    expect(e.telnet()).toBe('on');
    e.eval('require("TelnetServer").setOptions({mode: "off"})');
    e.eval('var before = 1; load()');
    await until(() => e.eval('typeof before') === 'undefined');
    expect(e.telnet()).toBe('on');

    const f = await start({ code: 'require("TelnetServer").setOptions({mode: "off"});' });
    expect(f.telnet()).toBe('off');
    await f.reboot();
    expect(f.telnet()).toBe('off');
  });

  test('the ESP32-C3 build has no TelnetServer (no TELNET in boards/ESP32C3_IDF4.py)', async () => {
    const e = await start({ code: '', board: 'esp32c3' });
    expect(() => e.eval('require("TelnetServer")')).toThrow('Module "TelnetServer" not found');
    expect(e.eval('process.env.MODULES.split(",").indexOf("TelnetServer")')).toBe(-1);
    expect(e.telnet()).toBe('off');
    const s3 = await start({ code: '', board: 'esp32s3' });
    expect(s3.eval('process.env.BOARD')).toBe('ESP32S3');
    expect(s3.telnet()).toBe('on');
  });
});

describe('E.enableWatchdog (targets/esp32/jshardware.c: the task watchdog restarts the chip)', () => {
  // The boot code hangs once (a Storage flag says it did), then says how it came back.
  const HANG_ONCE = (enable: string) =>
    'var S = require("Storage"); if (!S.read("hung")) { S.write("hung", "1"); ' + enable + '; setTimeout(function () { for (;;) {} }, 50); } else print("came back");';

  test('a callback that never returns to the idle loop restarts the board after the timeout', async () => {
    const e = await start({ code: HANG_ONCE('E.enableWatchdog(1)') });
    await until(() => e.logs.includes('came back'), 10000);
    expect(e.logs.join('\n')).toMatch(/task_wdt: Task watchdog got triggered: no return to the idle loop for 1 s: the chip restarts/);
  });

  test('auto mode: the idle loop kicks it, so a board that returns to it runs on', async () => {
    const e = await start({ code: 'E.enableWatchdog(1); var n = 0; setInterval(function () { n++; }, 100);' });
    await new Promise((r) => setTimeout(r, 2500));
    expect(e.eval('n')).toBeGreaterThan(15);
    expect(e.logs.join('\n')).not.toMatch(/task_wdt/);
  });

  test('manual mode: without E.kickWatchdog() the board restarts; with it, it runs on', async () => {
    const e = await start({ code: 'var S = require("Storage"); if (!S.read("hung")) { S.write("hung", "1"); E.enableWatchdog(1, false); } else print("came back");' });
    await until(() => e.logs.includes('came back'), 10000);
    const f = await start({ code: 'E.enableWatchdog(1, false); var n = 0; setInterval(function () { n++; E.kickWatchdog(); }, 200);' });
    await new Promise((r) => setTimeout(r, 2500));
    expect(f.eval('n')).toBeGreaterThan(8);
    expect(f.logs.join('\n')).not.toMatch(/task_wdt/);
  });
});
