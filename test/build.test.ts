/**
 * The TypeScript → Espruino build (tools/build.mjs) on the toolchain fixtures
 * in test/fixtures/toolchain: a program using what tsc lowers to ES5 is
 * bundled per board, passes the compatibility check, and runs in a context
 * with no Map/Set/Symbol; Espruino-incompatible code is reported at its
 * TypeScript line; async code is refused. Built once, in beforeAll.
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import { mkdtempSync, readFileSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import * as vm from 'vm';
import * as acorn from 'acorn';

const ROOT = resolve(__dirname, '..');
const FIX = 'test/fixtures/toolchain';
const tmp = mkdtempSync(join(tmpdir(), 'espbuild-'));

function node(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
}

function build(entry: string, out: string, boards: string[]): SpawnSyncReturns<string> {
  const b: string[] = [];
  for (const x of boards) b.push('--board', x);
  return node(['tools/build.mjs', '--entry', FIX + '/' + entry, '--boards-dir', FIX + '/boards', '--out', join(tmp, out), '--build', join(tmp, 'build'), ...b]);
}

/** Run a bundle the way the device would see the world: no Map, Set, WeakMap, Symbol, Proxy, Reflect. */
function runBundle(file: string): string[] {
  const lines: string[] = [];
  const ctx = vm.createContext({ console: { log: (s: string) => lines.push(String(s)) } });
  vm.runInContext('["Map","Set","WeakMap","WeakSet","Symbol","Proxy","Reflect","TextEncoder","TextDecoder"].forEach(function (k) { delete globalThis[k]; });', ctx);
  expect(vm.runInContext('typeof Map + typeof Set + typeof Symbol', ctx)).toBe('undefinedundefinedundefined');
  vm.runInContext(readFileSync(file, 'utf8'), ctx, { filename: file });
  return lines;
}

let good: SpawnSyncReturns<string>;
let bad: SpawnSyncReturns<string>;
let async: SpawnSyncReturns<string>;

beforeAll(() => {
  good = build('main.ts', 'good', ['alpha', 'beta']);
  bad = build('bad.ts', 'bad', ['alpha']);
  async = build('async.ts', 'async', ['alpha']);
});

const expected = (board: string, slots: number): string[] => [
  'early 42 0',
  `board ${board} ${board} ${slots}`,
  'sq#1=9',
  'round shape#2=12!',
  'round c#2=3!',
  'count 3 kind 2 true',
  'destructure 1 {"y":2,"z":3} 10 9 40+50',
  'spread 6 0,1,2,3,4 {"x":1,"y":2,"z":3,"w":4}',
  'hello world. hello you!',
  'closures 0,10,20',
  'string for-of cba',
  'optional none has a',
  'tagged a|b|c:1,2',
  'computed dyn1,plain',
  'holes 3 true',
];

describe('a board bundle', () => {
  test('is built for each board asked, with its source map', () => {
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
    for (const b of ['alpha', 'beta']) {
      expect(existsSync(join(tmp, 'good', b, 'app.js'))).toBe(true);
      expect(existsSync(join(tmp, 'good', b, 'app.js.map'))).toBe(true);
    }
    expect(good.stdout).toMatch(/built 2 bundle\(s\)/);
  });

  test('passes the Espruino compatibility check', () => {
    const r = node(['tools/compat.mjs', join(tmp, 'good', 'alpha', 'app.js'), join(tmp, 'good', 'beta', 'app.js')]);
    expect(r.stdout).not.toMatch(/violation/);
    expect(r.status).toBe(0);
  });

  test('runs without Map, Set or Symbol and prints what the TypeScript means', () => {
    expect(runBundle(join(tmp, 'good', 'alpha', 'app.js'))).toEqual(expected('alpha', 4));
  });

  test('gets the board named on the command line, through boards/current and __BOARD__', () => {
    expect(runBundle(join(tmp, 'good', 'beta', 'app.js'))).toEqual(expected('beta', 2));
  });

  test('is one ASCII script: its identity line, then no module syntax, no array holes, no comment', () => {
    const all = readFileSync(join(tmp, 'good', 'alpha', 'app.js'), 'utf8');
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    expect(all.startsWith('/*espweb ' + version + ' alpha*/\n')).toBe(true);
    const code = all.slice(all.indexOf('\n') + 1);
    expect(/^[\x20-\x7e\n]*$/.test(code)).toBe(true);
    expect(code).not.toMatch(/\bimport\b|\bexport\b|sourceMappingURL|\/\*/);
    expect(code).not.toMatch(/,,|\[,/);
    expect(code).not.toMatch(/"use strict"/);
  });

  test('has its flash image beside it: the boot loader as .bootcde, the app in slot app.0 after 64 bytes, the manifest', () => {
    const dir = join(tmp, 'good', 'alpha');
    const image = JSON.parse(readFileSync(join(dir, 'flash.json'), 'utf8'));
    expect(image.erase).toEqual(['app.1', 'load.0', 'load.1']);
    expect(image.write).toEqual(expect.arrayContaining(['.bootcde', 'app.0']));
    const app = readFileSync(join(dir, 'app.js'), 'latin1');
    const slot = readFileSync(join(dir, 'storage', 'app.0'), 'latin1');
    expect(slot.slice(0, 64)).toBe(' '.repeat(64));
    expect(slot.slice(64) === app).toBe(true);
    const loader = readFileSync(join(dir, 'storage', '.bootcde'), 'latin1');
    expect(loader).toMatch(/^\(\(\)=>\{/);
    expect(loader).toContain('"app.0","app.1"');
    expect(loader).toContain('"load.0","load.1"');
    // The same loader for every board: it names none.
    expect(readFileSync(join(tmp, 'good', 'beta', 'storage', '.bootcde'), 'latin1')).toBe(loader);
  });

  test('has a source map that leads back to the TypeScript files', () => {
    const map = JSON.parse(readFileSync(join(tmp, 'good', 'alpha', 'app.js.map'), 'utf8'));
    const sources: string[] = map.sources.map((s: string) => resolve(join(tmp, 'good', 'alpha'), s));
    expect(sources).toEqual(expect.arrayContaining([join(ROOT, FIX, 'main.ts'), join(ROOT, FIX, 'shapes.ts'), join(ROOT, 'tools', 'espruino-helpers.js')]));
  });
});

describe('code Espruino cannot run', () => {
  test('still builds (the type checker accepts it)', () => {
    expect(bad.status).toBe(0);
    expect(bad.stdout).toMatch(/1 array holes filled/);
  });

  test('fails the compatibility check, named at its TypeScript line and column', () => {
    const r = node(['tools/compat.mjs', join(tmp, 'bad', 'alpha', 'app.js')]);
    expect(r.status).toBe(1);
    const lines = r.stdout.split('\n').filter((l) => l.indexOf(FIX) === 0);
    // The label's name is the minifier's: not part of the expectation.
    expect(lines.map((l) => l.replace(/ \[.*\]$/, '').replace(/ \(label `\w+`\)/, ''))).toEqual([
      FIX + '/bad.ts:10:18: `Map` does not exist on Espruino',
      FIX + '/bad.ts:14:1: labels are not supported by Espruino',
      FIX + '/bad.ts:16:16: labelled continue is not supported by Espruino',
    ]);
  });

  test('async functions are refused at compile time: their helper is not in the Espruino helpers', () => {
    expect(async.status).toBe(1);
    expect(async.stderr).toMatch(/async\.ts\(7,16\): error TS2343: .*__awaiter/);
  });
});

describe('the command line', () => {
  test('rejects an unknown board, listing the known ones', () => {
    const r = build('main.ts', 'none', ['gamma']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no board profile .*gamma\.ts \(boards: alpha, beta\)/);
  });

  test('rejects a missing entry', () => {
    const r = build('nope.ts', 'none', ['alpha']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/entry .*nope\.ts does not exist/);
  });
});

describe('the firmware bundle, shaped for the interpreter', () => {
  test('declares the request path\'s most used names first, and keeps no constant as a variable', () => {
    const r = node(['tools/build.mjs', '--board', 'emulator', '--out', join(tmp, 'fw'), '--build', join(tmp, 'fw-build'), '--quiet']);
    expect(r.status).toBe(0);
    const code = readFileSync(join(tmp, 'fw/emulator/app.js'), 'utf8');
    const ast = acorn.parse(code, { ecmaVersion: 'latest' }) as any;
    let fn = ast.body[0].expression;
    while (fn.type !== 'FunctionExpression') fn = fn.argument || fn.callee;
    const body = fn.body.body;
    // hotFirst(): the first statement names, without values, functions and variables the rest of the scope declares.
    const first = body[0];
    expect(first.type).toBe('VariableDeclaration');
    expect(first.declarations.every((d: any) => d.init === null)).toBe(true);
    const declared = new Set<string>();
    for (const st of body.slice(1)) {
      if (st.type === 'FunctionDeclaration') declared.add(st.id.name);
      if (st.type === 'VariableDeclaration') for (const d of st.declarations) declared.add(d.id.name);
    }
    const hot = first.declarations.map((d: any) => d.id.name);
    expect(hot.length).toBeGreaterThanOrEqual(40);
    expect(hot.filter((n: string) => !declared.has(n))).toEqual([]);
    // minify()'s first pass: a number or a string of a few characters is put where it is used, not kept in a variable.
    const kept = body
      .filter((st: any) => st.type === 'VariableDeclaration')
      .flatMap((st: any) => st.declarations)
      .filter((d: any) => d.init && d.init.type === 'Literal' && (typeof d.init.value === 'number' || (typeof d.init.value === 'string' && d.init.value.length < 8)));
    expect(kept.map((d: any) => code.slice(d.start, d.end))).toEqual([]);
  });
});
