/**
 * The Espruino compatibility checker (tools/compat.mjs), rule by rule: each
 * rule rejects a small bad input and accepts the nearest good one. The
 * checker is an ES module, so the cases run through it in one child process.
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '..');
const COMPAT = join(ROOT, 'tools', 'compat.mjs');

interface Violation {
  line: number;
  col: number;
  rule: string;
  message: string;
}

/** rule → [inputs it rejects, inputs that pass the whole check]. */
const rules: [string, string[], string[]][] = [
  ['destructuring', ['var {a} = o;', 'var [a, b] = o;', 'function f({ x }) {}'], ['var a = o.a, b = o[1];']],
  ['spread', ['f(...a);', 'var a = [...b];', 'var o = { ...p };'], ['f.apply(void 0, a);', 'var a = b.concat([]);']],
  ['rest', ['function f(...r) {}', 'var [a, ...r] = x;'], ['function f() { var r = [].slice.call(arguments); }']],
  ['default-param', ['function f(a = 1) {}'], ['function f(a) { if (a === void 0) a = 1; }']],
  ['generator', ['function* g() { yield 1; }'], ['function g() { return 1; }']],
  ['async', ['async function f() {}', 'var f = async () => 1;', 'async function f() { await p; }'], ['function f() { return p.then(g); }']],
  ['label', ['a: for (;;) { break a; }', 'x: for (;;) { for (;;) { continue x; } }'], ['for (;;) { if (d) break; continue; }']],
  [
    'extends-builtin',
    [
      'class E extends Error {}',
      'var E = (function (_super) { function E() {} __extends(E, _super); return E; })(Error);',
      '!function(t){function n(){}return e(n,t),n}(TypeError);',
    ],
    ['class A {} class B extends A {}', 'var B = (function (_super) { function B() {} __extends(B, _super); return B; })(Base);'],
  ],
  ['tagged-template', ['f`x${1}`;'], ['var s = `x${1}`;']],
  ['optional-chaining', ['a?.b;', 'f?.();'], ['a && a.b;', 'a ?? b;']],
  ['exponent', ['a ** 2;', 'a **= 2;'], ['Math.pow(a, 2);']],
  ['bigint', ['var x = 10n;'], ['var x = 10;']],
  ['array-hole', ['var a = [1, , 2];', 'var a = [, 1];'], ['var a = [1, void 0, 2];', 'var a = [1, 2,];']],
  ['for-of', ['for (var x of a) {}'], ['for (var i = 0; i < a.length; i++) {}', 'for (var k in o) {}']],
  ['computed-key', ['var o = { [k]: 1 };', 'class A { [k]() {} }'], ['var o = {}; o[k] = 1;']],
  ['class-field', ['class A { x = 1; }', 'class A { static { } }'], ['class A { constructor() { this.x = 1; } static m() {} get y() { return 1; } }']],
  ['meta-property', ['function F() { return new.target; }'], ['function F() { return this instanceof F; }']],
  ['import', ['import("x");'], ['require("Storage");']],
  ['logical-assignment', ['x ??= 1;', 'x ||= 1;'], ['x = x ?? 1;']],
  ['numeric-separator', ['var n = 1_000;'], ['var n = 1000;']],
  ['loop-binding', ['for (let i = 0; i < 3; i++) fs.push(function () { return i; });'], ['for (let i = 0; i < 3; i++) n += i;', 'for (var i = 0; i < 3; i++) g(i);']],
  [
    'regex',
    [
      '/(?<=a)b/;', '/(?<n>a)/;', '/\\u0041/;', '/a/y;', '/a/u;', '/\\p{L}/u;', '/^[0-9a-f]{64}$/;', '/a{2,3}/;', '/a\\\\{2}/;',
      'new RegExp("(?<n>a)");', 'RegExp("^a{2}$", "g");', 'new RegExp(`\\\\u0041`);', 'new RegExp(/a/);', 'new RegExp("(");', 'new RegExp(s, "y");',
      '/a(?=b)/;', '/\\bfoo/;', '/(?:ab)c/;', '/(ab)+/;', '/^ab?c$/;', '/a+?/;', '/^(a|b)$/;', '/^a|b/;', '/(a)\\1/;', '/\\101/;',
      '/\\cJ/;', '/[[]/;', '/((a)b)/;', '/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)/;', '/^b$/m;',
    ],
    [
      '/^a[bc]+$/gi;', '/\\x41/;', '/a\\{2}/;', '/[(?<a]/;', '/[(?<=]/;', '/\\\\u0041/;', '/[\\d_]+/;', '/[^]/;', '/\\0/;', '/[\\[a]/;',
      '/(a)(b)/;', '/ab|cd/;', '/^ab|^cd/;', '/a|b$/;', '/a/m;', 'new RegExp("^[0-9]+$", "g");', 'new RegExp(s, "g");', 'RegExp("a" + b);',
      "/^([!#$%&'*+\\-.^_`|~0-9A-Za-z]+):[ \\t]*([^\\x00-\\x08\\x0a-\\x1f\\x7f]*)$/;",
    ],
  ],
  ['string-escape', ['var s = "\\u{41}";', 'var s = `\\u{41}`;', 'var s = "a\\\nb";'], ['var s = "\\u0041\\\\u{41}\\n";', 'var s = `a${b}\\n`;']],
  ['identifier-escape', ['var \\u0061b = 1;', 'o.\\u0061b;', 'var o = { \\u0061: 1 };'], ['var ab = "\\u0061b";']],
  [
    'global',
    [
      'new Map();', 'new Set();', 'new WeakMap();', 'Symbol.iterator;', 'new Proxy(a, {});', 'Reflect.get(a, b);',
      'new TextEncoder();', 'new TextDecoder();', 'Buffer.from(s);', 'Array.from(x);', 'Array.of(1);', 'Object.freeze(o);',
      'Object.seal(o);', 'Object.is(a, b);', 'Number.isInteger(1);', 'Math.trunc(1);', 'Math.imul(1, 2);', 'Number.parseInt("1");',
      'encodeURI(s);', 'decodeURI(s);',
      'Promise.race([]);', 'Promise.allSettled([]);', 'Uint8Array.from(a);', 'new RangeError("x");', 'process.env.HOME;',
    ],
    [
      'typeof Map === "function";', 'var Map = 1; new Map();', 'function f(Set) { return new Set(); }', 'Math.floor(1.5);',
      'Object.assign({}, o);', 'Promise.all([]);', 'new Uint8Array(4);', 'process.memory();', 'process.env.VERSION;', 'E.toString(u);',
      'Math.sign(-3);', 'encodeURIComponent(s);',
    ],
  ],
  ['method', ['p.finally(f);', 'a.flat();', 'a.flatMap(f);', 'a.at(-1);', 'a.reduceRight(f, 0);', 's.trimStart();', 'n.toPrecision(3);'], ['p.then(f).catch(g);', 'a.indexOf(1);', 'o.values();']],
  ['require', ['require("./x");', 'require("events");', 'require(name);'], ['require("net");', 'require("Storage");', 'require("Wifi");', 'require("http");']],
  [
    'hoisting',
    [
      'f(); function f() {}',
      '(function () { f(); })(); function f() {}',
      'function a() { b(); } a(); function b() {}',
      'x = 1; var x;',
      'var t = o || (o = 1); var o;',
      'function f() { return v; } f(); var v = 1;',
      'if (c) { var y = 1; } y;',
      'switch (a) { case 1: var q = 1; break; case 2: q; }',
      'var E = (function (_super) { __extends(E, _super); function E() {} return E; })(Base);',
    ],
    [
      'function f() {} f();',
      'function a() { b(); } function b() {} a();',
      'function g() { later(); } function later() {}',
      'var x; x = 1;',
      'function f() { return v; } var v = 1; f();',
      'if (c) { var y = 1; y; }',
      'for (var i = 0; i < 2; i++) {} i;',
      'var t, o; t = o || (o = 1);',
    ],
  ],
  ['length-assign', ['a.length = 0;', 'o.q.length -= 1;', 'a.length++;', 'a["length"] = 2;'], ['a.splice(0);', 'var n = a.length;', 'a.len = 0;']],
  [
    'builtin-prototype',
    ['Array.prototype.slice.call(arguments);', 'var f = String.prototype.charAt;', 'Function.prototype.apply.call(f, t, a);', 'Uint8Array.prototype.set.call(u, v);'],
    ['[].slice.call(arguments);', 'Object.prototype.hasOwnProperty.call(o, k);', 'A.prototype.m = function () {};', 'Array.prototype.myHelper = function () {};'],
  ],
  ['switch-default', ['switch (x) { case 1: break; default: break; case 2: break; }'], ['switch (x) { case 1: break; case 2: break; default: break; }', 'switch (x) { default: f(); }']],
  ['syntax', ['export var a = 1;', 'var a = ;'], ['var a = 1;']],
];

/**
 * Regular expressions, finding by finding: what the parsed pattern is, not its text (`[(?<a]` is a class, `\\u0041`
 * an escaped backslash, `\\{2}` counts a backslash), in literals and in `RegExp` calls. Each finding's message, in order.
 */
const regexFindings: [string, string[]][] = [
  ['/[(?<a]/;', []],
  ['/[(?<=]/;', []],
  ['/\\\\u0041/;', []],
  ['/a\\\\{2}/;', ['counted quantifiers (`{n}`, `{n,m}`) never match']],
  ['new RegExp("(?<n>a)");', ['named capture groups are not supported']],
  ['RegExp("(?<=a)b(?!c)", "y");', ['flag(s) `y` are not supported', 'lookbehind is not supported', 'lookahead (`(?=`, `(?!`) is not supported']],
  ['/(a)\\1\\2/;', ['a backslash and a digit']],
  ['/^a|b|^c/;', ['a `^` before a `|`']],
  ['/(a|b)(c|d)/;', ['alternation inside a group']],
];

/** Every input in one list, and where each rule's inputs start in it. */
const inputs: string[] = [];
const starts: number[] = rules.map(([, bad, good]) => inputs.push(...bad, ...good) - bad.length - good.length);
const regexStart = inputs.push(...regexFindings.map(([c]) => c)) - regexFindings.length;
let results: Violation[][];

beforeAll(() => {
  const script =
    'import { checkSource } from ' + JSON.stringify('file://' + COMPAT) + ';' +
    'let s = ""; process.stdin.on("data", (d) => (s += d)); process.stdin.on("end", () => {' +
    'process.stdout.write(JSON.stringify(JSON.parse(s).map((c) => checkSource(c)))); });';
  results = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(inputs) }).toString());
});

function resultsOf(i: number): { bad: Violation[][]; good: Violation[][] } {
  const [, bad, good] = rules[i];
  return { bad: results.slice(starts[i], starts[i] + bad.length), good: results.slice(starts[i] + bad.length, starts[i] + bad.length + good.length) };
}

describe.each(rules.map((r, i) => [r[0], i, r] as const))('the %s rule', (name, i, rule) => {
  test('rejects each bad input, naming the rule', () => {
    const { bad } = resultsOf(i);
    bad.forEach((vs, i) => {
      expect({ input: rule[1][i], rules: vs.map((v) => v.rule) }).toEqual({ input: rule[1][i], rules: expect.arrayContaining([name]) });
    });
  });
  test('accepts the good inputs without any violation', () => {
    const { good } = resultsOf(i);
    good.forEach((vs, i) => {
      expect({ input: rule[2][i], violations: vs }).toEqual({ input: rule[2][i], violations: [] });
    });
  });
});

describe('regular expressions, parsed', () => {
  test.each(regexFindings.map(([input, messages], i) => [input, messages, i] as const))('%s', (input, messages, i) => {
    const vs = results[regexStart + i];
    expect(vs.map((v) => v.rule)).toEqual(messages.map(() => 'regex'));
    expect(vs.map((v) => v.message)).toEqual(messages.map((m) => expect.stringContaining(m)));
  });
});

describe('the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compat-'));

  test('prints file:line:col: message for each violation and exits 1', () => {
    const f = join(dir, 'bad.js');
    writeFileSync(f, 'var a = 1;\nvar m = new Map();\n');
    const r = spawnSync(process.execPath, [COMPAT, f], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('bad.js:2:13: `Map` does not exist on Espruino');
  });

  test('exits 0 on a clean file', () => {
    const f = join(dir, 'good.js');
    writeFileSync(f, '!function(){var a=[1,void 0];console.log(a.length)}();\n');
    const r = spawnSync(process.execPath, [COMPAT, f], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('good.js: ok');
  });

  test('names the original source through a source map', () => {
    const f = join(dir, 'mapped.js');
    writeFileSync(f, 'new Map();\n');
    // One segment: bundle 1:0 comes from src/x.ts line 7 column 3 (0-based 6, 2).
    writeFileSync(f + '.map', JSON.stringify({ version: 3, sources: ['src/x.ts'], names: [], mappings: 'AAME' }));
    const r = spawnSync(process.execPath, [COMPAT, f], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('src/x.ts:7:3: `Map` does not exist on Espruino [mapped.js:1:5]');
  });
});

describe('one list of what 2v29 has', () => {
  test('make compat and the emulator agree on every global, static and method either one knows', () => {
    // In a child process: compat.mjs is an ES module. Each probe is flagged by the checker exactly when the
    // emulator's sandbox (what `make run` executes in) lacks it, except the few V8 will not let the sandbox delete
    // (non-configurable: Number.EPSILON, Uint8Array.BYTES_PER_ELEMENT…), which 2v29 lacks too: compat refuses them.
    const code = `
      import { checkSource, MISSING_GLOBALS, MISSING_STATICS, MISSING_METHODS } from ${JSON.stringify(COMPAT)};
      import { createRequire } from 'module';
      const require = createRequire(${JSON.stringify(join(ROOT, 'x.js'))});
      const vm = require('vm');
      const sb = require('./emulator/sandbox.js');
      const ctx = sb.createContext(); sb.prune(ctx);
      const probes = [];
      for (const g of MISSING_GLOBALS) probes.push([g, g + ';']);
      for (const [g, names] of sb.KEEP) if (/^[A-Za-z]+$/.test(g)) for (const n of names) if (n !== 'prototype') probes.push([g + '.' + n, g + '.' + n + ';']);
      for (const g of Object.keys(MISSING_STATICS)) for (const n of MISSING_STATICS[g]) probes.push([g + '.' + n, g + '.' + n + ';']);
      for (const m of Object.keys(MISSING_METHODS)) probes.push(['[].' + m + ' || "".' + m + ' || (0).' + m + ' || new Uint8Array(1).' + m + ' || Promise.resolve().' + m, 'x.' + m + '();']);
      const bad = [];
      for (const [expr, src] of probes) {
        const absent = vm.runInContext('typeof (' + expr + ') === "undefined"', ctx);
        const flagged = checkSource('var x; ' + src).length > 0;
        const dot = expr.indexOf('.');
        if (!absent && flagged && dot > 0 && vm.runInContext('(Object.getOwnPropertyDescriptor(' + expr.slice(0, dot) + ', ' + JSON.stringify(expr.slice(dot + 1)) + ') || {}).configurable === false', ctx)) continue;
        if (absent !== flagged) bad.push(expr + (absent ? ': absent in the emulator, accepted by compat' : ': present in the emulator, refused by compat'));
      }
      console.log(JSON.stringify({ n: probes.length, bad }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' }));
    expect(out.bad).toEqual([]);
    expect(out.n).toBeGreaterThan(150);
  });
});
