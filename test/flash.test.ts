/**
 * tools/flash.mjs: the dry run works offline and its output holds the Storage
 * writes of a flash image (the loader, the app slot, the UI); a missing or
 * wrong PORT is one line and exit code 2; a telnet flash against a fake
 * Espruino console on localhost sends reset(), the chunks, the boot line with
 * the image's erasures and load(), and checks the sizes the board echoes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const TOOL = path.join(ROOT, 'tools', 'flash.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flash-test-'));

/** A preload that makes any network use by the tool or the CLI it runs fail loudly. */
const NO_NET = path.join(tmp, 'no-net.cjs');
fs.writeFileSync(
  NO_NET,
  `const net = require('net'), dns = require('dns'), http = require('http'), https = require('https');
const boom = (what) => () => { process.stderr.write('NETWORK USED: ' + what + '\\n'); process.exit(97); };
net.Socket.prototype.connect = boom('net.connect'); dns.lookup = boom('dns.lookup');
http.request = boom('http.request'); https.request = boom('https.request'); http.get = boom('http.get'); https.get = boom('https.get');
if (global.fetch) global.fetch = boom('fetch');
`,
);

/** A flash image as tools/build.mjs writes one: a loader, an app slot with every byte value (the writes are binary-safe), a UI file. */
const IMAGE = path.join(tmp, 'image');
const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const bundleBytes = latin1('(function(){var a="' + String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i)) + '";print(a.length)})();\n'.repeat(8));
const loaderBytes = latin1('print("loader");\n');
const uiBytes = latin1('\x1f\x8b compressed page');
fs.mkdirSync(path.join(IMAGE, 'storage'), { recursive: true });
fs.writeFileSync(path.join(IMAGE, 'storage', '.bootcde'), loaderBytes);
fs.writeFileSync(path.join(IMAGE, 'storage', 'app.0'), bundleBytes);
fs.writeFileSync(path.join(IMAGE, 'storage', 'ui.index.html'), uiBytes);
fs.writeFileSync(path.join(IMAGE, 'flash.json'), JSON.stringify({ write: ['.bootcde', 'app.0', 'ui.index.html'], erase: ['app.1', 'load.0', 'load.1'] }));

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TOOL].concat(args), { cwd: ROOT, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code: code === null ? -1 : code, out, err }));
  });
}

/** The Storage writes in CLI output, put back together per file: { name: { size, bytes } }. */
function storageWrites(js: string) {
  const files: Record<string, { size: number; bytes: Uint8Array }> = {};
  const re = /require\("Storage"\)\.write\(("(?:[^"\\]|\\.)*"),atob\("([A-Za-z0-9+/=]*)"\),(\d+)(?:,(\d+))?\)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(js))) {
    const name = JSON.parse(m[1]) as string;
    const data = b64(m[2]);
    const off = Number(m[3]);
    if (off === 0) files[name] = { size: Number(m[4]), bytes: new Uint8Array(Number(m[4])) };
    files[name].bytes.set(data, off);
  }
  return files;
}

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('make flash-dry (tools/flash.mjs --dry)', () => {
  const out = path.join(tmp, 'flash.js');
  let res: { code: number; out: string; err: string };
  beforeAll(async () => {
    res = await run(['--board', 'esp32', '--dry', '--image', IMAGE, '--out', out], { NODE_OPTIONS: '--require ' + NO_NET });
  });

  it('succeeds without touching the network', () => {
    expect(res.err).not.toMatch(/NETWORK USED/);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/wrote .*flash\.js/);
  });

  it('writes every file of the image to Storage in chunks that reassemble to it, size declared on the first', () => {
    const js = fs.readFileSync(out, 'latin1');
    const files = storageWrites(js);
    expect(Object.keys(files).sort()).toEqual(['.bootcde', 'app.0', 'ui.index.html']);
    expect(files['.bootcde'].bytes).toEqual(loaderBytes);
    expect(files['app.0'].size).toBe(bundleBytes.length);
    expect(files['app.0'].bytes).toEqual(bundleBytes);
    expect(files['ui.index.html'].bytes).toEqual(uiBytes);
    expect((js.match(/require\("Storage"\)\.write\("app\.0"/g) || []).length).toBeGreaterThan(1);
  });

  it('then erases what the image lists and what would shadow .bootcde, echoes the stored sizes and starts with load()', () => {
    const js = fs.readFileSync(out, 'latin1');
    const tail = js.slice(js.lastIndexOf('require("Storage").write('));
    for (const n of ['.bootrst', '.varimg', 'app.1', 'load.0', 'load.1']) expect(tail).toContain('s.erase(' + JSON.stringify(n) + ')');
    expect(tail).toMatch(/print\("FLASHED "\+\[".bootcde","app.0","ui.index.html"\]\.map\(.*\)\.join\(","\)\);load\(\);/);
  });

  it('writes the offline board JSON the CLI reads (info.builtin_modules, chip.saved_code)', () => {
    const j = JSON.parse(fs.readFileSync(path.join(ROOT, 'build', 'esp32', 'board.json'), 'utf8'));
    expect(j.info.builtin_modules).toEqual(expect.arrayContaining(['Storage', 'net', 'Wifi', 'http']));
    expect(j.chip.saved_code).toEqual({ address: 3276800, page_size: 4096, pages: 224, flash_available: 1344 });
  });

  it('uses E.reboot() instead of load() with --reboot', async () => {
    const o = path.join(tmp, 'reboot.js');
    const r = await run(['--board', 'esp32c3', '--dry', '--reboot', '--image', IMAGE, '--out', o]);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(o, 'latin1')).toMatch(/E\.reboot\(\);\s*$/);
  });
});

describe('a missing or wrong PORT: one line, exit code 2, nothing sent', () => {
  const cases: [string, string[], RegExp][] = [
    ['no PORT', ['--board', 'esp32', '--port', ''], /PORT is missing/],
    ['a serial path that does not exist', ['--board', 'esp32', '--port', '/dev/ttyUSB97'], /does not exist/],
    ['a file that is not a serial device', ['--board', 'esp32', '--port', __filename], /not a serial device/],
    ['a malformed tcp:// address', ['--board', 'esp32', '--port', 'tcp://192.168.4.1:port'], /not a telnet address/],
    ['a tcp:// port out of range', ['--board', 'esp32', '--port', 'tcp://192.168.4.1:70000'], /not a telnet address/],
    ['an unknown board', ['--board', 'esp99', '--dry'], /unknown board "esp99" \(boards: esp32, esp32c3, esp32s3, linux, emulator\)/],
    ['a board that is not flashed', ['--board', 'linux', '--dry'], /not flashed/],
    ['a missing flash image', ['--board', 'esp32', '--dry', '--image', path.join(tmp, 'none')], /no flash image at .*none \(its flash\.json\): run make bundle BOARD=esp32/],
    ['an unknown option', ['--board', 'esp32', '--prot', 'x'], /unknown argument "--prot"/],
  ];
  it.each(cases)('%s', async (_name, args, msg) => {
    const r = await run(args.concat(args.indexOf('--image') < 0 ? ['--image', IMAGE] : []));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('a telnet address nothing answers on', async () => {
    const srv = net.createServer();
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((res) => srv.close(() => res()));
    const r = await run(['--board', 'esp32', '--port', 'tcp://127.0.0.1:' + port, '--image', IMAGE]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

/**
 * Enough of an Espruino console for the CLI: a prompt after every line, the
 * Storage writes kept, the boot line answered with the stored size (or a
 * wrong one with 'lie'; 'crash' adds an uncaught error after it).
 */
function fakeConsole(mode: 'ok' | 'lie' | 'crash' = 'ok') {
  const lines: string[] = [];
  const files: Record<string, Uint8Array> = {};
  const server = net.createServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        // ESC before a newline continues the statement on the next line.
        if (i > 0 && buf[i - 1] === '\x1b') {
          buf = buf.slice(0, i - 1) + buf.slice(i + 1);
          continue;
        }
        const line = buf.slice(0, i).replace(/[\x00-\x08\x10\x03\r]/g, '');
        buf = buf.slice(i + 1);
        lines.push(line);
        let reply = '';
        const w = /^require\("Storage"\)\.write\("([^"]+)",atob\("([^"]*)"\),(\d+)(?:,(\d+))?\)/.exec(line);
        if (w) {
          const data = b64(w[2]);
          if (Number(w[3]) === 0) files[w[1]] = new Uint8Array(Number(w[4] || data.length));
          files[w[1]].set(data, Number(w[3]));
        } else if (/FLASHED/.test(line)) {
          for (const m of line.matchAll(/s\.erase\("([^"]+)"\)/g)) delete files[m[1]];
          const names = JSON.parse(/\+(\[[^\]]*\])\.map/.exec(line)![1]) as string[];
          const sizes = names.map((n) => (files[n] ? files[n].length : 0));
          if (mode === 'lie') sizes[1]--;
          reply = 'FLASHED ' + sizes.join(',') + '\r\n' + (mode === 'crash' ? 'Uncaught Error: boom\r\n' : '');
        } else if (line === '') reply = '=undefined\r\n';
        sock.write(reply + '>');
      }
    });
  });
  return new Promise<{ port: number; lines: string[]; files: Record<string, Uint8Array>; close: () => void }>((res) =>
    server.listen(0, '127.0.0.1', () => res({ port: (server.address() as net.AddressInfo).port, lines, files, close: () => server.close() })),
  );
}

describe('make flash over telnet (against a fake console)', () => {
  it('resets, writes the image, erases the other slot, the record and .bootrst/.varimg, checks the echoed sizes, starts it', async () => {
    const con = await fakeConsole();
    try {
      const r = await run(['--board', 'esp32', '--port', 'tcp://127.0.0.1:' + con.port, '--image', IMAGE, '--out', path.join(tmp, 'sent.js')]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/flash: esp32 on tcp:\/\/127\.0\.0\.1:\d+: \.bootcde, app\.0, ui\.index\.html \(\d+ bytes with their headers\), started with load\(\)/);
      expect(con.files['.bootcde']).toEqual(loaderBytes);
      expect(con.files['app.0']).toEqual(bundleBytes);
      const first = (re: RegExp) => con.lines.findIndex((l) => re.test(l));
      expect(first(/^reset\(\);$/)).toBeGreaterThanOrEqual(0);
      expect(first(/^reset\(\);$/)).toBeLessThan(first(/Storage"\)\.write/));
      expect(first(/FLASHED/)).toBeGreaterThan(first(/Storage"\)\.write/));
      expect(con.lines[first(/FLASHED/)]).toMatch(/erase\("\.bootrst"\).*erase\("\.varimg"\).*erase\("app\.1"\).*erase\("load\.0"\).*erase\("load\.1"\).*load\(\);$/);
    } finally {
      con.close();
    }
  });

  it('fails (exit 1, one line) when the board stores a different size', async () => {
    const con = await fakeConsole('lie');
    try {
      const r = await run(['--board', 'esp32', '--port', 'tcp://127.0.0.1:' + con.port, '--image', IMAGE, '--out', path.join(tmp, 'sent2.js')]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/the board stored \d+ bytes of app\.0, expected \d+/);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    } finally {
      con.close();
    }
  });

  it('fails (exit 1) when the firmware it started reports an uncaught error', async () => {
    const con = await fakeConsole('crash');
    try {
      const r = await run(['--board', 'esp32', '--port', 'tcp://127.0.0.1:' + con.port, '--image', IMAGE, '--out', path.join(tmp, 'sent3.js')]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/flashed and started, but the firmware reported: Uncaught Error: boom/);
    } finally {
      con.close();
    }
  });
});
