// @ts-check
/**
 * A V8 context trimmed to the language library of Espruino 2v29. What is kept
 * is the list of built-ins the 2v29 sources declare (src/jswrap_*.c JSON
 * headers, release commit 6106910b8), so `Array.from`, `Map`, `Symbol`,
 * `Number.isInteger`, `Object.freeze`, `[].lastIndexOf`, `str.trimStart`,
 * `Date.UTC`… are absent here because they are absent there. Syntax cannot be
 * taken away from V8; `check.js` rejects what Espruino cannot parse.
 * RegExp and symbol-keyed members are left alone: V8 uses them internally
 * (string replace/split, for-of over arrays).
 */
'use strict';
const vm = require('vm');

/** Globals V8 has and Espruino 2v29 does not. */
const ABSENT_GLOBALS = [
  'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Symbol', 'Proxy', 'Reflect',
  'BigInt', 'BigInt64Array', 'BigUint64Array', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'Intl',
  'AggregateError', 'RangeError', 'URIError', 'EvalError', 'encodeURI', 'decodeURI', 'escape', 'unescape',
  'Iterator', 'SuppressedError', 'DisposableStack', 'AsyncDisposableStack', 'Float16Array',
];

/**
 * Members kept per built-in (everything else own and string-keyed is deleted).
 * `[target, kept names]`, target evaluated in the sandbox.
 * @type {Array<[string, string[]]>}
 */
const KEEP = [
  ['Object', ['length', 'name', 'prototype', 'keys', 'getOwnPropertyNames', 'values', 'entries', 'fromEntries', 'create',
    'getOwnPropertyDescriptor', 'getOwnPropertyDescriptors', 'defineProperty', 'defineProperties', 'getPrototypeOf',
    'setPrototypeOf', 'assign']],
  ['Object.prototype', ['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf',
    'on', 'addListener', 'prependListener', 'emit', 'removeListener', 'removeAllListeners', 'clone']],
  ['Function.prototype', ['length', 'name', 'constructor', 'call', 'apply', 'bind', 'toString', 'replaceWith']],
  ['Array', ['length', 'name', 'prototype', 'isArray']],
  ['Array.prototype', ['length', 'constructor', 'toString', 'indexOf', 'includes', 'join', 'push', 'pop', 'map', 'forEach',
    'filter', 'find', 'findIndex', 'some', 'every', 'reduce', 'splice', 'shift', 'unshift', 'slice', 'sort', 'concat',
    'fill', 'reverse']],
  ['String', ['length', 'name', 'prototype', 'fromCharCode']],
  ['String.prototype', ['length', 'constructor', 'toString', 'valueOf', 'charAt', 'charCodeAt', 'indexOf', 'lastIndexOf',
    'match', 'replace', 'replaceAll', 'substring', 'substr', 'slice', 'split', 'toLowerCase', 'toUpperCase', 'trim',
    'concat', 'startsWith', 'endsWith', 'includes', 'repeat', 'padStart', 'padEnd']],
  ['Number', ['length', 'name', 'prototype', 'NaN', 'MAX_VALUE', 'MIN_VALUE', 'NEGATIVE_INFINITY', 'POSITIVE_INFINITY']],
  ['Number.prototype', ['constructor', 'toString', 'valueOf', 'toFixed']],
  ['Math', ['E', 'PI', 'LN2', 'LN10', 'LOG2E', 'LOG10E', 'SQRT2', 'SQRT1_2', 'abs', 'acos', 'asin', 'atan', 'atan2', 'cos',
    'pow', 'random', 'round', 'sin', 'tan', 'sqrt', 'ceil', 'floor', 'exp', 'log', 'min', 'max', 'sign', 'randInt',
    'clip', 'wrap']],
  ['Promise', ['length', 'name', 'prototype', 'all', 'resolve', 'reject']],
  ['Promise.prototype', ['constructor', 'then', 'catch']],
  ['Date', ['length', 'name', 'prototype', 'now', 'parse']],
  ['Date.prototype', ['constructor', 'getTimezoneOffset', 'getIsDST', 'getTime', 'valueOf', 'setTime', 'getHours',
    'getMinutes', 'getSeconds', 'getMilliseconds', 'getDay', 'getDate', 'getMonth', 'getFullYear', 'setHours',
    'setMinutes', 'setSeconds', 'setMilliseconds', 'setDate', 'setMonth', 'setFullYear', 'toString', 'toUTCString',
    'toISOString', 'toJSON', 'toLocalISOString']],
  ['Object.getPrototypeOf(Date.prototype)', ['constructor', 'getTimezoneOffset', 'getTime', 'valueOf', 'setTime',
    'getHours', 'getMinutes', 'getSeconds', 'getMilliseconds', 'getDay', 'getDate', 'getMonth', 'getFullYear', 'setHours',
    'setMinutes', 'setSeconds', 'setMilliseconds', 'setDate', 'setMonth', 'setFullYear', 'toString', 'toUTCString',
    'toISOString', 'toJSON']],
  ['Error', ['length', 'name', 'prototype', 'stackTraceLimit']],
  ['ArrayBuffer', ['length', 'name', 'prototype']],
  ['ArrayBuffer.prototype', ['constructor', 'byteLength']],
  ['Object.getPrototypeOf(Uint8Array)', ['length', 'name', 'prototype']],
  ['Object.getPrototypeOf(Uint8Array.prototype)', ['constructor', 'buffer', 'byteLength', 'byteOffset', 'length', 'set',
    'map', 'subarray', 'indexOf', 'includes', 'join', 'sort', 'forEach', 'reduce', 'fill', 'filter', 'find', 'findIndex',
    'reverse', 'slice', 'some', 'every', 'toString']],
  ['JSON', ['stringify', 'parse']],
];

/**
 * A fresh context: V8's language built-ins only (vm contexts carry none of Node's globals). Where Node has
 * `vm.constants.DONT_CONTEXTIFY` (22.8+, backported to 20.x: 20.20 has it) the context's global is an ordinary object: a contextified one
 * answers every global lookup (`E`, `JSON`, `Math`, `setTimeout`… from the firmware) through C++
 * interceptors, measured at ~75 ns each against ~1 ns, which made them a large share of the emulator's cost.
 */
function createContext() {
  const opts = { name: 'espruino', codeGeneration: { strings: true, wasm: false } };
  const plain = (/** @type {any} */ (vm).constants || {}).DONT_CONTEXTIFY;
  return vm.createContext(plain || {}, opts);
}

/**
 * Remove what Espruino 2v29 lacks. Run after the prelude (which captures what it needs first).
 * @param {vm.Context} ctx
 */
function prune(ctx) {
  const g = vm.runInContext('globalThis', ctx);
  for (const k of ABSENT_GLOBALS) delete g[k];
  for (const [expr, keep] of KEEP) {
    const o = vm.runInContext(expr, ctx);
    const ok = new Set(keep);
    for (const k of Object.getOwnPropertyNames(o)) {
      if (ok.has(k)) continue;
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (d && d.configurable) delete o[k];
    }
  }
  // Espruino 2v29's String.prototype.indexOf (measured on the Linux build): when the needle is no longer than
  // the string, a tail of the string that is a prefix of the needle counts as a match ("abc".indexOf("cde") is
  // 2, "a\n".indexOf("\nc") is 1). A real match always comes first, so only a miss needs the tail check, and
  // only where the needle's first char occurs.
  vm.runInContext('(function(){var f=String.prototype.indexOf;Object.defineProperty(String.prototype,"indexOf",{value:function indexOf(s,from){"use strict";var h=typeof this==="string"?this:String(this),r;s=typeof s==="string"?s:String(s);r=f.call(h,s,from);if(r>=0||s.length<2||s.length>h.length)return r;for(var i=f.call(h,s.charAt(0),Math.max(from|0,0,h.length-s.length+1));i>=0;i=f.call(h,s.charAt(0),i+1))if(s.startsWith(h.substr(i)))return i;return -1},writable:true,configurable:true})})();', ctx);
  // Espruino's Math.sign: -1 for anything not positive and not zero (NaN included), never -0.
  vm.runInContext('Object.defineProperty(Math,"sign",{value:function sign(x){x=+x;return x==0?0:x>0?1:-1},writable:true,configurable:true});' +
    'Object.defineProperty(Math,"randInt",{value:function randInt(){return (Math.random()*4294967296)|0},writable:true,configurable:true});' +
    'Object.defineProperty(Math,"clip",{value:function clip(x,a,b){return x<a?a:x>b?b:x},writable:true,configurable:true});' +
    'Object.defineProperty(Math,"wrap",{value:function wrap(x,a){return ((x%a)+a)%a},writable:true,configurable:true});', ctx);
}

module.exports = { createContext, prune, ABSENT_GLOBALS, KEEP };
