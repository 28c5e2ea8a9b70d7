#!/usr/bin/env node
/**
 * The size budget. Prints the minified size of the runtime core (every module
 * of src/ plus hal/espruino.ts, built like a board bundle) and of each board's
 * bundle in dist/ (`make bundles` first), and exits 1 when one is over budget:
 * the core 20 KB (DESIGN.md, "Budgets"), a board bundle 48 KB unless its profile sets `bundleBudget`.
 *
 *   node tools/size.mjs [--core-only] [--build build]
 *
 * The core is measured with nothing tree-shaken: an ES module re-exporting
 * every export of every core module is bundled and minified (top-level names
 * mangled), and the trailing `export {…}` clause is not counted. For each
 * board, the bytes of its bundle that come from core sources (what the
 * firmware actually keeps of the core) are shown too, from the source map.
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { ROOT, BOARD_BUDGET, boardProfile, listBoards, compile, es5Path, bundle, minify, bytesBySource } from './build.mjs';

const require = createRequire(import.meta.url);
const acorn = require('acorn');
const esbuild = require('esbuild');

/** Budget of the runtime core (src/ + hal/espruino.ts), minified bytes. */
export const CORE_BUDGET = 20 * 1024;

/** Optional protocols on the same manager (DESIGN.md, "Budgets"): each its own line and budget, not counted in the core, absent from a bundle that does not use it. */
export const PROTOCOLS = { 'src/dns.ts': 2048, 'src/mqtt.ts': 6144 };

/** The TypeScript files of the core: src/**.ts and hal/espruino.ts (no .d.ts, no tests). */
export function coreFiles() {
  const out = [];
  const walkDir = (d) => {
    if (!existsSync(d)) return;
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walkDir(p);
      else if (f.endsWith('.ts') && !f.endsWith('.d.ts') && !(relative(ROOT, p).split('\\').join('/') in PROTOCOLS)) out.push(p);
    }
  };
  walkDir(join(ROOT, 'src'));
  const hal = join(ROOT, 'hal', 'espruino.ts');
  if (existsSync(hal)) out.push(hal);
  return out;
}

/** Names a compiled ES module exports (its own; `export *` re-exports are counted at their origin). */
function exportNames(js) {
  const ast = acorn.parse(js, { ecmaVersion: 'latest', sourceType: 'module' });
  const names = [];
  for (const st of ast.body) {
    if (st.type !== 'ExportNamedDeclaration') continue;
    if (st.declaration) {
      const d = st.declaration;
      if (d.id) names.push(d.id.name);
      else if (d.declarations) d.declarations.forEach((v) => v.id.type === 'Identifier' && names.push(v.id.name));
    } else if (!st.source) st.specifiers.forEach((s) => names.push(s.exported.name));
  }
  return names;
}

/** Minified size of the core (or of `files`, probed as `tag`): { bytes, files, bySource: { repo-relative source: bytes } }. Nothing is tree-shaken. */
export async function coreSize(buildDir = join(ROOT, 'build'), files = coreFiles(), tag = 'core') {
  if (!files.length) return { bytes: 0, files, bySource: {}, overhead: 0 };
  const es5Dir = join(buildDir, 'size', 'es5');
  compile(files, es5Dir);
  const lines = [];
  files.forEach((f, i) => {
    const js = es5Path(es5Dir, f);
    const names = exportNames(readFileSync(js, 'utf8'));
    if (names.length) lines.push('export { ' + names.map((n) => n + ' as m' + i + '_' + n).join(', ') + ' } from ' + JSON.stringify('./' + relative(join(buildDir, 'size'), js).split('\\').join('/')) + ';');
    else lines.push('import ' + JSON.stringify('./' + relative(join(buildDir, 'size'), js).split('\\').join('/')) + ';');
  });
  const entry = join(buildDir, 'size', tag + '.js');
  mkdirSync(dirname(entry), { recursive: true });
  writeFileSync(entry, lines.join('\n') + '\n');
  const b = await bundle({ entryJs: entry, es5Dir, outFile: join(buildDir, 'size', tag + '.min.js'), format: 'esm' });
  const m = await minify(b.code, b.map, { module: true, fileName: tag + '.min.js' });
  writeFileSync(join(buildDir, 'size', tag + '.min.js'), m.code);
  const ast = acorn.parse(m.code, { ecmaVersion: 'latest', sourceType: 'module' });
  let overhead = 0;
  for (const st of ast.body) {
    if (st.type === 'ExportNamedDeclaration') overhead += st.declaration ? st.declaration.start - st.start : st.end - st.start;
  }
  const bySource = {};
  const raw = bytesBySource(m.code, m.map);
  for (const k in raw) {
    const name = k === '(glue)' ? k : relative(ROOT, resolve(join(buildDir, 'size'), k)).split('\\').join('/');
    bySource[name] = (bySource[name] || 0) + raw[k];
  }
  return { bytes: Buffer.byteLength(m.code) - overhead, files, bySource, overhead };
}

/** Bytes of a built bundle that come from `sources` (repo-relative; through its source map), or null without a map. */
function coreInBundle(file, sources) {
  if (!existsSync(file + '.map')) return null;
  const by = bytesBySource(readFileSync(file, 'utf8'), JSON.parse(readFileSync(file + '.map', 'utf8')));
  const core = new Set(sources.map((f) => resolve(ROOT, f)));
  let n = 0;
  for (const k in by) if (core.has(resolve(dirname(file), k))) n += by[k];
  return n;
}

/** A board profile's `bundleBudget`, or the default. */
export async function boardBudget(board, boardsDir = join(ROOT, 'boards')) {
  const p = await boardProfile(board, boardsDir);
  return p && typeof p.bundleBudget === 'number' ? p.bundleBudget : BOARD_BUDGET;
}

async function main(argv) {
  let coreOnly = false;
  let buildDir = join(ROOT, 'build');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--core-only') coreOnly = true;
    else if (argv[i] === '--build') buildDir = resolve(argv[++i]);
    else throw new Error('unknown argument ' + argv[i]);
  }
  const rows = [];
  const core = await coreSize(buildDir);
  rows.push({ what: 'core (src/ + hal/espruino.ts, ' + core.files.length + ' files)', bytes: core.bytes, budget: CORE_BUDGET });
  for (const f of Object.keys(PROTOCOLS)) {
    if (!existsSync(join(ROOT, f))) continue;
    // The protocol alone: what it imports from the core is the core's (counted there).
    const own = await coreSize(buildDir, [join(ROOT, f)], basename(f, '.ts'));
    rows.push({ what: 'protocol ' + f, bytes: own.bySource[f] || own.bytes, budget: PROTOCOLS[f] });
  }
  // What the core pulls in (e.g. hal/radio-sim.ts through hal/espruino.ts) counts as core in a bundle too.
  const coreSources = Object.keys(core.bySource || {}).filter((k) => k !== '(glue)');
  if (!coreOnly) {
    for (const b of listBoards()) {
      const f = join(ROOT, 'dist', b, 'app.js');
      if (!existsSync(f)) throw new Error('no bundle for board ' + b + ' (' + relative(process.cwd(), f) + '): run make bundles');
      rows.push({ what: 'board ' + b + ' (' + relative(ROOT, f) + ')', bytes: statSync(f).size, budget: await boardBudget(b), core: coreInBundle(f, coreSources) });
    }
  }
  const w = Math.max(...rows.map((r) => r.what.length));
  process.stdout.write('what'.padEnd(w) + '     bytes    budget   used  (core code in it)\n');
  for (const r of rows) {
    process.stdout.write(
      r.what.padEnd(w) + String(r.bytes).padStart(10) + String(r.budget).padStart(10) + (Math.round((100 * r.bytes) / r.budget) + '%').padStart(7) +
        (r.core != null ? ('(' + r.core + ')').padStart(19) : '') + (r.bytes > r.budget ? '  OVER BUDGET' : '') + '\n',
    );
  }
  process.stdout.write('\ncore bytes by source (minified, attributed through the source map; `export` clause of the probe excluded):\n');
  const parts = Object.keys(core.bySource).map((k) => [k, k === '(glue)' ? core.bySource[k] - core.overhead : core.bySource[k]]);
  parts.sort((a, b) => b[1] - a[1]);
  for (const [k, n] of parts) if (n > 0) process.stdout.write('  ' + k.padEnd(40) + String(n).padStart(7) + '\n');
  const over = rows.filter((r) => r.bytes > r.budget);
  for (const r of over) process.stderr.write('size: ' + r.what + ' is ' + r.bytes + ' bytes minified, over its budget of ' + r.budget + ' bytes by ' + (r.bytes - r.budget) + '\n');
  return over.length ? 1 : 0;
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write('size: ' + (e && e.message ? e.message : e) + '\n');
      process.exit(1);
    },
  );
}
