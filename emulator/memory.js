// @ts-check
/**
 * An ESTIMATE of the JsVars the firmware would use on the board, for
 * `process.memory()` and `E.getSizeOf()`. V8 does not store values the way
 * Espruino does, so this counts what is reachable from the sandbox (globals,
 * closure scopes read through the inspector, timers, socket buffers) and
 * prices each item with Espruino's storage rules:
 *   object/array/function/scope: 1 var; each property or element: 1 var (an
 *   integer, boolean, null or undefined value lives in it; a float adds 1);
 *   a string of n chars: 1 var for up to 9 chars, +1 per further 10; a typed
 *   array of n bytes: ceil(n / blocksize) + 3; function code: 1 var when loaded
 *   from Storage (it stays in flash), its text as a string when uploaded to RAM;
 *   each timer ~4 vars + its arguments; each socket ~8 vars + its buffers.
 * Known blind spots: V8 drops closure variables no inner function uses (the
 * device keeps whole scopes), and interpreter internals are a fixed baseline.
 * Treat the figure as ±30%; the trend (does a request leak?) is what it is for.
 */
'use strict';
const inspector = require('inspector');

/** @param {number} n */
function strVars(n) {
  return n <= 9 ? 1 : 1 + Math.ceil((n - 9) / 10);
}

const abLength = /** @type {() => number} */ (/** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')).get);
/** Bytes of a typed array, DataView or ArrayBuffer (any realm), -1 for anything else. @param {any} v */
function byteLength(v) {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  try {
    return abLength.call(v);
  } catch (e) {
    return -1;
  }
}

/** @type {inspector.Session | null} */
let session = null;
/** @param {string} m @param {object} p @returns {any} */
function post(m, p) {
  if (!session) {
    session = new inspector.Session();
    session.connect();
  }
  /** @type {any} */
  let res = null;
  /** @type {any} */
  let err = null;
  session.post(m, p, (e, r) => {
    err = e;
    res = r;
  });
  if (err) throw err;
  if (!res) throw new Error('inspector answered asynchronously');
  return res;
}

const PROBE = '__espruinoEmulatorProbe';

class Memory {
  /**
   * @param {object} o
   * @param {import('./boards').Board} o.board
   * @param {any} o.global        the sandbox global object
   * @param {() => boolean} o.codeInFlash  whether the firmware's code was evaluated from Storage
   * @param {() => number} o.extraVars     vars the host knows about (timers, sockets, queued events)
   * @param {() => unknown[]} o.roots       sandbox values the host holds (servers, sockets, timer callbacks…)
   * @param {any} o.listenersKey            the symbol under which sandbox objects keep their listeners
   * @param {unknown} o.internal             a value only the emulator's own closures hold (their scopes are not counted)
   * @param {number} [o.baseline]          interpreter state present after boot (assumed)
   */
  constructor(o) {
    this.board = o.board;
    this.global = o.global;
    this.codeInFlash = o.codeInFlash;
    this.extraVars = o.extraVars;
    this.roots = o.roots;
    this.L = o.listenersKey;
    this.internal = o.internal;
    this.baseline = o.baseline === undefined ? 150 : o.baseline;
    /** Objects of the pristine sandbox (built-ins and the emulator's own), never counted. @type {WeakSet<object>} */
    this.builtin = new WeakSet();
    /** Buffers that are views of the flash on the device (Storage.readArrayBuffer): a few vars, not their bytes. @type {WeakSet<object>} */
    this.flashBacked = new WeakSet();
    /** @type {WeakMap<Function, number>} */
    this.codeCache = new WeakMap();
    this.inspectorOk = true;
    /** @type {string | null} */
    this.collector = null;
    /** @type {unknown[]} */
    this.collected = [];
    /** Global properties present before the firmware ran (built-ins, not counted). @type {Set<string | symbol>} */
    this.globalKeys = new Set();
  }

  /** Remember everything reachable now (call after the prelude, before user code). */
  markBuiltins() {
    this.globalKeys = new Set(Reflect.ownKeys(this.global));
    const seen = this.builtin;
    /** @type {any[]} */
    const stack = [this.global];
    while (stack.length) {
      const v = stack.pop();
      if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) continue;
      seen.add(v);
      for (const k of Reflect.ownKeys(v)) {
        const d = Object.getOwnPropertyDescriptor(v, k);
        if (!d) continue;
        if ('value' in d) stack.push(d.value);
        else stack.push(d.get, d.set);
      }
      stack.push(Object.getPrototypeOf(v));
    }
  }

  /** @param {unknown} v */
  valueVars(v) {
    switch (typeof v) {
      case 'string': return strVars(v.length);
      case 'number': return (v | 0) === v ? 0 : 1;
      default: return 0;
    }
  }

  /** @param {Function} f */
  codeVars(f) {
    if (this.codeInFlash()) return 1;
    let n = this.codeCache.get(f);
    if (n === undefined) {
      n = strVars(Function.prototype.toString.call(f).length);
      this.codeCache.set(f, n);
    }
    return n;
  }

  /**
   * Closure scopes of a function: arrays of [name, value] (objects as live values), via the inspector.
   * @param {Function} f @returns {Array<{ key: string, vars: Array<[string, unknown]> }>}
   */
  scopes(f) {
    if (!this.inspectorOk) return [];
    try {
      /** @type {any} */ (globalThis)[PROBE] = f;
      const fn = post('Runtime.evaluate', { expression: 'globalThis.' + PROBE, silent: true, objectGroup: 'emu' });
      const props = post('Runtime.getProperties', { objectId: fn.result.objectId, ownProperties: true });
      const sc = (props.internalProperties || []).find((/** @type {any} */ p) => p.name === '[[Scopes]]');
      if (!sc) return [];
      const list = post('Runtime.getProperties', { objectId: sc.value.objectId, ownProperties: true });
      const out = [];
      for (const s of list.result) {
        const desc = String(s.value && s.value.description);
        if (!s.value || !s.value.objectId || /^Global/.test(desc)) continue;
        // The scope object's variables go straight to the collector: no descriptions serialized.
        this.collected = [];
        post('Runtime.callFunctionOn', {
          objectId: s.value.objectId,
          functionDeclaration: 'function (c) { var o = this.object, k = Object.getOwnPropertyNames(o), v = []; for (var i = 0; i < k.length; i++) v.push(o[k[i]]); c(k, v); }',
          arguments: [{ objectId: this.collectorId() }],
          silent: true,
        });
        const names = /** @type {string[]} */ (this.collected[0] || []);
        const values = /** @type {unknown[]} */ (this.collected[1] || []);
        this.collected = [];
        /** @type {Array<[string, unknown]>} */
        const got = [];
        for (let i = 0; i < names.length; i++) got.push([String(names[i]), values[i]]);
        out.push({ key: desc + '|' + got.map((g) => g[0]).join(','), vars: got });
      }
      return out;
    } catch (e) {
      this.inspectorOk = false; // e.g. another debugger owns the process: fall back to what reflection sees
      return [];
    } finally {
      delete (/** @type {any} */ (globalThis))[PROBE];
    }
  }

  /** The inspector handle of the host function receiving scope values, made once per walk. */
  collectorId() {
    if (!this.collector) {
      /** @type {any} */ (globalThis)[PROBE] = (/** @type {any} */ k, /** @type {any} */ v) => { this.collected = [k, v]; };
      this.collector = post('Runtime.evaluate', { expression: 'globalThis.' + PROBE, silent: true, objectGroup: 'emu' }).result.objectId;
    }
    return this.collector;
  }

  /** Release the walk's inspector handles. */
  endWalk() {
    if (this.collector || this.inspectorOk) {
      try {
        post('Runtime.releaseObjectGroup', { objectGroup: 'emu' });
      } catch (e) {
        /* inspector gone */
      }
    }
    this.collector = null;
  }

  /**
   * JsVars used by everything reachable from `roots` (not counting built-ins).
   * @param {unknown[]} roots @param {boolean} withScopes
   */
  count(roots, withScopes) {
    const seen = new Set();
    /** @type {Map<string, unknown[][]>} */
    const scopeSeen = new Map();
    /** @type {unknown[]} */
    const stack = roots.slice();
    let n = 0;
    while (stack.length) {
      const v = stack.pop();
      if (v === null || (typeof v !== 'object' && typeof v !== 'function')) continue;
      const isGlobal = v === this.global;
      if (seen.has(v) || v instanceof Object) continue; // host-realm values (argument lists, natives) are not the firmware's
      if (this.builtin.has(v) && !isGlobal) {
        // A built-in (E, process, a prototype) is free, but listeners the firmware added to it are not.
        seen.add(v);
        const d = Object.getOwnPropertyDescriptor(v, this.L);
        if (d && d.value) stack.push(d.value);
        continue;
      }
      seen.add(v);
      if (!isGlobal) n++;
      const bytes = byteLength(v);
      if (bytes >= 0) {
        const view = ArrayBuffer.isView(v);
        const buf = view ? /** @type {ArrayBufferView} */ (v).buffer : v;
        n += (this.flashBacked.has(/** @type {object} */ (buf)) ? 1 : Math.ceil(bytes / this.board.blocksize)) + (view ? 2 : 1);
        continue;
      }
      const isFn = typeof v === 'function';
      const isArr = Array.isArray(v);
      if (isFn) {
        n += 1 + this.codeVars(/** @type {Function} */ (v)) + /** @type {Function} */ (v).length;
        if (withScopes) {
          for (const s of this.scopes(/** @type {Function} */ (v))) {
            // Functions created by one closure share its scope: count a scope once per distinct contents.
            const vals = s.vars.map((x) => x[1]);
            if (vals.includes(this.internal)) continue; // the prelude's own scope
            const prev = scopeSeen.get(s.key);
            if (prev && prev.some((p) => p.length === vals.length && p.every((x, i) => x === vals[i]))) continue;
            if (prev) prev.push(vals);
            else scopeSeen.set(s.key, [vals]);
            n += 1;
            for (const [name, val] of s.vars) {
              n += 1 + (name.length > 8 ? Math.ceil((name.length - 8) / 10) : 0) + this.valueVars(val);
              stack.push(val);
            }
          }
        }
      }
      for (const k of Reflect.ownKeys(/** @type {object} */ (v))) {
        if (isArr && k === 'length') continue;
        if (isGlobal && this.globalKeys.has(k)) continue;
        if (isFn && (k === 'length' || k === 'name' || k === 'arguments' || k === 'caller')) continue;
        const d = Object.getOwnPropertyDescriptor(v, k);
        if (!d) continue;
        if (isFn && k === 'prototype' && d.value && Object.getOwnPropertyNames(d.value).length <= 1) continue;
        const name = typeof k === 'string' ? k : 'sym';
        n += 1 + (name.length > 8 ? Math.ceil((name.length - 8) / 10) : 0);
        if ('value' in d) {
          n += this.valueVars(d.value);
          stack.push(d.value);
        } else stack.push(d.get, d.set);
      }
      if (!isGlobal) stack.push(Object.getPrototypeOf(v));
    }
    return n;
  }

  /** Estimated JsVars in use by the whole sandbox. */
  usage() {
    try {
      return this.baseline + this.extraVars() + this.count([this.global].concat(this.roots()), true);
    } finally {
      this.endWalk();
    }
  }

  /** `E.getSizeOf(v)`: vars of v and what only it reaches. @param {unknown} v */
  sizeOf(v) {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return 1 + this.valueVars(v) - (typeof v === 'string' ? 1 : 0);
    return this.count([v], false);
  }
}

module.exports = { Memory, strVars };
