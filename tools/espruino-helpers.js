/**
 * Espruino-safe replacements for the `tslib` helpers that `tsc --target ES5
 * --importHelpers` emits for our code. The build resolves `tslib` to this file
 * (and the type checker to espruino-helpers.d.ts). Plain ES5 on purpose: no
 * Symbol, no iterator protocol, no array holes, no hoisting reliance — every
 * helper is a `var` assigned before anything can call it.
 *
 * Only what tsc emits without `downlevelIteration`: spreads and for-of work on
 * arrays and strings only, which is also all Espruino iterates. A helper that
 * is missing here (__awaiter, __generator, __values, __read, decorators…) makes
 * tsc fail with "requires an imported helper named …": that syntax has no
 * place on the device.
 */

/** `class D extends B`: statics copied (own enumerable ones), prototype chained. */
export var __extends = function (d, b) {
  if (typeof b !== 'function' && b !== null) throw new Error('Class extends value ' + b + ' is not a constructor or null');
  for (var k in b) if (k !== 'prototype' && Object.prototype.hasOwnProperty.call(b, k)) d[k] = b[k];
  d.prototype = Object.create(b === null ? null : b.prototype);
  d.prototype.constructor = d;
};

/** `{ ...a, b }`: Espruino has a native Object.assign. */
export var __assign = function () {
  return Object.assign.apply(Object, arguments);
};

/** `const { a, ...rest } = o`: own enumerable properties of `s` not named in `omit`. */
export var __rest = function (s, omit) {
  var t = {};
  for (var k in s) if (Object.prototype.hasOwnProperty.call(s, k) && omit.indexOf(k) < 0) t[k] = s[k];
  return t;
};

/** `[...a, x]`, `f(a, ...b)`: appends the elements of array-like `from` to `to` (always a fresh array tsc made). */
export var __spreadArray = function (to, from) {
  for (var i = 0, n = from.length; i < n; i++) to.push(from[i]);
  return to;
};

/** Tagged templates: the strings array with its `raw` twin. */
export var __makeTemplateObject = function (cooked, raw) {
  Object.defineProperty(cooked, 'raw', { value: raw });
  return cooked;
};
