/**
 * The configuration app's build (tools/ui.mjs over firmware/ui/): three gzipped
 * Storage files and their manifest; each gunzips to its minified source; the
 * whole stays within the 20 KB budget; the bytes and ETags are the same on every
 * build and change with the content; nothing refers to another host; every
 * form control has a label; dynamic text never goes through HTML parsing; every
 * request carries the same-origin credentials. Built in beforeAll, in a child
 * Node (the tool is an ES module).
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { gunzipSync } from 'zlib';
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

const ROOT = resolve(__dirname, '..');
const SRC = join(ROOT, 'firmware', 'ui');
const tmp = mkdtempSync(join(tmpdir(), 'ui-build-'));
const BUDGET = 20 * 1024;

interface Entry { path: string; file: string; type: string; etag: string; size: number; raw: number }

/** Run an ES module snippet in a child Node from the repository root; its stdout parsed as JSON. */
function esm(code: string): any {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error('child node failed: ' + r.stderr);
  return JSON.parse(r.stdout);
}
function build(out: string, srcDir = SRC): Entry[] {
  return esm(`import { buildUi } from './tools/ui.mjs'; console.log(JSON.stringify(await buildUi(${JSON.stringify(out)}, { srcDir: ${JSON.stringify(srcDir)} })));`);
}
const src = (f: string): string => readFileSync(join(SRC, f), 'utf8');

let a: Entry[];
let b: Entry[];
let changed: Entry[];
let minified: Record<string, string>;

beforeAll(() => {
  a = build(join(tmp, 'a'));
  b = build(join(tmp, 'b'));
  // The same sources with the script and the style changed, the page not.
  const copy = join(tmp, 'src');
  cpSync(SRC, copy, { recursive: true });
  writeFileSync(join(copy, 'app.js'), src('app.js').replace('No previous app is kept on this device.', 'No previous app is kept here.'));
  writeFileSync(join(copy, 'app.css'), src('app.css') + '\n.extra { color: red; }\n');
  changed = build(join(tmp, 'changed'), copy);
  minified = esm(`import { minifyFile } from './tools/ui.mjs'; import { readFileSync } from 'node:fs';
    const out = {}; for (const f of ['index.html', 'app.js', 'app.css']) out[f] = await minifyFile(f, readFileSync('firmware/ui/' + f, 'utf8'));
    console.log(JSON.stringify(out));`);
});

/** A built file's bytes (a plain Uint8Array: @types/node 20's Buffer does not type-check as zlib/crypto input under TS 5.9). */
const gz = (dir: string, file: string): Uint8Array => new Uint8Array(readFileSync(join(tmp, dir, file)));
const text = (file: string): string => gunzipSync(gz('a', file)).toString('utf8');

describe('the build output', () => {
  it('is three Storage files, ui.index.html, ui.app.js and ui.app.css, with names of at most 28 characters', () => {
    expect(readdirSync(join(tmp, 'a')).sort()).toEqual(['ui.app.css', 'ui.app.js', 'ui.index.html']);
    for (const e of a) expect(e.file.length).toBeLessThanOrEqual(28);
  });

  it('comes with a manifest of path, file, type, etag, size and raw for /, /app.js and /app.css, in that order', () => {
    expect(a.map((e) => [e.path, e.file, e.type])).toEqual([
      ['/', 'ui.index.html', 'text/html; charset=utf-8'],
      ['/app.js', 'ui.app.js', 'text/javascript; charset=utf-8'],
      ['/app.css', 'ui.app.css', 'text/css; charset=utf-8'],
    ]);
    for (const e of a) {
      expect(Object.keys(e)).toEqual(['path', 'file', 'type', 'etag', 'size', 'raw']);
      expect(e.etag).toMatch(/^"[0-9a-f]{16}"$/);
    }
  });

  it('gunzips, file by file, to the minified source, and the manifest gives both sizes', () => {
    const names: Record<string, string> = { 'ui.index.html': 'index.html', 'ui.app.js': 'app.js', 'ui.app.css': 'app.css' };
    for (const e of a) {
      const raw = gunzipSync(gz('a', e.file));
      expect(raw.toString('utf8')).toBe(minified[names[e.file]]);
      expect(e.size).toBe(gz('a', e.file).length);
      expect(e.raw).toBe(raw.length);
      expect(raw.length).toBeLessThan(Buffer.byteLength(src(names[e.file])));
    }
  });

  it('is within the budget: all three gzipped together at most 20 KB', () => {
    const total = a.reduce((n, e) => n + e.size, 0);
    expect(total).toBeLessThanOrEqual(BUDGET);
  });

  it('minifies the script to ES2017 that parses, and the page links /app.css and /app.js', () => {
    expect(() => acorn.parse(text('ui.app.js'), { ecmaVersion: 2017, sourceType: 'script' })).not.toThrow();
    const html = text('ui.index.html');
    expect(html).toMatch(/<link rel="stylesheet" href="\/app\.css">/);
    expect(html).toMatch(/<script src="\/app\.js" defer><\/script>/);
    expect(html).toMatch(/^<!doctype html><html lang="en">/);
    expect(html).not.toMatch(/<!--|\n/);
  });
});

describe('ETags', () => {
  it('are the first 16 hex digits of the SHA-256 of the gzipped bytes', () => {
    for (const e of a) expect(e.etag).toBe('"' + createHash('sha256').update(gz('a', e.file)).digest('hex').slice(0, 16) + '"');
  });

  it('and the bytes are the same on a second build (gzip mtime 0)', () => {
    expect(b).toEqual(a);
    for (const e of a) {
      expect(Buffer.compare(gz('b', e.file), gz('a', e.file))).toBe(0);
      expect(Array.from(gz('a', e.file).subarray(4, 8))).toEqual([0, 0, 0, 0]);
    }
  });

  it('change when a file changes, and only for that file', () => {
    expect(changed[0].etag).toBe(a[0].etag);
    expect(changed[1].etag).not.toBe(a[1].etag);
    expect(changed[2].etag).not.toBe(a[2].etag);
  });
});

describe('the app', () => {
  const files = (): [string, string][] => [
    ['index.html', src('index.html')], ['app.js', src('app.js')], ['app.css', src('app.css')],
    ['ui.index.html', text('ui.index.html')], ['ui.app.js', text('ui.app.js')], ['ui.app.css', text('ui.app.css')],
  ];

  it('refers to no other host: no http://, https:// or //cdn anywhere, no @import or url() in the style', () => {
    for (const [name, t] of files()) {
      expect([name, t.match(/https?:\/\/|\/\/cdn|(?:src|href)="\/\//i)]).toEqual([name, null]);
    }
    expect(src('app.css')).not.toMatch(/@import|url\(/);
  });

  it('labels every input and select of the page', () => {
    const html = src('index.html');
    for (const m of html.matchAll(/<(input|select|textarea)\b[^>]*>/g)) {
      const id = /\bid="([^"]+)"/.exec(m[0]);
      const wrapped = html.lastIndexOf('<label', m.index!) > html.lastIndexOf('</label>', m.index!);
      expect(wrapped || (id != null && html.includes(`<label for="${id[1]}"`))).toBe(true);
    }
  });

  describe('its script (a static check of firmware/ui/app.js)', () => {
    const code = src('app.js');
    const ast = acorn.parse(code, { ecmaVersion: 2017, sourceType: 'script' });
    /** Every call whose callee is the identifier `name`, with the name of the function declaration it is in. */
    function calls(name: string): { node: any; inside: string | null }[] {
      const out: { node: any; inside: string | null }[] = [];
      walk.ancestor(ast, {
        CallExpression(node: any, _s: unknown, anc: any[]) {
          if (node.callee.type !== 'Identifier' || node.callee.name !== name) return;
          const fn = anc.slice().reverse().find((x: any) => x.type === 'FunctionDeclaration');
          out.push({ node, inside: fn ? fn.id.name : null });
        },
      });
      return out;
    }
    const fnSource = (name: string): string => {
      let s = '';
      walk.simple(ast, { FunctionDeclaration(n: any) { if (n.id.name === name) s = code.slice(n.start, n.end); } });
      return s;
    };

    it('creates elements only through h()', () => {
      expect(code.match(/createElement\(/g)).toHaveLength(1);
      expect(fnSource('h')).toContain('document.createElement(tag)');
    });

    it('makes inputs and selects only in field(), which gives each a <label for>, and choice(), which wraps it in its <label>', () => {
      const made = calls('h').filter((c) => c.node.arguments[0].type !== 'Literal' || /^(input|select|textarea)$/.test(c.node.arguments[0].value));
      // h(tag, …) with a variable tag is field()'s own call.
      expect(made.map((c) => c.inside).sort()).toEqual(['choice', 'field']);
      expect(fnSource('field')).toMatch(/const c = h\(tag, Object\.assign\(\{ id,/);
      expect(fnSource('field')).toMatch(/h\('label', \{ htmlFor: id \}, label\)/);
      expect(fnSource('choice')).toMatch(/const c = h\('input', props\);\s*return \[h\('label', \{ className: 'opt' \}, c, \.\.\.kids\), c\]/);
    });

    it('gives every field() a label text and a tag of input or select, and every choice() a text', () => {
      const fields = calls('field');
      expect(fields.length).toBeGreaterThan(5);
      for (const { node } of fields) {
        const [label, tag] = node.arguments;
        expect(label.type === 'Literal' ? label.value.length > 0 : true).toBe(true);
        if (tag.type === 'Literal') expect(['input', 'select']).toContain(tag.value);
        else expect(code.slice(tag.start, tag.end)).toBe("t == 'choice' ? 'select' : 'input'");
      }
      for (const { node } of calls('choice')) expect(node.arguments.length).toBeGreaterThan(1);
    });

    it('never parses text as HTML: no innerHTML, outerHTML, insertAdjacentHTML or document.write', () => {
      // The built script: the source's comments say what is not used.
      expect(text('ui.app.js').match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/)).toBeNull();
    });

    it('calls fetch once, with credentials "same-origin" and JSON bodies, and stores nothing in the browser', () => {
      expect(code.match(/fetch\(/g)).toHaveLength(1);
      const api = fnSource('api');
      expect(api).toContain("fetch(path, o)");
      expect(api).toContain("credentials: 'same-origin'");
      expect(api).toContain("o.headers['Content-Type'] = 'application/json'");
      expect(text('ui.app.js').match(/localStorage|sessionStorage|document\.cookie|indexedDB/)).toBeNull();
    });
  });
});

describe('the HTML collapse', () => {
  it('refuses a page whose whitespace it could break (<pre>, <textarea>, inline <script> or <style>)', () => {
    const r = esm(`import { minifyHtml } from './tools/ui.mjs';
      const out = [];
      for (const h of ['<pre>a\\n  b</pre>', '<textarea>x</textarea>', '<script>var a\\n= 1</script>', '<style>a{}</style>']) {
        try { minifyHtml(h); out.push('accepted'); } catch (e) { out.push('refused'); }
      }
      out.push(minifyHtml('<p>\\n  <a>x</a> <b>y</b>\\n</p>\\n<!-- c -->\\n'));
      console.log(JSON.stringify(out));`);
    expect(r).toEqual(['refused', 'refused', 'refused', 'refused', '<p><a>x</a> <b>y</b></p>']);
  });
});
