#!/usr/bin/env node
/**
 * TypeScript → one Espruino 2v29 bundle per board: dist/<board>/app.js (+ app.js.map).
 *
 *   node tools/build.mjs --board esp32          one board
 *   node tools/build.mjs --all                  every profile in boards/
 *   options: --entry firmware/main.ts  --boards-dir boards  --out dist  --build build  --pretty  --quiet
 *
 * Why this chain (see ../shared/ESPRUINO.md for the measurements):
 * 1. tsc 5.9, `--target ES5 --module ES2015 --importHelpers`. TypeScript 7 has
 *    no ES5 target, and everything ES2015+ (destructuring, spread, default
 *    parameters, for-of helpers) fails on Espruino; tsc 5.9 is also our type
 *    checker, so the emitter and the checker agree. CommonJS output fails on
 *    Espruino (exports assigned above the function declarations), so tsc emits
 *    ES modules and we bundle them. `tslib` is replaced by
 *    tools/espruino-helpers.js (no Symbol, no holes, no hoisting reliance).
 * 2. esbuild bundles the already-ES5 JavaScript into one IIFE (target es5 so
 *    its own glue is ES5 too). `boards/current` is aliased to
 *    `boards/<board>`, and `__BOARD__` is defined as the board's name.
 *    `require("net")` & co. are Espruino modules, not bundle inputs: `require`
 *    is renamed through esbuild (which would otherwise wrap it in a
 *    Proxy-based shim) and renamed back by terser.
 * 3. terser with `hoist_funs` and `hoist_vars`: Espruino hoists neither
 *    function declarations nor `var`s, so every declaration is moved to the
 *    top of its scope. Its output uses only the ES2015 syntax 2v29 was
 *    measured to run (arrows, shorthand properties and methods), shortens the
 *    runtime's private property names (PRIVATE_PROPS), and is ASCII only
 *    (binary strings become \xNN).
 * 4. Array holes (`[1,,2]`, a parser bug trap on Espruino) become `void 0`.
 * The source map chains all four steps back to the TypeScript, so
 * tools/compat.mjs can name the .ts file and line of a violation.
 *
 * Board selection contract: the entry imports `<boards-dir>/current` (typed by
 * a `current.d.ts` there); the bundle gets `<boards-dir>/<board>.ts` instead.
 * A board profile is any boards/*.ts (not .d.ts) that has `export const board`.
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync, rmSync, copyFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
const ts = require('typescript');
const esbuild = require('esbuild');
const terser = require('terser');
const acorn = require('acorn');

/** The repository root (tools/..). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The Espruino-safe stand-in for `tslib`. */
export const HELPERS = join(ROOT, 'tools', 'espruino-helpers.js');
/** Placeholder name `require` travels under between esbuild and terser. */
const REQ = '__espruino_require__';
/** The boot loader's entry (firmware/loader.ts): flashed as `.bootcde`, it runs the app from its Storage slot. */
export const LOADER = join(ROOT, 'firmware', 'loader.ts');
/** Bytes before the bundle in an app file, and the files a flash replaces (firmware/slots.ts: APPS, LOAD, HEAD). */
const HEAD = 64;
const ERASE = ['app.1', 'load.0', 'load.1'];

/**
 * What `make flash` writes to a board, and the emulator to its flash, in `dir/storage/` (next to the UI's files):
 * the loader as `.bootcde`, the app in slot 0 (`app.0`: HEAD bytes, then the bundle), and `dir/flash.json`
 * listing the files to write and those to erase (the other slot and the loader's record: a flashed board runs
 * the flashed app, confirmed).
 */
function flashImage(dir, loader, app) {
  writeFileSync(join(dir, 'storage', '.bootcde'), loader);
  writeFileSync(join(dir, 'storage', 'app.0'), Buffer.concat([Buffer.alloc(HEAD, 32), Buffer.from(app, 'latin1')]));
  const image = { write: readdirSync(join(dir, 'storage')).sort(), erase: ERASE };
  writeFileSync(join(dir, 'flash.json'), JSON.stringify(image, null, 1) + '\n');
  return image;
}

/** Default budget of a whole board bundle, bytes (a profile's `bundleBudget` overrides it). */
export const BOARD_BUDGET = 48 * 1024;

/** Board names in `dir`: every *.ts (not .d.ts, not current) that exports `board`. */
export function listBoards(dir = join(ROOT, 'boards')) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'current.ts')
    .filter((f) => /export\s+(const|let|var)\s+board\b/.test(readFileSync(join(dir, f), 'utf8')))
    .map((f) => f.slice(0, -3))
    .sort();
}

/**
 * Compile `roots` (and what they import) with tsc at ES5/ES2015-modules into
 * `outDir`, mirroring paths under the repo root, with a .js.map per file.
 * Compiler options come from tsconfig.json (strictness, lib), overridden for
 * emission. Throws with the formatted diagnostics on any error.
 */
export function compile(roots, outDir) {
  const cfgPath = join(ROOT, 'tsconfig.json');
  const read = ts.readConfigFile(cfgPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.formatDiagnostics([read.error], diagHost()));
  const json = read.config;
  json.compilerOptions = Object.assign({}, json.compilerOptions);
  json.compilerOptions.paths = Object.assign({}, json.compilerOptions.paths, { tslib: ['./tools/espruino-helpers'] });
  const parsed = ts.parseJsonConfigFileContent(json, ts.sys, ROOT, undefined, cfgPath);
  const options = Object.assign(parsed.options, {
    noEmit: false,
    outDir,
    rootDir: ROOT,
    target: ts.ScriptTarget.ES5,
    module: ts.ModuleKind.ES2015,
    importHelpers: true,
    // Every file is a module: tsc inlines tslib's own (Symbol-using) helpers
    // into script files, and esbuild would wrap them as CommonJS.
    moduleDetection: ts.ModuleDetectionKind.Force,
    downlevelIteration: false,
    sourceMap: true,
    inlineSourceMap: false,
    inlineSources: false,
    declaration: false,
    removeComments: true,
    noEmitOnError: true,
    preserveConstEnums: false,
    isolatedModules: false,
  });
  const program = ts.createProgram(roots.map((r) => resolve(ROOT, r)), options);
  const diags = ts.getPreEmitDiagnostics(program);
  const emitted = program.emit();
  const seen = new Set();
  const all = diags.concat(emitted.diagnostics).filter((d) => {
    const key = (d.file ? d.file.fileName : '') + ':' + d.start + ':' + d.code;
    if (d.category !== ts.DiagnosticCategory.Error || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (all.length || emitted.emitSkipped) {
    throw new Error('tsc: ' + all.length + ' error(s)\n' + ts.formatDiagnostics(all, diagHost()));
  }
}

function diagHost() {
  return { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' };
}

/** Where tsc put the JavaScript for `tsFile` (relative to the repo root or absolute). */
export function es5Path(es5Dir, tsFile) {
  return join(es5Dir, relative(ROOT, resolve(ROOT, tsFile)).replace(/\.ts$/, '.js'));
}

/** A board profile (`boards/<board>.ts`'s `board`), evaluated apart from the firmware (esbuild, in a sandbox). */
export async function boardProfile(board, boardsDir = join(ROOT, 'boards')) {
  const r = await esbuild.build({
    entryPoints: [join(boardsDir, board + '.ts')],
    bundle: true,
    format: 'cjs',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
    define: { __BOARD__: JSON.stringify(board) },
    plugins: [
      {
        name: 'no-platform',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (a) => ({ path: a.path, external: true }));
        },
      },
    ],
  });
  const mod = { exports: {} };
  const ctx = vm.createContext({ module: mod, exports: mod.exports, require: () => ({}) });
  try {
    vm.runInContext(r.outputFiles[0].text, ctx, { timeout: 2000 });
  } catch (e) {
    throw new Error('could not evaluate boards/' + board + '.ts: ' + e.message);
  }
  return mod.exports.board;
}

/**
 * Bundle compiled ES5 modules from `entryJs` into one script with esbuild.
 * `format` 'iife' for a board, 'esm' for the size probe (whose exports keep the
 * whole core alive). Returns { code, map } (map as an object).
 */
export async function bundle({ entryJs, es5Dir, board, boardsDir, outFile, format = 'iife', ui = null, mqtt = true }) {
  const current = boardsDir && join(es5Path(es5Dir, join(boardsDir, 'current.ts'))).replace(/\.js$/, '');
  const target = boardsDir && board && es5Path(es5Dir, join(boardsDir, board + '.ts'));
  const plugin = {
    name: 'espruino',
    setup(b) {
      b.onResolve({ filter: /^tslib$/ }, () => ({ path: HELPERS }));
      b.onResolve({ filter: /(^|\/)current(\.js)?$/ }, (a) => {
        if (!current || resolve(a.resolveDir, a.path).replace(/\.js$/, '') !== current) return undefined;
        if (!board) return { errors: [{ text: 'this entry imports boards/current: pass --board' }] };
        if (!existsSync(target)) return { errors: [{ text: 'no compiled board profile ' + relative(ROOT, target) }] };
        return { path: target };
      });
    },
  };
  const r = await esbuild.build({
    entryPoints: [entryJs],
    bundle: true,
    format,
    target: 'es5',
    platform: 'neutral',
    write: false,
    outfile: outFile,
    sourcemap: 'external',
    sourcesContent: false,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
    // Do not let esbuild read tsconfig.json (its `strict` would add a
    // "use strict" the device ignores): tsc already applied it.
    tsconfigRaw: '{}',
    define: Object.assign({ require: REQ, __MQTT__: JSON.stringify(mqtt) }, board ? { __BOARD__: JSON.stringify(board) } : {}, ui ? { __UI__: JSON.stringify(ui) } : {}),
    plugins: [plugin],
  });
  for (const w of r.warnings) process.stderr.write('esbuild warning: ' + w.text + '\n');
  const js = r.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = r.outputFiles.find((f) => f.path.endsWith('.map'));
  return { code: js.text, map: JSON.parse(map.text) };
}

/**
 * Property names private to the runtime: set and read only inside the bundle,
 * never by the interpreter, never serialized or stored. terser shortens them
 * (consistently, within one bundle). A name missing here is merely not
 * shortened; a name that leaves the bundle must never be added.
 */
export const PRIVATE_PROPS = [
  'conns', 'timers', 'nextId', 'seq', 'listenList', 'pollSoon', 'wakeTimer', 'wakeAt', 'pollFn', 'nevict', 'lim', 'hal', 'mgr', 'protoFn',
  'wakeQueue', 'lastIo', 'srcOff', 'sendSince', 'hm', 't0', 'reqStart', 'headLen', 'bodyLen', 'bodyGot', 'headScan', 'chunkState', 'reqId', 'respLeft', 'respDeadline', 'drainDeadline', 'deadline', 'qmax',
  'clock', 'codec', 'soon', 'shutdown', 'cur', 'hdrsSeen', 'hdrsConn',
];

// terser never shortens a name in its list of DOM properties, whatever the regex says (`src`, `after`, `cancel`,
// `readable`, `writable`, `closed` are such names in the HAL and the core: they stay long until renamed).
const { domprops: DOMPROPS } = await import(pathToFileURL(join(dirname(require.resolve('terser')), '..', 'tools', 'domprops.js')).href);
for (const p of PRIVATE_PROPS) if (DOMPROPS.includes(p)) throw new Error('PRIVATE_PROPS holds ' + p + ', which terser never shortens (a DOM property name): rename the property');

/** Names the boot loader and the app share (its record's fields, `global.__boot`): each bundle is minified alone, so none may be shortened. */
export const LOADER_PROPS = ['slot', 'trial', 'current', 'prev', 'tries', 'why', 'back', 'fell', 'from', 'to', 'version', 'board', 'files', 'io'];
for (const p of LOADER_PROPS) if (PRIVATE_PROPS.includes(p)) throw new Error('PRIVATE_PROPS must not hold ' + p + ': the loader and the app share it');

/**
 * terser for Espruino: function and var declarations hoisted to the top of
 * their scopes (Espruino hoists neither); ES2015 output limited to what 2v29
 * was measured to run (arrow functions for `this`-free function expressions,
 * shorthand properties and methods); private property names shortened; ASCII
 * only; `require` restored. `pretty` keeps names and layout (for reading a
 * stack trace on the device).
 */
export async function minify(code, map, { module = false, pretty = false, fileName = 'app.js', preamble = undefined } = {}) {
  const compress = {
    ecma: 2015,
    unsafe_arrows: true,
    unsafe_methods: true,
    hoist_funs: true,
    hoist_vars: true,
    // No single-use function folded into its caller as `((a) => {…})(x)`: the interpreter parses a
    // function expression's whole body to create it, on every call of the caller (measured on 2v29:
    // 27 such sites in the request path cost 30% of /api/status throughput).
    reduce_funcs: false,
    // No function with its own variables inlined: terser then leaves their `var` after a `return` (Espruino does not hoist).
    inline: 2,
    passes: 3,
    global_defs: { ['@' + REQ]: 'require' },
  };
  // Two passes: terser does not put constants in place once it has hoisted the `var`s, so a first pass without
  // hoisting does (`const PIECE = 536` becomes 536 where used). Each constant left as a variable costs the board
  // a JsVar or more for good, and a search of the bundle's scope, ~200 names long, at every use. (terser hoists a
  // function's `var`s only when it has two or more: one declared in a block alone is left there, and compat.mjs
  // refuses it.)
  const first = await terser.minify(code, {
    ecma: 2015,
    module,
    toplevel: module,
    compress: Object.assign({}, compress, { hoist_vars: false }),
    mangle: false,
    format: { ecma: 2015, comments: false },
    sourceMap: map ? { content: map, filename: fileName, asObject: true } : false,
  });
  const r = await terser.minify(first.code, {
    ecma: 2015,
    module,
    toplevel: module,
    compress,
    mangle: pretty ? false : { toplevel: module, properties: { regex: new RegExp('^(' + PRIVATE_PROPS.join('|') + ')$') } },
    format: { ecma: 2015, ascii_only: true, comments: false, beautify: pretty, preamble },
    sourceMap: map ? { content: first.map, filename: fileName, asObject: true } : false,
  });
  return { code: r.code, map: r.map ? (typeof r.map === 'string' ? JSON.parse(r.map) : r.map) : null };
}

/**
 * The names the request path looks up, most looked-up first (source names; one a bundle lacks is left out).
 * Espruino finds a variable by walking its scope's names in the order they were declared, and the bundle's scope
 * holds every top-level function and constant: ~200 names, ~3.5 ns each on the 2v29 Linux build, so a name near
 * the end costs ~0.7 µs at every use. hotFirst() declares these first. Counted per request (GET /api/status, a
 * browser's head, a 304, a signed-in GET /api/config, a poll pass) with an interpreter built to count its lookups;
 * a stale list costs speed, never behaviour.
 */
export const HOT_NAMES = [
  'emit', 'httpHeader', 'sched', 'start', 'httpReply', 'respDone', 'parseHead', 'route', 'deviceHost', 'api', 'dispatch', 'routeMethods',
  'JSON_HDRS', 'ascii', 'status', 'EMPTY', 'FIELD', 'VALUED', 'values', 'REQLINE', 'LEAD_OWS', 'TRAIL_OWS', 'ows', 'lines',
  'list', 'reason', 'ok', 'serveFile', 'uiFile', 'matches', 'credentials', 'cookie', 'key', 'publicJson', 'fields',
  'queue', 'flush', 'mgrPoll', 'visit', 'timersPoll', 'serve', 'requests', 'deadlines', 'httpProto', 'connDrain',
];

/**
 * Declare HOT_NAMES first in the bundle's scope: `var a,b,…;` before everything else in its outermost function
 * (a `var` before a function declaration of the same name adds no variable: measured on 2v29). The names are
 * found through the source map (terser has shortened them).
 */
export function hotFirst(code, map, names = HOT_NAMES) {
  const ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script', locations: true });
  let fn = null;
  (function find(n) {
    if (fn || !n || typeof n.type !== 'string') return;
    if (n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression') return void (fn = n);
    for (const k in n) if (k !== 'loc' && n[k] && typeof n[k] === 'object') (Array.isArray(n[k]) ? n[k] : [n[k]]).forEach(find);
  })(ast.body[0]);
  if (!fn || fn.body.type !== 'BlockStatement' || !fn.body.body.length || !map) return { code, map, hot: 0 };
  // Original name at each generated position (line:column) the map names.
  const named = new Map();
  let name = 0;
  map.mappings.split(';').forEach((line, li) => {
    let col = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const f = decodeVlq(seg);
      col += f[0];
      if (f.length >= 5) named.set(li + 1 + ':' + col, map.names[(name += f[4])]);
    }
  });
  const byName = new Map();
  for (const st of fn.body.body) {
    const ids = st.type === 'FunctionDeclaration' ? [st.id] : st.type === 'VariableDeclaration' ? st.declarations.map((d) => d.id) : [];
    for (const id of ids) {
      const orig = named.get(id.loc.start.line + ':' + id.loc.start.column);
      if (orig && !byName.has(orig)) byName.set(orig, id.name);
    }
  }
  const hot = names.filter((n) => byName.has(n)).map((n) => byName.get(n));
  if (!hot.length) return { code, map, hot: 0 };
  const text = 'var ' + hot.join(',') + ';';
  const at = fn.body.body[0].start;
  return { code: code.slice(0, at) + text + code.slice(at), map: Object.assign({}, map, { mappings: shiftMappings(map.mappings, code, [at], text.length) }), hot: hot.length };
}

/**
 * Rewrite array holes (`[a,,b]`) to `void 0`, shifting the source map's
 * columns after each insertion so it still points at the TypeScript.
 */
export function fillHoles(code, map) {
  const tokens = [];
  const ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script', locations: true, onToken: tokens });
  const commas = tokens.filter((t) => t.type === acorn.tokTypes.comma).map((t) => t.start);
  const inserts = [];
  (function visit(node) {
    if (!node || typeof node.type !== 'string') return;
    if (node.type === 'ArrayExpression' && node.elements.some((e) => e === null)) {
      let at = node.start + 1;
      for (const e of node.elements) {
        if (e === null) inserts.push(at);
        else at = e.end;
        at = commas[lowerBound(commas, at)] + 1;
      }
    }
    for (const k in node) {
      const v = node[k];
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v.type === 'string' && k !== 'loc') visit(v);
    }
  })(ast);
  if (!inserts.length) return { code, map, holes: 0 };
  inserts.sort((a, b) => a - b);
  let out = '';
  let last = 0;
  for (const at of inserts) {
    out += code.slice(last, at) + 'void 0';
    last = at;
  }
  out += code.slice(last);
  if (map) map = Object.assign({}, map, { mappings: shiftMappings(map.mappings, code, inserts, 6) });
  return { code: out, map, holes: inserts.length };
}

function lowerBound(a, x) {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m] < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeVlq(s) {
  const out = [];
  let v = 0;
  let shift = 0;
  for (let i = 0; i < s.length; i++) {
    const d = B64.indexOf(s[i]);
    v += (d & 31) << shift;
    if (d & 32) shift += 5;
    else {
      out.push(v & 1 ? -(v >>> 1) : v >>> 1);
      v = 0;
      shift = 0;
    }
  }
  return out;
}

function encodeVlq(n) {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let s = '';
  do {
    let d = v & 31;
    v >>>= 5;
    if (v) d |= 32;
    s += B64[d];
  } while (v);
  return s;
}

/** Move generated columns at or after each insertion offset right by `len`. */
function shiftMappings(mappings, code, inserts, len) {
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const byLine = new Map();
  for (const at of inserts) {
    const line = lowerBound(lineStarts, at + 1) - 1;
    if (!byLine.has(line)) byLine.set(line, []);
    byLine.get(line).push(at - lineStarts[line]);
  }
  return mappings
    .split(';')
    .map((line, li) => {
      const cols = byLine.get(li);
      if (!cols || !line) return line;
      let col = 0;
      let newPrev = 0;
      return line
        .split(',')
        .map((seg) => {
          const f = decodeVlq(seg);
          col += f[0];
          let c = col;
          for (const at of cols) if (col >= at) c += len;
          f[0] = c - newPrev;
          newPrev = c;
          return f.map(encodeVlq).join('');
        })
        .join(',');
    })
    .join(';');
}

/**
 * Bytes of `code` per original source of `map` ({ source: bytes }; code no
 * mapping reaches counts as '(glue)'): where a bundle's size comes from.
 */
export function bytesBySource(code, map) {
  const out = {};
  const lines = code.split('\n');
  const rows = map.mappings.split(';');
  let src = 0;
  for (let li = 0; li < lines.length; li++) {
    const segs = [];
    let col = 0;
    for (const seg of (rows[li] || '').split(',')) {
      if (!seg) continue;
      const f = decodeVlq(seg);
      col += f[0];
      if (f.length >= 4) src += f[1];
      segs.push([col, f.length >= 4 ? map.sources[src] : '(glue)']);
    }
    const text = lines[li] + (li < lines.length - 1 ? '\n' : '');
    const add = (k, n) => (out[k] = (out[k] || 0) + n);
    add('(glue)', Buffer.byteLength(text.slice(0, segs.length ? segs[0][0] : text.length)));
    segs.forEach(([c, k], i) => add(k, Buffer.byteLength(text.slice(c, i + 1 < segs.length ? segs[i + 1][0] : text.length))));
  }
  return out;
}

/**
 * Build the bundles of `boards` from one tsc compile of `entry`.
 * Returns [{ board, file, bytes, holes }].
 */
export async function build({
  boards,
  entry = 'firmware/main.ts',
  boardsDir = 'boards',
  outDir = join(ROOT, 'dist'),
  buildDir = join(ROOT, 'build'),
  pretty = false,
  log = (s) => process.stdout.write(s + '\n'),
}) {
  const entryTs = resolve(ROOT, entry);
  if (!existsSync(entryTs)) throw new Error('entry ' + relative(ROOT, entryTs) + ' does not exist (pass --entry)');
  const bdir = resolve(ROOT, boardsDir);
  for (const b of boards) {
    if (!existsSync(join(bdir, b + '.ts'))) throw new Error('no board profile ' + relative(ROOT, join(bdir, b + '.ts')) + ' (boards: ' + listBoards(bdir).join(', ') + ')');
  }
  const es5Dir = join(resolve(buildDir), 'es5');
  const t0 = Date.now();
  compile([entryTs, LOADER].concat(boards.map((b) => join(bdir, b + '.ts'))), es5Dir);
  // The web UI: minified, gzipped Storage files (tools/ui.mjs), written next to each bundle in storage/;
  // their manifest is compiled into the bundle as __UI__.
  const uiDir = join(resolve(buildDir), 'ui');
  const ui = existsSync(join(ROOT, 'firmware', 'ui', 'index.html')) ? await (await import('./ui.mjs')).buildUi(uiDir) : null;
  // The boot loader: the same for every board (it imports none).
  const lb = await bundle({ entryJs: es5Path(es5Dir, LOADER), es5Dir, outFile: join(resolve(buildDir), 'loader.js') });
  const loader = (await minify(lb.code, null, { pretty, fileName: 'loader.js' })).code;
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const t1 = Date.now();
  const results = [];
  for (const board of boards) {
    const dir = join(resolve(outDir), board);
    const file = join(dir, 'app.js');
    // A board whose profile leaves MQTT out (`mqtt: false`) gets a bundle without the client or its settings.
    const mqtt = (await boardProfile(board, bdir)).mqtt !== false;
    const b = await bundle({ entryJs: es5Path(es5Dir, entryTs), es5Dir, board, boardsDir: bdir, outFile: file, ui, mqtt });
    rmSync(join(dir, 'storage'), { recursive: true, force: true });
    mkdirSync(join(dir, 'storage'), { recursive: true });
    if (ui) for (const f of ui) copyFileSync(join(uiDir, f.file), join(dir, 'storage', f.file));
    // The identity comment the update checks (firmware/slots.ts): which app, which board.
    const m = await minify(b.code, b.map, { pretty, preamble: '/*espweb ' + version + ' ' + board + '*/' });
    const f = fillHoles(m.code, m.map);
    const h = Object.assign(f, hotFirst(f.code, f.map));
    writeFileSync(file, h.code);
    writeFileSync(file + '.map', JSON.stringify(h.map));
    const image = flashImage(dir, loader, h.code);
    const bytes = Buffer.byteLength(h.code);
    results.push({ board, file, bytes, holes: h.holes, loader: Buffer.byteLength(loader) });
    log('bundle ' + relative(process.cwd(), file) + ' ' + bytes + ' bytes' + (h.holes ? ' (' + h.holes + ' array holes filled)' : '') +
      (ui ? ', UI ' + ui.reduce((n, f) => n + f.size, 0) + ' bytes gzipped' : '') + ', loader ' + Buffer.byteLength(loader) + ' bytes; flash image ' + relative(process.cwd(), join(dir, 'storage')) + '/ (' + image.write.length + ' files)');
  }
  log('built ' + boards.length + ' bundle(s): tsc ' + (t1 - t0) + ' ms, bundle+minify ' + (Date.now() - t1) + ' ms');
  return results;
}

function parseArgs(argv) {
  const o = { boards: [], all: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(a + ' needs a value');
      return argv[++i];
    };
    if (a === '--board') o.boards.push(next());
    else if (a === '--all') o.all = true;
    else if (a === '--entry') o.entry = next();
    else if (a === '--boards-dir') o.boardsDir = next();
    else if (a === '--out') o.outDir = resolve(next());
    else if (a === '--build') o.buildDir = resolve(next());
    else if (a === '--pretty') o.pretty = true;
    else if (a === '--quiet') o.log = () => {};
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error('unknown argument ' + a);
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help || (!o.all && !o.boards.length)) {
    process.stdout.write('usage: node tools/build.mjs (--board NAME ... | --all) [--entry F] [--boards-dir D] [--out D] [--build D] [--pretty] [--quiet]\n');
    process.exit(o.help ? 0 : 2);
  }
  if (o.all) {
    o.boards = listBoards(resolve(ROOT, o.boardsDir || 'boards'));
    if (!o.boards.length) {
      process.stdout.write('no board profiles in ' + (o.boardsDir || 'boards') + '/: nothing to bundle\n');
      return;
    }
  }
  await build(o);
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  main().catch((e) => {
    process.stderr.write('build: ' + (e && e.message ? e.message : e) + '\n');
    process.exit(1);
  });
}
