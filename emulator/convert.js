// @ts-check
/**
 * Byte and text conversions with Espruino's rules: E.toString/E.toUint8Array
 * argument flattening, btoa/atob, UTF-8 helpers, CRC32, and the JSON dialect
 * Storage.writeJSON writes (field names unquoted) and readJSON accepts.
 */
'use strict';
const { strBytes, u8 } = require('./flash');

/** @param {unknown} v */
function tag(v) {
  return Object.prototype.toString.call(v).slice(8, -1);
}

/**
 * Append the bytes Espruino's iterate-callback sees in `v` (numbers are bytes, strings their bytes, arrays and
 * typed arrays their elements, `{data, count}` repeats, `{callback}` calls).
 * @param {unknown} v @param {number[]} out @param {number} depth
 */
function collect(v, out, depth) {
  if (depth > 32) return;
  if (typeof v === 'number') { out.push(v & 255); return; }
  if (typeof v === 'boolean') { out.push(v ? 1 : 0); return; }
  if (typeof v === 'string') { const b = strBytes(v); for (let i = 0; i < b.length; i++) out.push(b[i]); return; }
  if (v === null || v === undefined) return;
  if (ArrayBuffer.isView(v)) {
    if (tag(v) === 'DataView') { const u = new Uint8Array(v.buffer, v.byteOffset, v.byteLength); for (let i = 0; i < u.length; i++) out.push(u[i]); return; }
    const a = /** @type {any} */ (v);
    for (let i = 0; i < a.length; i++) out.push(Number(a[i]) & 255);
    return;
  }
  if (tag(v) === 'ArrayBuffer') { const u = new Uint8Array(/** @type {ArrayBuffer} */ (v)); for (let i = 0; i < u.length; i++) out.push(u[i]); return; }
  if (Array.isArray(v)) { for (let i = 0; i < v.length; i++) collect(v[i], out, depth + 1); return; }
  if (typeof v === 'object') {
    const o = /** @type {any} */ (v);
    if (typeof o.callback === 'function') { collect(o.callback(), out, depth + 1); return; }
    if ('data' in o) {
      const n = o.count === undefined ? 1 : Number(o.count) | 0;
      for (let i = 0; i < n; i++) collect(o.data, out, depth + 1);
    }
  }
}

/**
 * One argument's bytes when it has a direct form (a string, a byte view, an ArrayBuffer), else null.
 * @param {unknown} a @returns {Buffer | null}
 */
function direct(a) {
  if (typeof a === 'string') return strBytes(a);
  if (ArrayBuffer.isView(a)) {
    if (isByteView(a) || tag(a) === 'DataView') return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    return null;
  }
  if (tag(a) === 'ArrayBuffer') return Buffer.from(/** @type {ArrayBuffer} */ (a));
  return null;
}

/**
 * The bytes of E.toString(...args) / E.toUint8Array(...args).
 * @param {unknown[]} args @returns {Buffer}
 */
function argBytes(args) {
  if (args.length === 1) {
    const d = direct(args[0]);
    if (d) return d;
  }
  /** @type {Uint8Array[]} */
  const parts = [];
  for (const a of args) {
    const d = direct(a);
    if (d) parts.push(u8(d));
    else {
      /** @type {number[]} */
      const out = [];
      collect(a, out, 0);
      parts.push(Uint8Array.from(out));
    }
  }
  return Buffer.concat(parts);
}

// Node's native latin1 codecs (undocumented Buffer methods, present since Node 8), callable on any byte view
// (a sandbox-realm Uint8Array too) without wrapping it in a Buffer: the conversions below run once per
// 536-byte piece a socket sends or receives. Wrapping in a Buffer is the fallback.
const BP = /** @type {any} */ (Buffer.prototype);
/** @type {(this: Uint8Array, start: number, end: number) => string} */
const latin1Slice = typeof BP.latin1Slice === 'function' ? BP.latin1Slice
  : function (start, end) { return Buffer.from(this.buffer, this.byteOffset, this.length).toString('latin1', start, end); };
/** @type {(this: Uint8Array, s: string, off: number, len: number) => number} */
const latin1Write = typeof BP.latin1Write === 'function' ? BP.latin1Write
  : function (s, off, len) { return Buffer.from(this.buffer, this.byteOffset, this.length).write(s, off, len, 'latin1'); };
// eslint-disable-next-line no-control-regex
const WIDE = /[^\x00-\xff]/;

/**
 * A typed array of 1-byte elements (Uint8Array, Int8Array, Uint8ClampedArray, of either realm): its elements
 * are its bytes, whatever the element type.
 * @param {unknown} v @returns {v is Uint8Array}
 */
function isByteView(v) {
  return ArrayBuffer.isView(v) && /** @type {any} */ (v).BYTES_PER_ELEMENT === 1;
}

/** The bytes of a byte view as a string of char codes 0-255. @param {Uint8Array} v */
function viewStr(v) {
  return latin1Slice.call(v, 0, v.length);
}

/**
 * E.toString(...args) as a string of char codes 0-255. Arguments that are byte views or strings of
 * chars below 256 (what the firmware passes: `E.toString(view)`, `E.toString(view, '')`) are joined
 * directly; anything else goes through Espruino's general flattening.
 * @param {unknown[]} args
 */
function toStr(args) {
  let s = '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'string' && !WIDE.test(a)) s += a;
    else if (isByteView(a)) s += viewStr(a);
    else return argBytes(args).toString('latin1');
  }
  return s;
}

/**
 * Write the low bytes of the char codes of `s[0..n)` into `dst` at `off` (they fit).
 * @param {Uint8Array} dst @param {string} s @param {number} off @param {number} n
 */
function latin1Into(dst, s, off, n) {
  // V8 keeps typed arrays of up to 64 bytes inside its heap; native code writing into one first moves it out
  // (~1 us, measured), so a short string is copied here instead. Node's latin1 write keeps a wide char's low byte.
  if (n <= 64) for (let i = 0; i < n; i++) dst[off + i] = s.charCodeAt(i);
  else latin1Write.call(dst, s, off, n);
}

let crcTable = /** @type {Int32Array | null} */ (null);
/** @param {Buffer} b */
function crc32(b) {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** @param {string} s */
function quote(s) {
  let r = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') r += '\\"';
    else if (ch === '\\') r += '\\\\';
    else if (ch === '\n') r += '\\n';
    else if (ch === '\r') r += '\\r';
    else if (ch === '\t') r += '\\t';
    else if (c < 32) r += '\\x' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase();
    else r += ch;
  }
  return r + '"';
}

/**
 * Storage.writeJSON's text (and E.toJS with `js`): field names unquoted when they are identifiers, undefined and
 * functions dropped (E.toJS keeps functions), typed arrays as arrays, toJSON honoured.
 * @param {unknown} v @param {boolean} js @param {number} [depth]
 * @returns {string | undefined}
 */
function espJSON(v, js, depth) {
  const d = depth || 0;
  if (d > 64) return 'null';
  if (v === null) return 'null';
  if (v === undefined) return js ? 'undefined' : undefined;
  if (typeof v === 'function') return js ? String(v) : undefined;
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') return isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return String(v);
  const o = /** @type {any} */ (v);
  if (typeof o.toJSON === 'function') return espJSON(o.toJSON(), js, d + 1);
  if (ArrayBuffer.isView(o) && tag(o) !== 'DataView') return '[' + Array.prototype.join.call(o, ',') + ']';
  if (Array.isArray(o)) return '[' + o.map((x) => { const s = espJSON(x, js, d + 1); return s === undefined ? 'null' : s; }).join(',') + ']';
  const parts = [];
  for (const k of Object.keys(o)) {
    const s = espJSON(o[k], js, d + 1);
    if (s === undefined) continue;
    parts.push((IDENT.test(k) ? k : quote(k)) + ':' + s);
  }
  return '{' + parts.join(',') + '}';
}

/**
 * Espruino's liberal JSON reader (Storage.readJSON): JSON plus unquoted field names, single quotes, \x escapes,
 * `undefined`, hex numbers. Throws SyntaxError on anything else.
 * @param {string} text @returns {unknown}
 */
function liberalParse(text) {
  let i = 0;
  const n = text.length;
  const fail = () => { throw new SyntaxError('Got ' + (i < n ? JSON.stringify(text[i]) : 'EOF') + ' at ' + i); };
  const ws = () => { while (i < n && /\s/.test(text[i])) i++; };
  /** @returns {unknown} */
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      /** @type {Record<string, unknown>} */
      const o = {};
      ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) {
        ws();
        let k;
        if (text[i] === '"' || text[i] === "'") k = str();
        else {
          const m = /^[A-Za-z0-9_$]+/.exec(text.slice(i));
          if (!m) fail();
          k = /** @type {RegExpExecArray} */ (m)[0];
          i += k.length;
        }
        ws();
        if (text[i] !== ':') fail();
        i++;
        o[k] = value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return o; }
        fail();
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return a; }
        fail();
      }
    }
    if (c === '"' || c === "'") return str();
    const m = /^(?:true|false|null|undefined|-?0x[0-9a-fA-F]+|-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (!m) return fail();
    i += m[0].length;
    const t = m[0];
    if (t === 'true') return true;
    if (t === 'false') return false;
    if (t === 'null') return null;
    if (t === 'undefined') return undefined;
    return Number(t);
  };
  const str = () => {
    const q = text[i++];
    let r = '';
    while (i < n && text[i] !== q) {
      let ch = text[i++];
      if (ch === '\\') {
        const e = text[i++];
        if (e === 'n') ch = '\n';
        else if (e === 'r') ch = '\r';
        else if (e === 't') ch = '\t';
        else if (e === 'b') ch = '\b';
        else if (e === 'f') ch = '\f';
        else if (e === '0') ch = '\0';
        else if (e === 'x') { ch = String.fromCharCode(parseInt(text.substr(i, 2), 16)); i += 2; }
        else if (e === 'u') { ch = String.fromCharCode(parseInt(text.substr(i, 4), 16)); i += 4; }
        else ch = e;
      }
      r += ch;
    }
    if (i >= n) fail();
    i++;
    return r;
  };
  const v = value();
  ws();
  if (i < n) fail();
  return v;
}

module.exports = { argBytes, toStr, crc32, espJSON, liberalParse, tag, isByteView, latin1Into, WIDE };
