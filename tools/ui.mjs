#!/usr/bin/env node
/**
 * The configuration app's static files (firmware/ui/) as the device serves
 * them: minified (esbuild for the JavaScript and the CSS; comments and
 * line-break whitespace between tags dropped from the HTML), gzipped at level
 * 9 with a fixed header (mtime 0, OS 3) so the same sources give the same
 * bytes and ETags on every build, written as Storage files.
 *
 *   node tools/ui.mjs OUTDIR [--src firmware/ui]      writes the files, prints a size table
 *
 * buildUi() returns the manifest the firmware build compiles into the bundle:
 * one entry per URL path with its Storage file, Content-Type, strong ETag
 * (the first 16 hex digits of the SHA-256 of the gzipped bytes), gzipped size
 * and minified size.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const esbuild = require('esbuild');

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the sources are. */
export const UI_SRC = join(ROOT, 'firmware', 'ui');
/** Budget of the three gzipped files together, bytes. */
export const UI_BUDGET = 20 * 1024;
/** Storage file names are at most this long on Espruino. */
export const STORAGE_NAME_MAX = 28;

/** The files: URL path, source file, Storage file, Content-Type. */
export const UI_FILES = [
  { path: '/', src: 'index.html', file: 'ui.index.html', type: 'text/html; charset=utf-8' },
  { path: '/app.js', src: 'app.js', file: 'ui.app.js', type: 'text/javascript; charset=utf-8' },
  { path: '/app.css', src: 'app.css', file: 'ui.app.css', type: 'text/css; charset=utf-8' },
];

/**
 * Collapse the HTML: comments go, and whitespace runs that hold a line break
 * (source formatting) go where they touch a tag, else become one space. Safe
 * for our page because it has no <pre>, <textarea>, inline <script> or
 * <style>; refused if it ever does.
 */
export function minifyHtml(html) {
  if (/<(pre|textarea|style)\b|<script\b[^>]*>\s*[^<\s]/i.test(html)) {
    throw new Error('ui: index.html has <pre>, <textarea>, <style> or an inline <script>: the HTML whitespace collapse is not safe for them');
  }
  return html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/>\s*\n\s*/g, '>')
    .replace(/\s*\n\s*</g, '<')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/** The minified text of one source file (by its name's extension): what gets gzipped. */
export async function minifyFile(src, text) {
  if (src.endsWith('.html')) return minifyHtml(text);
  const loader = src.endsWith('.css') ? 'css' : 'js';
  // ES2017 for the browsers that open it; non-ASCII is escaped (esbuild's default), whatever charset the page is served with.
  const r = await esbuild.transform(text, { loader, minify: true, target: loader === 'js' ? 'es2017' : ['chrome80', 'safari14', 'firefox78'], legalComments: 'none' });
  for (const w of r.warnings) process.stderr.write('ui: esbuild warning in ' + src + ': ' + w.text + '\n');
  return r.code.trim();
}

/** Gzip at level 9 with a fixed header: mtime 0 and OS 3 (Unix) whatever the host, so the bytes (and ETags) are stable. */
export function gzip(buf) {
  const gz = gzipSync(buf, { level: 9 });
  gz.writeUInt32LE(0, 4);
  gz[9] = 3;
  return gz;
}

/**
 * Build the UI into `outDir` (created if needed): `ui.index.html`, `ui.app.js`,
 * `ui.app.css`, each gzipped. Returns the manifest
 * `[{path, file, type, etag, size, raw}]` (size: gzipped bytes; raw: minified bytes).
 */
export async function buildUi(outDir, opts = {}) {
  const srcDir = opts.srcDir || UI_SRC;
  mkdirSync(outDir, { recursive: true });
  const manifest = [];
  for (const f of UI_FILES) {
    if (f.file.length > STORAGE_NAME_MAX) throw new Error('ui: Storage name too long: ' + f.file);
    const raw = Buffer.from(await minifyFile(f.src, readFileSync(join(srcDir, f.src), 'utf8')), 'utf8');
    const gz = gzip(raw);
    writeFileSync(join(outDir, f.file), gz);
    const etag = '"' + createHash('sha256').update(gz).digest('hex').slice(0, 16) + '"';
    manifest.push({ path: f.path, file: f.file, type: f.type, etag, size: gz.length, raw: raw.length });
  }
  return manifest;
}

/** The size table: one line per file and the total against the budget. */
export function sizeTable(manifest) {
  const pad = (s, n) => String(s).padStart(n);
  const lines = ['file               minified   gzipped  etag'];
  let raw = 0;
  let gz = 0;
  for (const m of manifest) {
    raw += m.raw;
    gz += m.size;
    lines.push(m.file.padEnd(16) + pad(m.raw, 11) + pad(m.size, 10) + '  ' + m.etag);
  }
  lines.push('total'.padEnd(16) + pad(raw, 11) + pad(gz, 10) + '  (budget ' + UI_BUDGET + ' gzipped' + (gz > UI_BUDGET ? ': OVER' : '') + ')');
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--src');
  const srcDir = at >= 0 ? resolve(args.splice(at, 2)[1]) : UI_SRC;
  const json = args.indexOf('--json');
  if (json >= 0) args.splice(json, 1);
  if (args.length !== 1) {
    process.stderr.write('usage: node tools/ui.mjs OUTDIR [--src DIR] [--json]\n');
    process.exit(2);
  }
  const manifest = await buildUi(resolve(args[0]), { srcDir });
  process.stdout.write((json >= 0 ? JSON.stringify(manifest, null, 2) : sizeTable(manifest)) + '\n');
  if (manifest.reduce((n, m) => n + m.size, 0) > UI_BUDGET) process.exit(1);
}
