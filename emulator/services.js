// @ts-check
/**
 * The host side of `require("crypto")`, `peek8/16/32` and `require("TelnetServer")`, with the argument
 * handling of Espruino 2v29 (release commit 6106910b8; read, not copied): libs/crypto/jswrap_crypto.c,
 * JSV_GET_AS_CHAR_ARRAY and jsvGetDataPointer (src/jsvar.h, src/jsvar.c), jsvIterateCallback
 * (src/jsvariterator.c), jswrap_io_peek (src/jswrap_io.c), jshFlashGetMemMapAddress
 * (targets/esp32/jshardware.c) and libs/network/telnet/jswrap_telnet.c. Digests and PBKDF2 are computed
 * by Node's crypto; the chip's hardware RNG register reads the OS's randomness.
 */
'use strict';
const nodeCrypto = require('crypto');
const { EspError, strBytes, u8 } = require('./flash');
const { tag } = require('./convert');

// A string of up to 9 bytes fits one 14-byte JsVar; up to 19 (JSV_FLAT_STRING_BREAK_EVEN) takes two linked
// ones; an ArrayBuffer above that gets a flat string (jswrap_arraybuffer_constructor). Only data in one block
// (one var, flat, or in flash) is read in place by jsvGetDataPointer.
const ONE_VAR = 9;
const BREAK_EVEN = 19;

/** Digest sizes by crypto method (bufferSize = shaNum / 8, SHA1 20). */
const SHA = /** @type {Record<string, [string, number]>} */ ({
  SHA1: ['sha1', 20], SHA224: ['sha224', 28], SHA256: ['sha256', 32], SHA384: ['sha384', 48], SHA512: ['sha512', 64],
});

/** @param {unknown} v @returns {v is ArrayBuffer} */
function isAB(v) {
  return tag(v) === 'ArrayBuffer';
}

/** A typed array (any realm), not a DataView (an ordinary object on Espruino). @param {unknown} v @returns {v is Uint8Array} */
function isTyped(v) {
  return ArrayBuffer.isView(v) && tag(v) !== 'DataView';
}

/** Espruino's jsvIsObject: a plain object (class instances, Date, Error, DataView…), not an array, buffer or function. @param {unknown} v */
function isEspObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !isTyped(v) && !isAB(v);
}

/**
 * What `%t` prints for a value in Espruino's messages (jswGetBasicObjectName, else jsvGetTypeOf).
 * @param {unknown} v
 */
function typeName(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return 'String';
  if (typeof v === 'number' || typeof v === 'boolean') return 'Number';
  if (typeof v === 'function') return 'Function';
  if (Array.isArray(v)) return 'Array';
  if (isTyped(v) || isAB(v)) return tag(v);
  return 'Object';
}

/** An own data property, as jsvObjectGetChildIfExists finds it (no prototype chain, no getter call). @param {any} o @param {string} k */
function own(o, k) {
  const d = Object.getOwnPropertyDescriptor(o, k);
  return d && 'value' in d ? d.value : undefined;
}

/**
 * A string's integer as jsvGetInteger reads it: only when jsvIsStringNumericInt accepts it (leading
 * whitespace, a sign, a 0x/0b/0o prefix or a leading 0 for octal unless a '.', 8 or 9 follows, digits, at most
 * one '.'), then the digits before the point; else 0. So "8" is 8, "2.9" 2, "0x10" 16, "010" 8, "1e3" 0.
 * @param {string} s
 */
function strInt(s) {
  const m = /^\s*([-+]?)(0[xXbBoO])?([0-9a-zA-Z.]+)$/.exec(s);
  if (!m) return 0;
  const p = m[2] ? m[2][1].toLowerCase() : '';
  const d = m[3];
  let radix = p === 'x' ? 16 : p === 'b' ? 2 : p === 'o' ? 8 : 10;
  if (!p && d[0] === '0' && !/[.89]/.test(d)) radix = 8;
  if (d.indexOf('.') !== d.lastIndexOf('.')) return 0;
  for (const ch of d) if (ch !== '.' && !(parseInt(ch, 36) < radix)) return 0;
  let v = 0;
  for (const ch of d.split('.')[0]) v = v * radix + parseInt(ch, 36);
  return (m[1] === '-' ? -v : v) | 0;
}

/**
 * jsvGetInteger: numbers truncated to 32 bits (non-finite 0), booleans 0/1, numeric strings parsed, a
 * one-element array its element, anything else 0.
 * @param {unknown} v @returns {number}
 */
function espInt(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return strInt(v);
  if (Array.isArray(v) || isTyped(v)) return /** @type {any} */ (v).length === 1 ? espInt(/** @type {any} */ (v)[0]) : 0;
  return 0;
}

/** @param {unknown} v */
function json(v) {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s;
  } catch (e) {
    return String(v);
  }
}

/**
 * Append the bytes jsvIterateCallback gives for `v`: a number (or boolean) is one byte, a string its bytes, a
 * typed array or ArrayBuffer each element's integer value as a byte, an array each element (a missing or
 * undefined element throws), `{callback: fn}` what fn returns, `{data, count}` data count times. Anything else
 * is a TypeError, as on the device.
 * @param {unknown} v @param {number[]} out @param {number} depth
 */
function iterate(v, out, depth) {
  if (depth > 64) throw new EspError('Maximum recursion depth exceeded', 'InternalError');
  if (typeof v === 'number') { out.push(Number.isFinite(v) ? Math.trunc(v) & 255 : 0); return; }
  if (typeof v === 'boolean') { out.push(v ? 1 : 0); return; }
  if (typeof v === 'string') { for (const b of strBytes(v)) out.push(b); return; }
  if (isAB(v)) { for (const b of new Uint8Array(v)) out.push(b); return; }
  if (isTyped(v)) {
    const a = /** @type {any} */ (v);
    for (let i = 0; i < a.length; i++) out.push(Number(a[i]) & 255);
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) iterate(v[i], out, depth + 1);
    return;
  }
  if (isEspObject(v)) {
    const o = /** @type {any} */ (v);
    const cb = own(o, 'callback');
    if (typeof cb === 'function') {
      const r = cb.call(undefined);
      if (r !== undefined) iterate(r, out, depth + 1);
      return;
    }
    const count = own(o, 'count');
    const data = own(o, 'data');
    if (data !== undefined && (typeof count === 'number' || typeof count === 'boolean')) {
      for (let n = espInt(count); n > 0; n--) iterate(data, out, depth + 1);
      return;
    }
    throw new EspError('If specifying an object, it must be of the form {data : ..., count : N} or {callback : fn} - got ' + json(v), 'TypeError');
  }
  if (typeof v === 'function') {
    // Iterable on Espruino: its members' values.
    for (const k of Object.keys(v)) iterate(/** @type {any} */ (v)[k], out, depth + 1);
    return;
  }
  throw new EspError('Expecting Number or iterable, got ' + typeName(v), 'TypeError');
}

/**
 * The bytes a crypto function reads from an argument (JSV_GET_AS_CHAR_ARRAY): null for undefined (the
 * function then returns undefined without an error). Strings, ArrayBuffers and byte arrays give their bytes.
 * A typed array of wider elements whose data is in one block (a buffer of up to 9 or over 19 bytes) is read
 * in place with its element COUNT as the byte length (jsvGetDataPointer sets `len` to the view's length), so
 * `new Uint16Array([0x4241, 0x4443])` hashes "AB"; with a 10-19 byte buffer each element's low byte.
 * @param {unknown} v @returns {Buffer | null}
 */
function charArray(v) {
  if (v === undefined) return null;
  if (typeof v === 'string') return strBytes(v);
  if (isAB(v)) return Buffer.from(new Uint8Array(v));
  if (isTyped(v)) {
    const a = /** @type {Uint8Array} */ (v);
    if (a.BYTES_PER_ELEMENT === 1) return Buffer.from(new Uint8Array(a.buffer, a.byteOffset, a.length));
    const whole = a.buffer.byteLength;
    if (whole <= ONE_VAR || whole > BREAK_EVEN) return Buffer.from(new Uint8Array(a.buffer, a.byteOffset, a.length));
  }
  /** @type {number[]} */
  const out = [];
  iterate(v, out, 0);
  return Buffer.from(out);
}

/**
 * crypto.SHA1/224/256/384/512(message): the digest, or null (→ undefined) for an undefined message.
 * @param {string} which 'SHA1' … 'SHA512' @param {unknown} message @returns {Buffer | null}
 */
function sha(which, message) {
  const d = charArray(message);
  if (!d) return null;
  return nodeCrypto.createHash(SHA[which][0]).update(u8(d)).digest();
}

/**
 * crypto.PBKDF2(passphrase, salt, options). Defaults are the code's (the doc string's "keySize: 8,
 * iterations: 10" are not): keySize 4 words (128 bits) when absent or <= 0, iterations 1 when absent or < 1,
 * hasher SHA1. Options that are neither an object nor undefined print an error and the defaults apply.
 * @param {unknown} passphrase @param {unknown} salt @param {unknown} options
 * @param {{ print: (s: string) => void, maxBytes: number }} env
 * @returns {Buffer | null} null: undefined (an error was printed, or an argument was undefined)
 */
function pbkdf2(passphrase, salt, options, env) {
  let iterations = 1;
  let keySize = 4;
  let hasher = 'sha1';
  if (isEspObject(options)) {
    keySize = espInt(own(options, 'keySize'));
    if (keySize <= 0) keySize = 4;
    iterations = espInt(own(options, 'iterations'));
    if (iterations < 1) iterations = 1;
    const h = own(options, 'hasher');
    if (h !== undefined) {
      const m = typeof h === 'string' && SHA[h];
      if (!m) throw new EspError('Unknown Hasher ' + JSON.stringify(String(h)));
      hasher = m[0];
    }
  } else if (options !== undefined) {
    env.print('ERROR: Options should be an object or undefined, got ' + typeName(options));
  }
  const pass = charArray(passphrase);
  if (!pass) return null;
  const s = charArray(salt);
  if (!s) return null;
  const bytes = (keySize * 4) % 4294967296; // (unsigned)keySize*4
  if (bytes > env.maxBytes) {
    env.print('ERROR: Not enough memory for result');
    return null;
  }
  return nodeCrypto.pbkdf2Sync(u8(pass), u8(s), iterations, bytes, hasher);
}

/**
 * Memory as peek8/16/32 sees it on the emulated chip. 2v29 maps an address up to 0x10000000 into the
 * memory-mapped Storage partition (`addr - storageAddr`, so `peek8(0x320000)` is Storage's first byte) and
 * reads anything above as it is. The hardware RNG register gives fresh random bits at every read (here the
 * OS's, crypto.randomBytes). Every other address reads 0 here (on the chip: another register, RAM, or a
 * crash for an unmapped address).
 */
class ChipMemory {
  /** @param {{ rng?: number[], storageAddr?: number }} board @param {{ img: Buffer }} flash the Storage image */
  constructor(board, flash) {
    this.rng = new Set((board.rng || []).map((a) => a >>> 0));
    this.base = (board.storageAddr || 0) >>> 0;
    this.flash = flash;
  }

  /** One byte at an address (after the flash mapping). @param {number} a @param {boolean} flash */
  byte(a, flash) {
    if (flash) {
      const off = a - this.base;
      const img = this.flash.img;
      return off >= 0 && off < img.length ? img[off] : 0;
    }
    // The chip reads the register's whole word: fresh random bits each time.
    return this.rng.has((a & ~3) >>> 0) ? nodeCrypto.randomBytes(1)[0] : 0;
  }

  /** One item of `size` bytes (1, 2, 4), little-endian. @param {number} a @param {number} size @param {boolean} flash */
  item(a, size, flash) {
    if (size === 4 && !flash && this.rng.has(a)) return nodeCrypto.randomBytes(4).readUInt32LE(0);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.byte((a + i) >>> 0, flash);
    return v;
  }

  /**
   * peekN(addr, count): `count` items from addr on (consecutive addresses: only the first item of a read at the
   * RNG register is random).
   * @param {unknown} addr @param {unknown} count @param {number} size
   * @returns {number[]}
   */
  peek(addr, count, size) {
    const a = espInt(addr) >>> 0;
    const flash = a <= 0x10000000;
    const n = Math.max(1, espInt(count));
    const out = [];
    for (let i = 0; i < n; i++) out.push(this.item((a + i * size) >>> 0, size, flash));
    return out;
  }
}

/**
 * TelnetServer.setOptions(options): the new mode, or the current one when `mode` is absent or not a string.
 * @param {unknown} options @param {'on' | 'off'} cur @returns {'on' | 'off'}
 */
function telnetOptions(options, cur) {
  if (!isEspObject(options)) throw new EspError('Expecting Object, got ' + typeName(options));
  const m = own(options, 'mode');
  if (typeof m !== 'string') return cur;
  if (m === 'on' || m === 'off') return m;
  throw new EspError('Unknown mode value');
}

module.exports = { SHA, charArray, sha, pbkdf2, ChipMemory, telnetOptions, espInt, typeName };
