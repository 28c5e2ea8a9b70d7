#!/usr/bin/env node
/**
 * Checks that a JavaScript bundle only uses what Espruino 2v29 runs
 * (../shared/ESPRUINO.md): no syntax it cannot parse or run, no global it
 * lacks, no reliance on hoisting (it hoists neither functions nor `var`s).
 *
 *   node tools/compat.mjs dist/esp32/app.js [--map dist/esp32/app.js.map] [more.js…]
 *   node tools/compat.mjs --boards        every board bundle in dist/
 *   --allow-module NAME                   one more module `require` may load
 *
 * Each violation prints as `file:line:col: message`, at the TypeScript source
 * when the source map (default `<file>.map`) reaches it, followed by the
 * bundle position. Exit status 1 when anything is found.
 *
 * The parser accepts the latest ECMAScript so that it can see modern syntax
 * and name it, instead of failing with a bare syntax error.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire, SourceMap } from 'node:module';

const require = createRequire(import.meta.url);
const acorn = require('acorn');
const walk = require('acorn-walk');
const { RegExpParser, visitRegExpAST } = require('@eslint-community/regexpp');

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/*
 * What Espruino 2v29's library has is written down once, in the emulator's sandbox (emulator/sandbox.js: the
 * built-ins the 2v29 sources declare, which the emulator keeps and nothing else): the lists below are derived
 * from it, so `make compat` and `make run` cannot disagree about a global, a static or a method.
 */
const SANDBOX = require('../emulator/sandbox.js');

/** Globals Espruino 2v29 does not have (a `typeof X` test is allowed): V8's it lacks, and hosts' (Node, browsers). */
export const MISSING_GLOBALS = SANDBOX.ABSENT_GLOBALS.concat(['TextEncoder', 'TextDecoder', 'Buffer']);

/** Static members Espruino has, by global object (the sandbox's kept members of each constructor; the typed arrays share theirs). */
const TYPED = ['Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array'];
const KEPT = {};
for (const [target, names] of SANDBOX.KEEP) {
  if (/^[A-Za-z]+$/.test(target)) KEPT[target] = names;
  else if (target === 'Object.getPrototypeOf(Uint8Array)') for (const t of TYPED) KEPT[t] = names;
}

/** Static members Espruino lacks, by global object: what V8 has there and the sandbox does not keep. */
export const MISSING_STATICS = {};
for (const g of Object.keys(KEPT)) {
  const host = globalThis[g];
  MISSING_STATICS[g] = Object.getOwnPropertyNames(host).filter((k) => KEPT[g].indexOf(k) < 0 && k !== 'arguments' && k !== 'caller');
  if (TYPED.indexOf(g) >= 0) MISSING_STATICS[g] = MISSING_STATICS[g].concat(['from', 'of'].filter((k) => KEPT[g].indexOf(k) < 0));
}

/**
 * Methods Espruino lacks on every built-in that could have them, called as `x.name(…)`: a method of V8's Array,
 * String, typed array, Number or Promise prototypes that the sandbox keeps on none of its prototypes. Names an
 * application's own objects commonly have (keys, values, entries…) are left out: the call could be on one of them.
 */
const PROTOS = [['Array.prototype', Array.prototype], ['String.prototype', String.prototype], ['Number.prototype', Number.prototype],
  ['Promise.prototype', Promise.prototype], ['Object.getPrototypeOf(Uint8Array.prototype)', Object.getPrototypeOf(Uint8Array.prototype)]];
const KEPT_METHODS = new Set();
for (const [target, names] of SANDBOX.KEEP) if (/prototype/.test(target)) for (const n of names) KEPT_METHODS.add(n);
const COMMON_NAMES = ['keys', 'values', 'entries', 'toLocaleString', 'with', 'constructor', 'length', 'search', 'link'];
export const MISSING_METHODS = {};
for (const [where, proto] of PROTOS)
  for (const k of Object.getOwnPropertyNames(proto))
    if (typeof Object.getOwnPropertyDescriptor(proto, k).value === 'function' && !KEPT_METHODS.has(k) && COMMON_NAMES.indexOf(k) < 0 && !MISSING_METHODS[k])
      MISSING_METHODS[k] = where.replace('Object.getPrototypeOf(Uint8Array.prototype)', 'TypedArray.prototype') + '.' + k;

/**
 * Built-ins whose methods exist only on instances (measured on 2v29:
 * `typeof Array.prototype.slice` is "undefined", `[].slice` works).
 * Object.prototype is fine (hasOwnProperty, toString).
 */
const INSTANCE_ONLY = [
  'Array', 'String', 'Function', 'Number', 'Boolean', 'RegExp', 'Date', 'Promise', 'Error', 'ArrayBuffer', 'DataView',
  'Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array',
];

/** Modules `require` may load: Espruino's built-in modules (ESP32 and Linux builds). */
export const ESPRUINO_MODULES = [
  'net', 'http', 'Storage', 'Wifi', 'crypto', 'fs', 'dgram', 'tls', 'Flash', 'heatshrink',
  'NetworkJS', 'TelnetServer', 'neopixel', 'timer', 'ESP32',
];

/** `process.env` on Espruino is the firmware's build description, not an environment. */
const PROCESS_ENV_KEYS = ['VERSION', 'GIT_COMMIT', 'BOARD', 'RAM', 'FLASH', 'SPIFLASH', 'STORAGE', 'SERIAL', 'CONSOLE', 'MODULES', 'EXPTR'];

/** Constructors a class must not extend on Espruino (`class E extends Error` throws, Error subclasses break instanceof). */
const BUILTIN_CTORS = [
  'Error', 'TypeError', 'SyntaxError', 'ReferenceError', 'RangeError', 'EvalError', 'URIError',
  'Array', 'Map', 'Set', 'WeakMap', 'Promise', 'RegExp', 'Date', 'Function', 'String', 'Number', 'Boolean',
  'ArrayBuffer', 'DataView', 'Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array',
];

const FUNCTION_TYPES = ['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'];
const isFunction = (n) => n && FUNCTION_TYPES.indexOf(n.type) >= 0;

/**
 * Check `code` (a script). Returns violations [{ line, col, rule, message }],
 * line 1-based and col 0-based in `code`, sorted by position.
 */
export function checkSource(code, { modules = ESPRUINO_MODULES } = {}) {
  const out = [];
  const add = (node, rule, message) => out.push({ pos: node.start, line: node.loc.start.line, col: node.loc.start.column, rule, message });
  let ast;
  const escapedNames = [];
  try {
    ast = acorn.parse(code, {
      ecmaVersion: 'latest', sourceType: 'script', locations: true, allowHashBang: false,
      onToken: (t) => {
        if ((t.type === acorn.tokTypes.name || t.type === acorn.tokTypes.privateId) && code.slice(t.start, t.end).indexOf('\\') >= 0) escapedNames.push(t);
      },
    });
  } catch (e) {
    const loc = e.loc || { line: 1, column: 0 };
    return [{ pos: e.pos || 0, line: loc.line, col: loc.column, rule: 'syntax', message: 'not a script Espruino can parse: ' + e.message.replace(/ \(\d+:\d+\)$/, '') }];
  }
  checkSyntax(ast, add);
  // Measured on 2v29: `var \u0061b` and `o.\u0061b` are SyntaxErrors ("Got '\' expected ID"); esbuild writes non-ASCII names so.
  for (const t of escapedNames) add(t, 'identifier-escape', 'a `\\u` escape in a name is a SyntaxError on Espruino: write the name without escapes');
  const scopes = analyseScopes(ast);
  checkGlobals(ast, scopes, add, modules);
  checkHoisting(ast, scopes, add);
  checkExtends(ast, scopes, add);
  out.sort((a, b) => a.pos - b.pos || (a.rule < b.rule ? -1 : 1));
  return out.filter((v, i) => i === 0 || v.pos !== out[i - 1].pos || v.message !== out[i - 1].message).map(({ pos, ...v }) => v);
}

// ---------------------------------------------------------------- syntax

function checkSyntax(ast, add) {
  walk.fullAncestor(ast, (node, _st, anc) => {
    const parent = anc[anc.length - 2];
    switch (node.type) {
      case 'ObjectPattern':
      case 'ArrayPattern':
        add(node, 'destructuring', 'destructuring is not supported by Espruino');
        break;
      case 'SpreadElement':
        add(node, 'spread', 'spread (`...x` in a call, array or object) is not supported by Espruino');
        break;
      case 'RestElement':
        add(node, 'rest', 'rest parameters/elements (`...x`) are not supported by Espruino');
        break;
      case 'AssignmentPattern':
        add(node, 'default-param', 'default parameter/destructuring values are not supported by Espruino');
        break;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        if (node.generator) add(node, 'generator', 'generators are not supported by Espruino');
        if (node.async) add(node, 'async', 'async functions are not supported by Espruino');
        break;
      case 'UpdateExpression':
        if (node.argument.type === 'MemberExpression' && memberName(node.argument) === 'length') add(node, 'length-assign', LENGTH_MSG);
        break;
      case 'YieldExpression':
        add(node, 'generator', '`yield` (generators) is not supported by Espruino');
        break;
      case 'AwaitExpression':
        add(node, 'async', '`await` is not supported by Espruino');
        break;
      case 'LabeledStatement':
        add(node, 'label', 'labels are not supported by Espruino (label `' + node.label.name + '`)');
        break;
      case 'BreakStatement':
      case 'ContinueStatement':
        if (node.label) add(node, 'label', 'labelled ' + (node.type === 'BreakStatement' ? 'break' : 'continue') + ' is not supported by Espruino');
        break;
      case 'TaggedTemplateExpression':
        add(node, 'tagged-template', 'tagged templates are not supported by Espruino');
        break;
      case 'ChainExpression':
        add(node, 'optional-chaining', 'optional chaining `?.` is not supported by Espruino');
        break;
      case 'BinaryExpression':
        if (node.operator === '**') add(node, 'exponent', '`**` is not supported by Espruino (use Math.pow)');
        break;
      case 'AssignmentExpression':
        if (node.left.type === 'MemberExpression' && memberName(node.left) === 'length') add(node, 'length-assign', LENGTH_MSG);
        if (node.operator === '**=') add(node, 'exponent', '`**=` is not supported by Espruino (use Math.pow)');
        if (node.operator === '??=' || node.operator === '||=' || node.operator === '&&=') add(node, 'logical-assignment', '`' + node.operator + '` is not supported by Espruino');
        break;
      case 'Literal':
        if (node.bigint !== undefined) add(node, 'bigint', 'BigInt literals are not supported by Espruino');
        else if (typeof node.value === 'number' && node.raw.indexOf('_') >= 0) add(node, 'numeric-separator', 'numeric separators are not supported by Espruino');
        else if (typeof node.value === 'string') checkStringEscapes(node, node.raw, add);
        else if (node.regex) checkRegex(node, node.regex.pattern, node.regex.flags, add);
        break;
      case 'TemplateElement':
        checkStringEscapes(node, node.value.raw, add);
        break;
      case 'NewExpression':
      case 'CallExpression':
        if (node.callee.type === 'Identifier' && node.callee.name === 'RegExp') checkRegExpCall(node, add);
        break;
      case 'ArrayExpression':
        if (node.elements.some((e) => e === null)) add(node, 'array-hole', 'array hole (`[a,,b]`): Espruino\'s parser rejects it inside a switch case it skips; write `void 0`');
        break;
      case 'ForOfStatement':
        add(node, 'for-of', 'for-of is not supported here (Espruino has no iterator protocol; ES5 output has none)');
        break;
      case 'Property':
        if (node.computed && parent && parent.type === 'ObjectExpression') add(node, 'computed-key', 'computed property keys (`{[k]: v}`) are not supported by Espruino');
        break;
      case 'MethodDefinition':
        if (node.computed) add(node, 'computed-key', 'computed method names are not supported by Espruino');
        break;
      case 'PropertyDefinition':
        add(node, 'class-field', 'class fields are not supported by Espruino');
        break;
      case 'PrivateIdentifier':
        add(node, 'class-field', 'private class members (`#x`) are not supported by Espruino');
        break;
      case 'StaticBlock':
        add(node, 'class-field', 'class static blocks are not supported by Espruino');
        break;
      case 'MetaProperty':
        add(node, 'meta-property', '`' + node.meta.name + '.' + node.property.name + '` is not supported by Espruino');
        break;
      case 'ImportExpression':
        add(node, 'import', 'dynamic import() is not supported by Espruino');
        break;
      case 'SwitchStatement': {
        const d = node.cases.findIndex((c) => c.test === null);
        if (d >= 0 && d < node.cases.length - 1) add(node.cases[d + 1], 'switch-default', '`case` after `default` is a SyntaxError on Espruino ("CASE after DEFAULT unsupported"): put `default` last');
        break;
      }
      case 'ForStatement':
        if (node.init && node.init.type === 'VariableDeclaration' && node.init.kind !== 'var' && containsFunction(node.body)) {
          add(node, 'loop-binding', '`for (' + node.init.kind + ' …)` captured by a closure: Espruino has no per-iteration binding');
        }
        break;
    }
  });
}

// Measured on 2v29: `a.length = 0` (or any write to an array's length) throws "Assignment to a constant".
const LENGTH_MSG = 'writing `.length` throws on Espruino arrays ("Assignment to a constant"): use `a.splice(0)` to empty one';

function containsFunction(node) {
  let found = false;
  walk.full(node, (n) => {
    if (isFunction(n)) found = true;
  });
  return found;
}

/**
 * `\u{…}` and line continuations in a string literal or a template chunk, read escape by escape from its source
 * text (a `\\` pair is one escape). Measured on 2v29: `"\u{41}"` throws "Invalid escape sequence" wherever it is
 * (even in a function never called); a backslash before a line break (LF, CR or U+2028) keeps the break.
 */
function checkStringEscapes(node, raw, add) {
  for (const m of raw.matchAll(/\\(u\{|[\s\S])/g)) {
    if (m[1] === 'u{') add(node, 'string-escape', '`\\u{…}` escapes throw on Espruino ("Invalid escape sequence"): use `\\uXXXX` (a surrogate pair above U+FFFF)');
    else if ('\n\r\u2028\u2029'.indexOf(m[1]) >= 0) add(node, 'string-escape', 'a line continuation (`\\` before a line break) keeps the line break in an Espruino string: join the lines');
  }
}

/** `new RegExp(…)` / `RegExp(…)`: literal flags, and a literal pattern, are checked like a regex literal's. 2v29 takes only a string. */
function checkRegExpCall(node, add) {
  const [p, f] = node.arguments;
  const text = (a) => (a && a.type === 'Literal' && typeof a.value === 'string' ? a.value
    : a && a.type === 'TemplateLiteral' && a.expressions.length === 0 ? a.quasis[0].value.cooked : null);
  if (p && p.type === 'Literal' && p.regex) add(node, 'regex', '`RegExp(/…/)` throws on Espruino ("Expecting String as first argument"): pass the pattern as a string');
  const flags = f === undefined ? '' : text(f);
  if (flags !== null) checkRegex(node, text(p), flags, add);
}

/** Each RegExp source is parsed once (regexpp, Annex B syntax as V8 reads a script) and checked on its AST. */
const REGEXP_PARSER = new RegExpParser({ ecmaVersion: 2025 });

/**
 * What a RegExp pattern uses that 2v29's matcher (src/jswrap_regexp.c, a character-by-character matcher with
 * groups, `*`, `+`, `|`, `^`, `$`, classes and \d\D\s\S\w\W\f\n\r\t\v\0\xNN) does not do as JavaScript does;
 * each measured on 2v29 with the example its message gives. `pattern` null: only the flags are known.
 */
function checkRegex(node, pattern, flags, add) {
  const report = (message) => add(node, 'regex', message);
  const bad = flags.replace(/[gim]/g, '');
  if (bad) report('regular expression flag(s) `' + bad + '` are not supported by Espruino (only g, i, m)');
  if (pattern === null) return;
  let ast;
  try {
    ast = REGEXP_PARSER.parsePattern(pattern, 0, pattern.length, { unicode: flags.indexOf('u') >= 0, unicodeSets: flags.indexOf('v') >= 0 });
  } catch (e) {
    report('not a valid regular expression: ' + e.message);
    return;
  }
  const starts = [];
  let groups = 0;
  visitRegExpAST(ast, {
    onAssertionEnter(a) {
      if (a.kind === 'lookbehind') report('regular expression lookbehind is not supported by Espruino');
      else if (a.kind === 'lookahead') report('regular expression lookahead (`(?=`, `(?!`) is not supported by Espruino (`/a(?=b)/` misses "ab")');
      else if (a.kind === 'word') report('word boundaries (`\\b`, `\\B`) are not supported by Espruino (`\\b` is a backspace there: `/\\bfoo/` misses "foo")');
      else if (a.kind === 'start') starts.push(a);
      if ((a.kind === 'start' || a.kind === 'end') && flags.indexOf('m') >= 0) report('the `m` flag is ignored by Espruino: `^` and `$` match only at the ends of the string (`/^b/m` misses "a\\nb")');
    },
    onCapturingGroupEnter(g) {
      if (g.name) report('named capture groups are not supported by Espruino');
      if (++groups === 10) report('more than 9 capturing groups: Espruino records 9, and a 10th corrupts the 1st and the 9th capture');
      for (let up = g.parent; up; up = up.parent) {
        if (up.type === 'CapturingGroup') report('a capturing group inside another gets the wrong text on Espruino (`/((a)b)/` gives "" and "ab"): `)` ends the group opened last');
      }
    },
    onGroupEnter() {
      report('non-capturing groups (`(?:…)`) never match on Espruino 2v29 (`/(?:a)b/` misses "ab"): use a capturing group');
    },
    onAlternativeEnter(alt) {
      if (alt.parent.type !== 'Pattern' && alt.parent.alternatives.length > 1) report('alternation inside a group (`(a|b)`): on Espruino the first alternative that matches ends the whole match (`/^(a|b)$/` matches "ab")');
    },
    onBackreferenceEnter(b) {
      if (typeof b.ref === 'string') report('named capture groups are not supported by Espruino');
      else report(DIGIT_ESCAPE_MSG);
    },
    onCharacterSetEnter(s) {
      if (s.kind === 'property') report('unicode property escapes are not supported by Espruino');
    },
    onQuantifierEnter(q) {
      const syntax = q.raw.slice(q.element.raw.length);
      const base = q.greedy ? syntax : syntax.slice(0, -1);
      if (base[0] === '{') report('counted quantifiers (`{n}`, `{n,m}`) never match on Espruino 2v29 (`/^a{2}$/` misses "aa"): test the length apart, or repeat the atom');
      if (base === '?') report('the `?` quantifier never matches on Espruino 2v29 (`/^ab?c$/` misses "ac"): test the variants apart');
      if (!q.greedy) report('lazy quantifiers (`*?`, `+?`) never match on Espruino 2v29 (`/a+?/` misses "a")');
      if (q.element.type === 'Group' || q.element.type === 'CapturingGroup') report('a quantified group (`(ab)+`, `(a)*`) never matches on Espruino 2v29: quantify a character or a class');
    },
    onCharacterEnter(c) {
      if (c.raw.length > 2 && c.raw.startsWith('\\u')) report('`\\u` escapes in a regular expression do not match on Espruino (`/\\u0041/` misses "A"); use \\xNN or the character');
      else if (c.raw.startsWith('\\c')) report('control escapes (`\\cJ`) are not supported by Espruino (`\\cJ` matches "c"): use \\xNN');
      else if (/^\\[0-9]/.test(c.raw) && c.raw !== '\\0') report(DIGIT_ESCAPE_MSG);
      else if (c.raw === '[') report('an unescaped `[` inside a character class throws on Espruino ("Unfinished character set in RegEx"): write `\\[`');
    },
    onPatternLeave(p) {
      // 2v29 tries what follows a `|` only when what precedes it fails, not when its `^` does: `/^a|b/` misses "xb".
      const top = (n) => (n.parent.type === 'Pattern' ? n : top(n.parent));
      for (const a of starts) {
        const i = p.alternatives.indexOf(top(a));
        const later = p.alternatives.slice(i + 1);
        if (later.some((alt) => !(alt.elements[0] && alt.elements[0].type === 'Assertion' && alt.elements[0].kind === 'start'))) {
          report('a `^` before a `|`: Espruino does not try the alternatives after it at later positions (`/^a|b/` misses "xb"): anchor every alternative or none');
        }
      }
    },
  });
}

// Measured on 2v29: `\1`…`\9` throw "Backreferences not supported"; `\0` is NUL only alone (`/\01/` misses "\x01").
const DIGIT_ESCAPE_MSG = 'a backslash and a digit (`\\1`, `\\101`) is not supported by Espruino (`\\1`…`\\9` throw "Backreferences not supported"; only a lone `\\0` works): use \\xNN';

// ---------------------------------------------------------------- scopes

/**
 * One pass that records every scope and declaration, then resolves every
 * identifier reference. A scope: { node, parent, fn (function or program
 * scope it belongs to), decls: name -> [{ kind, node, pos, conds }] }.
 * `refs` lists { node, scope, decl|null, parents } for each reference.
 */
function analyseScopes(ast) {
  const scopes = new Map();
  const refs = [];
  const mkScope = (node, parent, isFn) => {
    const s = { node, parent, isFn, fn: null, decls: new Map() };
    s.fn = isFn ? s : parent.fn;
    scopes.set(node, s);
    return s;
  };
  const declare = (scope, name, kind, node, conds) => {
    if (!scope.decls.has(name)) scope.decls.set(name, []);
    scope.decls.get(name).push({ kind, node, pos: node.start, conds });
  };
  const patternNames = (p, fn) => {
    if (!p) return;
    if (p.type === 'Identifier') fn(p);
    else if (p.type === 'ObjectPattern') p.properties.forEach((q) => patternNames(q.type === 'RestElement' ? q.argument : q.value, fn));
    else if (p.type === 'ArrayPattern') p.elements.forEach((q) => patternNames(q, fn));
    else if (p.type === 'RestElement') patternNames(p.argument, fn);
    else if (p.type === 'AssignmentPattern') patternNames(p.left, fn);
  };

  const program = mkScope(ast, null, true);
  // Pass 1: declarations. `conds` is the chain of conditional constructs
  // (if branches, loop bodies, switch cases, catch blocks) between the
  // declaration and its function: a `var` there may never be defined.
  (function visit(node, scope, conds) {
    if (!node || typeof node.type !== 'string') return;
    switch (node.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression': {
        if (node.type === 'FunctionDeclaration' && node.id) declare(scope.isFn || scope.node.type === 'BlockStatement' ? scope : scope.fn, node.id.name, 'function', node, conds);
        const fs = mkScope(node, scope, true);
        if (node.type === 'FunctionExpression' && node.id) declare(fs, node.id.name, 'self', node.id, []);
        node.params.forEach((p) => patternNames(p, (id) => declare(fs, id.name, 'param', id, [])));
        node.params.forEach((p) => visit(p, fs, []));
        if (node.body.type === 'BlockStatement') {
          // The body block shares the function scope.
          scopes.set(node.body, fs);
          node.body.body.forEach((st) => visit(st, fs, []));
        } else visit(node.body, fs, []);
        return;
      }
      case 'ClassDeclaration':
        if (node.id) declare(scope, node.id.name, 'class', node.id, conds);
        break;
      case 'VariableDeclaration':
        node.declarations.forEach((d) =>
          patternNames(d.id, (id) => declare(node.kind === 'var' ? scope.fn : scope, id.name, node.kind, id, node.kind === 'var' ? conds : [])),
        );
        break;
      case 'BlockStatement':
        if (!scopes.has(node)) {
          const bs = mkScope(node, scope, false);
          node.body.forEach((st) => visit(st, bs, conds));
          return;
        }
        break;
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement': {
        const ls = mkScope(node, scope, false);
        ['init', 'test', 'update', 'left', 'right'].forEach((k) => visit(node[k], ls, conds));
        visit(node.body, ls, conds.concat([node.body]));
        return;
      }
      case 'WhileStatement':
        visit(node.test, scope, conds);
        visit(node.body, scope, conds.concat([node.body]));
        return;
      case 'IfStatement':
        visit(node.test, scope, conds);
        visit(node.consequent, scope, conds.concat([node.consequent]));
        visit(node.alternate, scope, conds.concat([node.alternate]));
        return;
      case 'SwitchStatement': {
        visit(node.discriminant, scope, conds);
        const ss = mkScope(node, scope, false);
        node.cases.forEach((c) => {
          visit(c.test, ss, conds);
          c.consequent.forEach((st) => visit(st, ss, conds.concat([c])));
        });
        return;
      }
      case 'CatchClause': {
        const cs = mkScope(node, scope, false);
        patternNames(node.param, (id) => declare(cs, id.name, 'catch', id, []));
        scopes.set(node.body, cs);
        node.body.body.forEach((st) => visit(st, cs, conds.concat([node])));
        return;
      }
      case 'ClassExpression': {
        const cs = mkScope(node, scope, false);
        if (node.id) declare(cs, node.id.name, 'class', node.id, []);
        visit(node.superClass, scope, conds);
        visit(node.body, cs, conds);
        return;
      }
    }
    for (const k in node) {
      if (k === 'loc') continue;
      const v = node[k];
      if (Array.isArray(v)) v.forEach((c) => visit(c, scope, conds));
      else if (v && typeof v.type === 'string') visit(v, scope, conds);
    }
  })(ast, program, []);

  // Pass 2: references, with their ancestors (for `typeof`, member access and conditions).
  const lookup = (scope, name) => {
    for (let s = scope; s; s = s.parent) if (s.decls.has(name)) return { scope: s, decls: s.decls.get(name) };
    return null;
  };
  (function visit(node, scope, parents) {
    if (!node || typeof node.type !== 'string') return;
    const own = scopes.get(node);
    if (own) scope = own;
    const up = parents.concat([node]);
    if (node.type === 'Identifier') {
      refs.push({ node, scope, binding: lookup(scope, node.name), parents });
      return;
    }
    const skip = referenceSkips(node);
    for (const k in node) {
      if (k === 'loc' || skip.indexOf(k) >= 0) continue;
      const v = node[k];
      if (Array.isArray(v)) v.forEach((c) => visit(c, scope, up));
      else if (v && typeof v.type === 'string') visit(v, scope, up);
    }
  })(ast, program, []);
  return { scopes, refs, program };
}

/** Children of `node` that hold names, not references. */
function referenceSkips(node) {
  switch (node.type) {
    case 'MemberExpression':
      return node.computed ? [] : ['property'];
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
      return node.computed ? [] : ['key'];
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
      return ['label'];
    case 'FunctionDeclaration':
    case 'FunctionExpression':
    case 'ClassDeclaration':
    case 'ClassExpression':
      return ['id'];
    case 'VariableDeclarator':
      return ['id'];
    case 'CatchClause':
      return ['param'];
    case 'MetaProperty':
      return ['meta', 'property'];
    default:
      return [];
  }
}

const isTypeofArg = (ref) => {
  const p = ref.parents[ref.parents.length - 1];
  return p && p.type === 'UnaryExpression' && p.operator === 'typeof';
};

// ---------------------------------------------------------------- globals

function checkGlobals(ast, { refs }, add, modules) {
  for (const ref of refs) {
    if (ref.binding) continue;
    const name = ref.node.name;
    const p = ref.parents[ref.parents.length - 1];
    if (MISSING_GLOBALS.indexOf(name) >= 0 && !isTypeofArg(ref)) {
      add(ref.node, 'global', '`' + name + '` does not exist on Espruino');
      continue;
    }
    const member = p && p.type === 'MemberExpression' && p.object === ref.node ? memberName(p) : null;
    if (member !== null && MISSING_STATICS[name] && MISSING_STATICS[name].indexOf(member) >= 0) {
      add(p, 'global', '`' + name + '.' + member + '` does not exist on Espruino');
    }
    if (member === 'prototype' && INSTANCE_ONLY.indexOf(name) >= 0) {
      const gp = ref.parents[ref.parents.length - 2];
      const m = gp && gp.type === 'MemberExpression' && gp.object === p ? memberName(gp) : null;
      const writes = ref.parents[ref.parents.length - 3];
      const isWrite = writes && writes.type === 'AssignmentExpression' && writes.left === gp;
      if (m !== null && !isWrite) add(gp, 'builtin-prototype', '`' + name + '.prototype.' + m + '` is undefined on Espruino (built-in methods live on instances): use e.g. `[].' + m + '.call(…)` or call it on the value');
    }
    if (name === 'process' && member === 'env') {
      const gp = ref.parents[ref.parents.length - 2];
      const key = gp && gp.type === 'MemberExpression' && gp.object === p ? memberName(gp) : null;
      if (PROCESS_ENV_KEYS.indexOf(key) < 0) add(p, 'global', '`process.env` on Espruino only describes the firmware build (VERSION, BOARD…); there is no environment');
    }
    if (name === 'require' && p && p.type === 'CallExpression' && p.callee === ref.node) {
      const a = p.arguments[0];
      if (!a || a.type !== 'Literal' || typeof a.value !== 'string') add(p, 'require', '`require` with a computed name: only Espruino modules can be loaded, by literal name');
      else if (modules.indexOf(a.value) < 0) add(p, 'require', '`require("' + a.value + '")` is not an Espruino module (bundle it instead)');
    }
  }
  walk.full(ast, (node) => {
    if (node.type !== 'CallExpression' || node.callee.type !== 'MemberExpression') return;
    const m = memberName(node.callee);
    if (m !== null && Object.prototype.hasOwnProperty.call(MISSING_METHODS, m)) add(node.callee, 'method', '`.' + m + '()`: ' + MISSING_METHODS[m] + ' does not exist on Espruino');
  });
}

function memberName(m) {
  if (!m.computed && m.property.type === 'Identifier') return m.property.name;
  if (m.computed && m.property.type === 'Literal' && typeof m.property.value === 'string') return m.property.value;
  return null;
}

function isDeclarationSite(ref) {
  const p = ref.parents[ref.parents.length - 1];
  if (!p) return false;
  if (isFunction(p) && p.params.indexOf(ref.node) >= 0) return true;
  return false;
}

// ---------------------------------------------------------------- hoisting

/** The function a call or `new` invokes on the spot (`(function(){…})()`, `.call`/`.apply` of one), or false. */
function isIife(call) {
  if (!call || (call.type !== 'CallExpression' && call.type !== 'NewExpression')) return false;
  let c = call.callee;
  if (c.type === 'MemberExpression' && !c.computed && (c.property.name === 'call' || c.property.name === 'apply')) c = c.object;
  return isFunction(c) ? c : false;
}

/**
 * Espruino defines a function or `var` only when execution reaches its
 * declaration. For each function (and the program), walk the code that runs
 * when it runs — its body in source order, immediately-invoked function
 * bodies in place, and the bodies of functions it calls by name, at the call —
 * and flag a use of a name of that scope before its declaration, or of a
 * `var` only declared inside a conditional block the use is not in.
 */
function checkHoisting(ast, { scopes, refs }, add) {
  const refByNode = new Map();
  for (const r of refs) refByNode.set(r.node, r);
  const flagged = new Set();
  const roots = [ast];
  walk.full(ast, (n) => {
    if (isFunction(n)) roots.push(n);
  });
  for (const root of roots) {
    const rootScope = scopes.get(root);
    const iifeOf = new Set();
    // Scopes whose declarations run as part of this root's execution.
    const live = new Set([rootScope]);
    const following = new Set();
    const followedAt = new Map();
    const run = (node, time, parents) => {
      if (!node || typeof node.type !== 'string') return;
      if (isFunction(node) && node !== root && !iifeOf.has(node)) return; // runs later, analysed as its own root
      if (node.type === 'Identifier') {
        const r = refByNode.get(node);
        if (r && r.binding && live.has(r.binding.scope.fn) && !isDeclarationSite(r)) check(r, time === null ? node.start : time, parents);
        return;
      }
      const fn = isIife(node);
      if (fn) {
        iifeOf.add(fn);
        live.add(scopes.get(fn));
      }
      if ((node.type === 'CallExpression' || node.type === 'NewExpression') && node.callee.type === 'Identifier') {
        const r = refByNode.get(node.callee);
        const d = r && r.binding && r.binding.decls.find((x) => x.kind === 'function');
        const at = time === null ? node.start : time;
        // Following a callee at a later time cannot find more than at an earlier one.
        if (d && live.has(r.binding.scope.fn) && !following.has(d.node) && !(followedAt.get(d.node) <= at)) {
          // The callee's body runs now: its uses of this scope's names count at this call.
          followedAt.set(d.node, at);
          following.add(d.node);
          run(d.node.body, at, parents.concat([node]));
          following.delete(d.node);
        }
      }
      const skip = referenceSkips(node);
      const up = parents.concat([node]);
      for (const k in node) {
        if (k === 'loc' || skip.indexOf(k) >= 0) continue;
        const v = node[k];
        if (Array.isArray(v)) v.forEach((c) => run(c, time, up));
        else if (v && typeof v.type === 'string') run(v, time, up);
      }
    };
    const check = (r, at, parents) => {
      const decls = r.binding.decls;
      const hoisted = decls.filter((d) => d.kind === 'function' || d.kind === 'var');
      if (!hoisted.length || hoisted.length !== decls.length) return;
      if (flagged.has(r.node)) return;
      const chain = new Set(parents.concat(r.parents));
      const first = Math.min.apply(null, hoisted.map((d) => d.pos));
      const ok = hoisted.some((d) => d.pos <= at && d.conds.every((c) => chain.has(c)));
      if (ok) return;
      flagged.add(r.node);
      const kind = hoisted[0].kind === 'function' ? 'function' : 'var';
      if (at < first || r.node.start < first) {
        add(r.node, 'hoisting', '`' + r.node.name + '` is used before its ' + kind + ' declaration: Espruino does not hoist ' + (kind === 'function' ? 'function declarations' : '`var`'));
      } else {
        add(r.node, 'hoisting', '`' + r.node.name + '` is declared (var) only inside a conditional block this use is outside of: Espruino defines a `var` only when its declaration runs');
      }
    };
    const body = root.type === 'Program' ? root : root.body;
    run(body, null, root.type === 'Program' ? [] : [root]);
  }
}

// ---------------------------------------------------------------- extends

/**
 * `class X extends Error` — and its ES5 form, the class IIFE
 * `(function (_super) { __extends(X, _super); … })(Error)` which survives
 * minification as a call passing the parameter second — are flagged.
 */
function checkExtends(ast, { refs }, add) {
  const free = new Set(refs.filter((r) => !r.binding).map((r) => r.node));
  const builtin = (n) => n && n.type === 'Identifier' && BUILTIN_CTORS.indexOf(n.name) >= 0 && free.has(n);
  walk.full(ast, (node) => {
    if ((node.type === 'ClassDeclaration' || node.type === 'ClassExpression') && builtin(node.superClass)) {
      add(node.superClass, 'extends-builtin', 'a class extending the built-in `' + node.superClass.name + '` does not work on Espruino');
    }
    if (node.type === 'CallExpression') {
      if (node.callee.type === 'Identifier' && /^_*extends$/.test(node.callee.name) && builtin(node.arguments[1])) {
        add(node.arguments[1], 'extends-builtin', 'a class extending the built-in `' + node.arguments[1].name + '` does not work on Espruino');
      }
      const fn = isIife(node);
      if (!fn) return;
      node.arguments.forEach((a, i) => {
        const p = fn.params[i];
        if (!builtin(a) || !p || p.type !== 'Identifier') return;
        let inherits = false;
        walk.full(fn.body, (n) => {
          if (n.type === 'CallExpression' && n.arguments.length >= 2 && n.arguments[1].type === 'Identifier' && n.arguments[1].name === p.name) inherits = true;
        });
        if (inherits) add(a, 'extends-builtin', 'a class extending the built-in `' + a.name + '` does not work on Espruino');
      });
    }
  });
}

// ---------------------------------------------------------------- source maps and CLI

/**
 * Check the file at `path`; map positions through `mapPath` (default
 * `<path>.map` when present). Returns violations with `where` (what to print).
 */
export function checkFile(path, { mapPath, modules } = {}) {
  const code = readFileSync(path, 'utf8');
  const vs = checkSource(code, { modules });
  if (mapPath === undefined && existsSync(path + '.map')) mapPath = path + '.map';
  let sm = null;
  let sources = null;
  if (mapPath) {
    const payload = JSON.parse(readFileSync(mapPath, 'utf8'));
    sm = new SourceMap(payload);
    sources = payload.sources;
  }
  const here = relative(process.cwd(), path) || path;
  return vs.map((v) => {
    const at = here + ':' + v.line + ':' + (v.col + 1);
    let where = at;
    if (sm) {
      const e = sm.findEntry(v.line - 1, v.col);
      if (e && e.originalSource) {
        let src = e.originalSource;
        if (src.startsWith('file://')) src = fileURLToPath(src);
        else if (sources && sources.indexOf(src) >= 0) src = resolve(dirname(mapPath), src);
        src = relative(process.cwd(), resolve(dirname(mapPath), src));
        where = src + ':' + (e.originalLine + 1) + ':' + (e.originalColumn + 1);
        return Object.assign({}, v, { where, bundle: at, text: where + ': ' + v.message + ' [' + at + ']' });
      }
    }
    return Object.assign({}, v, { where, bundle: at, text: where + ': ' + v.message });
  });
}

async function main(argv) {
  const files = [];
  const maps = {};
  const modules = ESPRUINO_MODULES.slice();
  let boards = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--map') maps[files[files.length - 1]] = argv[++i];
    else if (a === '--allow-module') modules.push(argv[++i]);
    else if (a === '--boards') boards = true;
    else if (a.startsWith('-')) throw new Error('unknown argument ' + a);
    else files.push(a);
  }
  if (boards) {
    const { listBoards } = await import('./build.mjs');
    const names = listBoards();
    if (!names.length) process.stdout.write('compat: no board profiles in boards/, no bundles to check\n');
    for (const b of names) {
      const f = join(ROOT, 'dist', b, 'app.js');
      if (!existsSync(f)) throw new Error('no bundle for board ' + b + ' (' + relative(process.cwd(), f) + '): run make bundles');
      files.push(f);
    }
  }
  if (!files.length && !boards) {
    process.stdout.write('usage: node tools/compat.mjs FILE.js [--map FILE.map] … | --boards [--allow-module NAME]\n');
    return 2;
  }
  let bad = 0;
  for (const f of files) {
    const vs = checkFile(f, { mapPath: maps[f], modules });
    for (const v of vs) process.stdout.write(v.text + '\n');
    bad += vs.length;
    process.stdout.write('compat: ' + relative(process.cwd(), f) + ': ' + (vs.length ? vs.length + ' violation(s)' : 'ok') + '\n');
  }
  return bad ? 1 : 0;
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write('compat: ' + (e && e.message ? e.message : e) + '\n');
      process.exit(2);
    },
  );
}
