/**
 * tools/flash.mjs: the dry run works offline and its output holds the Storage
 * writes of the bundle; a missing or wrong PORT is one line and exit code 2;
 * a telnet flash against a fake Espruino console on localhost sends reset(),
 * the chunks, the boot line and load(), and checks the size the board echoes.
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

/** A bundle with every byte value, to show the Storage writes are binary-safe. */
const BUNDLE = path.join(tmp, 'app.js');
const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const bundleBytes = latin1('(function(){var a="' + String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i)) + '";print(a.length)})();\n'.repeat(8));
fs.writeFileSync(BUNDLE, bundleBytes);

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
    res = await run(['--board', 'esp32', '--dry', '--bundle', BUNDLE, '--out', out], { NODE_OPTIONS: '--require ' + NO_NET });
  });

  it('succeeds without touching the network', () => {
    expect(res.err).not.toMatch(/NETWORK USED/);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/wrote .*flash\.js/);
  });

  it('writes the bundle to Storage as .bootcde in chunks that reassemble to it, size declared on the first', () => {
    const js = fs.readFileSync(out, 'latin1');
    const files = storageWrites(js);
    expect(Object.keys(files)).toEqual(['.bootcde']);
    expect(files['.bootcde'].size).toBe(bundleBytes.length);
    expect(files['.bootcde'].bytes).toEqual(bundleBytes);
    expect((js.match(/require\("Storage"\)\.write\("\.bootcde"/g) || []).length).toBeGreaterThan(1);
  });

  it('then clears what would shadow .bootcde, echoes the stored size and starts it with load()', () => {
    const js = fs.readFileSync(out, 'latin1');
    const tail = js.slice(js.lastIndexOf('require("Storage").write('));
    expect(tail).toMatch(/erase\("\.bootrst"\)/);
    expect(tail).toMatch(/erase\("\.varimg"\)/);
    expect(tail).toMatch(/print\("FLASHED "\+s\.read\("\.bootcde"\)\.length\);load\(\);/);
  });

  it('writes the offline board JSON the CLI reads (info.builtin_modules, chip.saved_code)', () => {
    const j = JSON.parse(fs.readFileSync(path.join(ROOT, 'build', 'esp32', 'board.json'), 'utf8'));
    expect(j.info.builtin_modules).toEqual(expect.arrayContaining(['Storage', 'net', 'Wifi', 'http']));
    expect(j.chip.saved_code).toEqual({ address: 3276800, page_size: 4096, pages: 224, flash_available: 1344 });
  });

  it('uses E.reboot() instead of load() with --reboot', async () => {
    const o = path.join(tmp, 'reboot.js');
    const r = await run(['--board', 'esp32c3', '--dry', '--reboot', '--bundle', BUNDLE, '--out', o]);
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
    ['a missing bundle', ['--board', 'esp32', '--dry', '--bundle', path.join(tmp, 'none.js')], /no bundle at .*none\.js/],
    ['an unknown option', ['--board', 'esp32', '--prot', 'x'], /unknown argument "--prot"/],
  ];
  it.each(cases)('%s', async (_name, args, msg) => {
    const r = await run(args.concat(args.indexOf('--bundle') < 0 ? ['--bundle', BUNDLE] : []));
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
    const r = await run(['--board', 'esp32', '--port', 'tcp://127.0.0.1:' + port, '--bundle', BUNDLE]);
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
          const n = files['.bootcde'] ? files['.bootcde'].length : 0;
          reply = 'FLASHED ' + (mode === 'lie' ? n - 1 : n) + '\r\n' + (mode === 'crash' ? 'Uncaught Error: boom\r\n' : '');
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
  it('resets, writes .bootcde, clears .bootrst/.varimg, checks the echoed size, starts it', async () => {
    const con = await fakeConsole();
    try {
      const r = await run(['--board', 'esp32', '--port', 'tcp://127.0.0.1:' + con.port, '--bundle', BUNDLE, '--out', path.join(tmp, 'sent.js')]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/flash: esp32 on tcp:\/\/127\.0\.0\.1:\d+: \.bootcde = .* \(\d+ bytes\), started with load\(\)/);
      expect(con.files['.bootcde']).toEqual(bundleBytes);
      const first = (re: RegExp) => con.lines.findIndex((l) => re.test(l));
      expect(first(/^reset\(\);$/)).toBeGreaterThanOrEqual(0);
      expect(first(/^reset\(\);$/)).toBeLessThan(first(/Storage"\)\.write/));
      expect(first(/FLASHED/)).toBeGreaterThan(first(/Storage"\)\.write/));
      expect(con.lines[first(/FLASHED/)]).toMatch(/erase\("\.bootrst"\).*erase\("\.varimg"\).*load\(\);$/);
    } finally {
      con.close();
    }
  });

  it('fails (exit 1, one line) when the board stores a different size', async () => {
    const con = await fakeConsole('lie');
    try {
      const r = await run(['--board', 'esp32', '--port', 'tcp://127.0.0.1:' + con.port, '--bundle', BUNDLE, '--out', path.join(tmp, 'sent2.js')]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/the board stored \d+ bytes of \.bootcde, expected \d+/);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    } finally {
      con.close();
    }
  });

  it('fails (exit 1) when the firmware it started reports an uncaught error', async () => {
    const con = await fakeConsole('crash');
    try {
      const r = await run(['--board', 'esp32', '--port', 'tcp://127.0.0.1:' + con.port, '--bundle', BUNDLE, '--out', path.join(tmp, 'sent3.js')]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/flashed and started, but the firmware reported: Uncaught Error: boom/);
    } finally {
      con.close();
    }
  });
});
