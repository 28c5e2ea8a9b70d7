#!/usr/bin/env node
/**
 * `make bench`: throughput and latency of the firmware in the emulator against
 * Node's own servers, in one run, on loopback only; then the request parser
 * alone.
 *
 *   node tools/bench.mjs [--duration 1] [--rounds 4] [--warmup 3000] [--connections 7] [--no-parser] [--no-load]
 *
 * Load (autocannon, keep-alive, no pipelining, `--connections` clients):
 *   (a) the firmware bundle in the emulator (dist/emulator/app.js, built if
 *       stale) on GET /api/status; GET /asset (16 384 bytes) comes from a
 *       bench-only entry on the same runtime (tools/bench/asset-app.ts, built
 *       into build/bench/);
 *   (b) Node's http module answering with the status, headers and body
 *       captured from (a) (it adds "Connection: keep-alive": Node cannot
 *       leave it out on a keep-alive HTTP/1.1 response);
 *   (c) a bare Node net server writing the captured bytes per request head
 *       (the ceiling: no parsing beyond finding "\r\n\r\n");
 *   (a0) the emulator running a 10-line Espruino program that does what (c)
 *       does: the emulator's own cost, so (a) - (a0) is the runtime's (src/,
 *       hal/espruino.ts, the firmware).
 * Every server runs in its own child process (tools/bench/serve.mjs) while
 * autocannon runs here, so on a 2-core machine the server under test and the
 * load generator each have a core. Each server gets a warm-up, then the
 * servers take turns for `--rounds` rounds of `--duration` seconds: req/s is
 * the total over the rounds, p50/p99 are over every response's latency
 * (measured here from autocannon's per-response times, in ms, not its
 * whole-millisecond histogram), CPU us/req is the server process's CPU time
 * (user + system, so its syscalls too) per response. The ratios are medians
 * of per-round ratios (runs next to each other in time), which keeps load
 * from other processes that comes and goes out of them. Two ratios, because
 * on a small machine one load generator may not saturate the fastest
 * servers: req/s compares what autocannon got; CPU per request compares
 * what each server would do with a core of its own.
 *
 * Parser: requests per second through the core's parseHead (src/http.ts,
 * bundled by esbuild to a temporary CommonJS file) on a corpus of realistic
 * browser and curl requests, with two baselines measured in the same run:
 * a naive split-based parse (no validation) and llhttp, Node's own parser
 * (its HTTPParser from `_http_common`, fed the same bytes).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, build } from './build.mjs';
import { fetchRaw, median } from './bench/common.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const esbuild = require('esbuild');

const SERVE = join(ROOT, 'tools', 'bench', 'serve.mjs');
const APP = join(ROOT, 'dist', 'emulator', 'app.js');
const ASSET_ENTRY = 'tools/bench/asset-app.ts';
const ASSET_DIR = join(ROOT, 'build', 'bench');
const ASSET_APP = join(ASSET_DIR, 'emulator', 'app.js');
const ASSET_BYTES = 16384;

function parseArgs(argv) {
  const o = { duration: 1, rounds: 4, warmup: 3000, connections: 7, parser: true, load: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!(v > 0)) throw new Error(a + ' needs a positive number');
      return v;
    };
    // autocannon counts whole seconds.
    if (a === '--duration') o.duration = Math.ceil(num());
    else if (a === '--rounds') o.rounds = Math.round(num());
    else if (a === '--warmup') o.warmup = Math.round(num());
    else if (a === '--connections') o.connections = Math.round(num());
    else if (a === '--no-parser') o.parser = false;
    else if (a === '--no-load') o.load = false;
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error('unknown argument ' + a);
  }
  return o;
}

// ------------------------------------------------------------------ building

/** Newest mtime of the files under `dirs` (recursively) and of `files`. */
function newest(dirs, files = []) {
  let t = 0;
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else t = Math.max(t, statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  for (const f of files) if (existsSync(join(ROOT, f))) t = Math.max(t, statSync(join(ROOT, f)).mtimeMs);
  return t;
}

function stale(out, inputs) {
  return !existsSync(out) || statSync(out).mtimeMs < inputs;
}

/** Build the two bundles the load test runs, when missing or older than their sources. */
async function ensureBuilt() {
  const common = newest(['src', 'hal', 'boards'], ['tools/build.mjs', 'tools/espruino-helpers.js', 'tsconfig.json']);
  const log = (s) => process.stdout.write('  ' + s + '\n');
  if (stale(APP, Math.max(common, newest(['firmware'])))) {
    process.stdout.write('building the emulator bundle (node tools/build.mjs --board emulator)\n');
    await build({ boards: ['emulator'], log });
  }
  if (stale(ASSET_APP, Math.max(common, newest([], [ASSET_ENTRY])))) {
    process.stdout.write('building the 16 KB asset firmware (' + ASSET_ENTRY + ' -> ' + relative(ROOT, ASSET_APP) + ')\n');
    await build({ boards: ['emulator'], entry: ASSET_ENTRY, outDir: ASSET_DIR, buildDir: ASSET_DIR, log });
  }
}

// ------------------------------------------------------------------ servers

/** @type {import('node:child_process').ChildProcess[]} */
const children = [];
/** Host port → the child serving it. */
const byPort = new Map();

/** CPU time the server on `port` has used so far, microseconds (user + system). */
function serverCpu(port) {
  const ch = byPort.get(port);
  return new Promise((resolve) => {
    ch.once('message', (u) => resolve(u.user + u.system));
    ch.send('cpu');
  });
}

/** Start `serve.mjs kind arg` and resolve with its port once it listens. */
function startServer(kind, arg) {
  return new Promise((resolve, reject) => {
    const ch = spawn(process.execPath, [SERVE, kind, arg], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    children.push(ch);
    let out = '';
    const onData = (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      ch.stdout.off('data', onData);
      ch.stdout.resume();
      try {
        const port = JSON.parse(out.slice(0, nl)).port;
        byPort.set(port, ch);
        resolve(port);
      } catch (e) {
        reject(new Error(kind + ' server: ' + out.slice(0, nl)));
      }
    };
    ch.stdout.setEncoding('latin1');
    ch.stdout.on('data', onData);
    ch.once('exit', (code) => reject(new Error(kind + ' server exited (' + code + ') before listening')));
  });
}

function stopServers() {
  for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGTERM');
  children.length = 0;
}

/**
 * A 10-line Espruino program for the emulator that answers each request head with the captured bytes of its
 * path, as (c) does on Node: the emulator's own cost (sandbox, net shim, 536-byte passes, loop) without the
 * runtime in src/. ES5 without hoisting, so the emulator's syntax check accepts it.
 * @param {Record<string, string>} byPath  whole responses, one char per byte
 */
function cannedFirmware(byPath) {
  return (
    'var R = ' + JSON.stringify(byPath) + ';\n' +
    'require("net").createServer(function (s) {\n' +
    '  var p = "";\n' +
    '  s.on("data", function (d) {\n' +
    '    p += d;\n' +
    '    var e = p.indexOf("\\r\\n\\r\\n");\n' +
    '    while (e >= 0) {\n' +
    '      var a = p.indexOf(" ") + 1;\n' +
    '      var r = R[p.substring(a, p.indexOf(" ", a))] || R["/api/status"];\n' +
    '      p = p.substr(e + 4);\n' +
    '      s.write(r);\n' +
    '      e = p.indexOf("\\r\\n\\r\\n");\n' +
    '    }\n' +
    '  });\n' +
    '}).listen(8080);\n'
  );
}

// ------------------------------------------------------------------ load

/** Percentile `p` (0-100) of sorted `a` (nearest rank). */
function pct(a, p) {
  if (!a.length) return NaN;
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))];
}

/** One autocannon run of `seconds` (or of `amount` requests); latencies (ms) appended to `lat`. */
function load(url, o, seconds, lat, amount) {
  return new Promise((resolve, reject) => {
    const opts = { url, connections: o.connections, pipelining: 1, timeout: 10 };
    if (amount) opts.amount = amount;
    else opts.duration = seconds;
    const inst = autocannon(opts, (err, r) => {
      if (err) reject(err);
      else resolve(r);
    });
    if (lat) inst.on('response', (client, code, bytes, ms) => lat.push(ms));
  });
}

/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat), or -1 where there is none. */
function machineBusy() {
  try {
    const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: user + nice + system, comparable with processes' own CPU
    // time (softirq is left out: it holds this bench's own loopback traffic too). USER_HZ is 100 on Linux.
    return (f[0] + f[1] + f[2]) / 100;
  } catch (e) {
    return -1;
  }
}

/** CPU microseconds used so far by this process and every server child. */
async function ownCpu() {
  const u = process.cpuUsage();
  let t = u.user + u.system;
  for (const port of byPort.keys()) t += await serverCpu(port);
  return t;
}

function fmtNum(n, d) {
  return Number.isFinite(n) ? n.toFixed(d) : '-';
}

function pad(s, n, right) {
  s = String(s);
  return right ? s.padEnd(n) : s.padStart(n);
}

async function loadBench(o) {
  const emuStatus = await startServer('emu', APP);
  const emuAsset = await startServer('emu', ASSET_APP);
  const status = await fetchRaw(emuStatus, '/api/status');
  const asset = await fetchRaw(emuAsset, '/asset');
  if (status.status !== 200 || asset.status !== 200 || asset.body.length !== ASSET_BYTES) {
    throw new Error('unexpected firmware responses: /api/status ' + status.status + ', /asset ' + asset.status + ' (' + asset.body.length + ' bytes)');
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'bench-'));
  const cannedFile = join(tmp, 'canned.json');
  const enc = (r) => ({ raw: r.raw.toString('base64'), status: r.status, headers: r.headers, body: r.body.toString('base64') });
  writeFileSync(cannedFile, JSON.stringify({ '/api/status': enc(status), '/asset': enc(asset) }));
  const httpPort = await startServer('http', cannedFile);
  const netPort = await startServer('net', cannedFile);
  const floorFile = join(tmp, 'canned-firmware.js');
  writeFileSync(floorFile, cannedFirmware({ '/api/status': status.raw.toString('latin1'), '/asset': asset.raw.toString('latin1') }), 'latin1');
  const floorPort = await startServer('emu', floorFile);

  // What each server actually sends, so the comparison is of the same bytes.
  const sizes = {};
  for (const [name, port] of [['http', httpPort], ['net', netPort], ['floor', floorPort]]) {
    for (const [path, ref] of [['/api/status', status], ['/asset', asset]]) {
      const r = await fetchRaw(port, path);
      if (name === 'floor' && !r.raw.equals(ref.raw)) throw new Error('the canned firmware does not send the captured bytes for ' + path);
      if (!r.body.equals(ref.body) || r.status !== ref.status) throw new Error(name + ' server does not send the captured body for ' + path);
      sizes[name + path] = r.raw.length;
    }
  }
  rmSync(tmp, { recursive: true, force: true });

  const endpoints = [
    { path: '/api/status', ref: status, ports: { a: emuStatus, e: floorPort, b: httpPort, c: netPort } },
    { path: '/asset', ref: asset, ports: { a: emuAsset, e: floorPort, b: httpPort, c: netPort } },
  ];
  const names = { a: '(a) firmware in the emulator', e: '(a0) emulator, canned firmware', b: '(b) Node http', c: '(c) Node net, canned (ceiling)' };
  const res = {};
  for (const ep of endpoints) for (const k of 'aebc') res[ep.path + k] = { n: 0, s: 0, cpu: 0, lat: [], per: [], perCpu: [], errors: 0, non2xx: 0, timeouts: 0 };

  process.stdout.write('warm-up: ' + o.warmup + ' requests per server and path\n');
  for (const ep of endpoints) for (const k of 'aebc') await load('http://127.0.0.1:' + ep.ports[k] + ep.path, o, 0, null, o.warmup);

  const busy0 = machineBusy();
  const own0 = await ownCpu();
  const t0all = performance.now();
  for (let round = 0; round < o.rounds; round++) {
    // Alternate the order per round so slow drift (other load on the machine) does not favour one server.
    const order = round % 2 ? ['c', 'b', 'e', 'a'] : ['a', 'e', 'b', 'c'];
    for (const ep of endpoints) {
      for (const k of order) {
        const r = res[ep.path + k];
        const c0 = await serverCpu(ep.ports[k]);
        const t0 = performance.now();
        const out = await load('http://127.0.0.1:' + ep.ports[k] + ep.path, o, o.duration, r.lat);
        const secs = (performance.now() - t0) / 1000;
        const cpu = (await serverCpu(ep.ports[k])) - c0;
        r.cpu += cpu;
        r.n += out.requests.total;
        r.s += secs;
        r.per.push(out.requests.total / secs);
        r.perCpu.push(cpu / out.requests.total);
        r.errors += out.errors;
        r.timeouts += out.timeouts;
        r.non2xx += out.non2xx;
        process.stdout.write('  round ' + (round + 1) + ' ' + pad(ep.path, 11, true) + ' ' + k + ': ' + pad(Math.round(out.requests.total / secs), 6) +
          ' req/s, ' + fmtNum(cpu / out.requests.total, 1) + ' us CPU per request\n');
      }
    }
  }
  const wall = (performance.now() - t0all) / 1000;
  const busy1 = machineBusy();
  const own1 = await ownCpu();
  stopServers();

  const rows = [];
  for (const ep of endpoints) {
    const bytes = { a: ep.ref.raw.length, b: sizes['http' + ep.path], c: sizes['net' + ep.path] };
    process.stdout.write('\nGET ' + ep.path + ' (' + ep.ref.body.length + '-byte body, ' + bytes.a + ' bytes on the wire), ' + o.connections +
      ' keep-alive connections, ' + o.rounds + ' rounds x ' + o.duration + ' s per server\n');
    process.stdout.write(pad('server', 32, true) + pad('req/s', 8) + pad('p50 ms', 9) + pad('p99 ms', 9) + pad('CPU us/req', 12) + '\n');
    const rps = {};
    const cpr = {};
    for (const k of 'aebc') {
      const r = res[ep.path + k];
      r.lat.sort((x, y) => x - y);
      rps[k] = r.n / r.s;
      cpr[k] = r.cpu / r.n;
      const bad = r.errors + r.timeouts + r.non2xx;
      process.stdout.write(pad(names[k], 32, true) + pad(Math.round(rps[k]), 8) + pad(fmtNum(pct(r.lat, 50), 3), 9) + pad(fmtNum(pct(r.lat, 99), 3), 9) + pad(fmtNum(cpr[k], 1), 12) +
        (bad ? '   ERRORS ' + r.errors + ' timeouts ' + r.timeouts + ' non-2xx ' + r.non2xx : '') + '\n');
      rows.push({ path: ep.path, server: k, rps: rps[k], p50: pct(r.lat, 50), p99: pct(r.lat, 99), cpu: cpr[k], bad });
    }
    // Ratios of runs next to each other in time, then the median over the rounds: robust to load that comes and goes.
    const A = res[ep.path + 'a'];
    const B = res[ep.path + 'b'];
    const C = res[ep.path + 'c'];
    const ratio = (x, y) => median(x.map((v, i) => v / y[i]));
    const line = (label, ab, ac, ec) => process.stdout.write(pad(label, 44, true) + 'a/b ' + ab.toFixed(2) + '   a/c ' + ac.toFixed(2) + '   a0/c ' + ec.toFixed(2) + '\n');
    const E0 = res[ep.path + 'e'];
    line('throughput (req/s), median of rounds:', ratio(A.per, B.per), ratio(A.per, C.per), ratio(E0.per, C.per));
    line('CPU per request (server capacity), median:', ratio(B.perCpu, A.perCpu), ratio(C.perCpu, A.perCpu), ratio(C.perCpu, E0.perCpu));
    if (bytes.b !== bytes.a) process.stdout.write('(b sends ' + (bytes.b - bytes.a) + ' bytes more per response: "Connection: keep-alive", which Node always adds)\n');
  }
  if (busy0 >= 0 && busy1 >= 0) {
    const other = busy1 - busy0 - (own1 - own0) / 1e6;
    process.stdout.write('\nother load on the machine during the runs: ' + Math.max(0, (100 * other) / wall).toFixed(0) + '% of one core on average' +
      ' (user + system time in /proc/stat minus this bench and its servers)\n');
  }
  return rows;
}

// ------------------------------------------------------------------ parser

/** Realistic request heads (and one form POST with its body), as browsers and curl send them to a device. */
const CORPUS = [
  // Chrome 120, navigation.
  'GET / HTTP/1.1\r\nHost: 192.168.4.1\r\nConnection: keep-alive\r\nCache-Control: max-age=0\r\n' +
    'sec-ch-ua: "Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120"\r\nsec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: "Linux"\r\n' +
    'Upgrade-Insecure-Requests: 1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n' +
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n' +
    'Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n',
  // Chrome 120, fetch() from the page.
  'GET /api/status HTTP/1.1\r\nHost: 192.168.4.1\r\nConnection: keep-alive\r\nsec-ch-ua: "Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120"\r\n' +
    'sec-ch-ua-mobile: ?0\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n' +
    'sec-ch-ua-platform: "Linux"\r\nAccept: */*\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n' +
    'Referer: http://192.168.4.1/\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n',
  // Firefox 121, a stylesheet.
  'GET /app.css?v=3 HTTP/1.1\r\nHost: 192.168.4.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n' +
    'Accept: text/css,*/*;q=0.1\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n' +
    'Referer: http://192.168.4.1/\r\nSec-Fetch-Dest: style\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Site: same-origin\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n\r\n',
  // Firefox 121, the scan.
  'GET /api/wifi/scan HTTP/1.1\r\nHost: 192.168.4.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n' +
    'Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nReferer: http://192.168.4.1/\r\nConnection: keep-alive\r\n' +
    'Sec-Fetch-Dest: empty\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Site: same-origin\r\n\r\n',
  // Safari 17, the icon.
  'GET /favicon.ico HTTP/1.1\r\nHost: 192.168.4.1\r\nAccept: image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5\r\n' +
    'User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15\r\n' +
    'Referer: http://192.168.4.1/\r\nAccept-Language: en-GB,en;q=0.9\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n',
  // curl.
  'GET /api/status HTTP/1.1\r\nHost: 192.168.4.1\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n',
  // Chrome, the settings form.
  'POST /api/wifi HTTP/1.1\r\nHost: 192.168.4.1\r\nConnection: keep-alive\r\nContent-Length: 39\r\nCache-Control: max-age=0\r\n' +
    'Origin: http://192.168.4.1\r\nContent-Type: application/x-www-form-urlencoded\r\nUpgrade-Insecure-Requests: 1\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n' +
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\nSec-Fetch-Site: same-origin\r\n' +
    'Sec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\nReferer: http://192.168.4.1/wifi\r\n' +
    'Accept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n\r\nssid=home+net&password=s3cret%21%40pass',
];

/** The core's parser module (src/http.ts), bundled to CommonJS in a temporary folder. */
async function loadCoreParser() {
  const r = await esbuild.build({
    entryPoints: [join(ROOT, 'src', 'http.ts')],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    tsconfigRaw: '{}',
  });
  const tmp = mkdtempSync(join(os.tmpdir(), 'bench-parser-'));
  const file = join(tmp, 'http.cjs');
  writeFileSync(file, r.outputFiles[0].text);
  const mod = require(file);
  rmSync(tmp, { recursive: true, force: true });
  return mod;
}

/** Requests per second of `fn(i)` (i = corpus index), timed for about `ms`. */
function rate(fn, n, ms) {
  let count = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let k = 0; k < 2000; k++) fn(count++ % n);
    t = performance.now();
  }
  return count / ((t - t0) / 1000);
}

async function parserBench() {
  const core = await loadCoreParser();
  const heads = CORPUS.map((r) => r.slice(0, r.indexOf('\r\n\r\n') + 4));
  const bodies = CORPUS.map((r) => r.slice(r.indexOf('\r\n\r\n') + 4));
  const bytes = CORPUS.map((r) => Buffer.from(r, 'latin1'));
  const headBytes = heads.map((h) => new Uint8Array(Buffer.from(h, 'latin1')));
  const hm = new core.HttpMsg();
  let sink = 0;

  for (let i = 0; i < heads.length; i++) {
    const st = core.parseHead(hm, heads[i]);
    if (st !== 0) throw new Error('parseHead rejects corpus request ' + i + ': ' + st + ' ' + hm.err);
  }

  // What the core does per request head: find its end in the receive buffer, make it a string, parse it.
  const coreFull = (i) => {
    const b = headBytes[i];
    const end = core.headEnd(b, b.length, 0);
    sink += core.parseHead(hm, Buffer.from(b.buffer, b.byteOffset, end).latin1Slice(0, end)) + hm.hn.length;
  };
  const coreOnly = (i) => {
    sink += core.parseHead(hm, heads[i]) + hm.hn.length;
  };
  // Baseline 1: the least a parser can do on a string: split lines and fields, lowercase names; no validation.
  const naive = (i) => {
    const lines = heads[i].split('\r\n');
    const rl = lines[0].split(' ');
    const hn = [];
    const hv = [];
    for (let k = 1; k < lines.length - 2; k++) {
      const l = lines[k];
      const c = l.indexOf(':');
      hn.push(l.slice(0, c).toLowerCase());
      hv.push(l.slice(c + 1).trim());
    }
    sink += rl.length + hn.length + hv.length;
  };
  // Baseline 2: llhttp, the parser inside Node's http module, on the same bytes (one stream, keep-alive).
  let llhttp = null;
  try {
    const { HTTPParser } = require('_http_common');
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {});
    p[HTTPParser.kOnHeadersComplete] = (maj, min, headers, method, url) => {
      sink += headers.length + url.length;
    };
    p[HTTPParser.kOnHeaders] = () => {};
    p[HTTPParser.kOnBody] = () => {};
    p[HTTPParser.kOnMessageComplete] = () => {};
    p[HTTPParser.kOnExecute] = () => {};
    llhttp = (i) => {
      const r = p.execute(bytes[i]);
      if (typeof r !== 'number') throw r;
    };
  } catch (e) {
    llhttp = null;
  }

  const impls = [
    ['core parseHead (string head)', coreOnly],
    ['core headEnd + bytes->string + parseHead', coreFull],
    ['naive split, no validation', naive],
  ];
  if (llhttp) impls.push(['llhttp (Node http parser, bytes)', llhttp]);
  const best = impls.map(() => 0);
  for (const [, fn] of impls) rate(fn, CORPUS.length, 150); // warm-up
  for (let rep = 0; rep < 3; rep++) impls.forEach(([, fn], k) => { best[k] = Math.max(best[k], rate(fn, CORPUS.length, 400)); });
  const avgHead = Math.round(heads.reduce((s, h) => s + h.length, 0) / heads.length);
  process.stdout.write('\nParser alone: ' + CORPUS.length + ' requests (Chrome, Firefox, Safari, curl GETs, a form POST; head ' + avgHead +
    ' bytes on average, ' + Math.round(heads.reduce((s, h) => s + h.split('\r\n').length - 3, 0) / heads.length) + ' fields), best of 3 x 0.4 s\n');
  process.stdout.write(pad('parser', 44, true) + pad('req/s', 11) + pad('us/req', 9) + '\n');
  const rows = [];
  impls.forEach(([name], k) => {
    process.stdout.write(pad(name, 44, true) + pad(Math.round(best[k]), 11) + pad((1e6 / best[k]).toFixed(2), 9) + '\n');
    rows.push({ name, rps: best[k] });
  });
  if (!llhttp) process.stdout.write('(llhttp baseline unavailable: _http_common.HTTPParser not found in this Node)\n');
  if (sink === 0.5) process.stdout.write(''); // keep `sink` alive
  return rows;
}

// ------------------------------------------------------------------ main

function machine() {
  const c = os.cpus();
  const la = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return c.length + ' x ' + (c[0] ? c[0].model.trim() : '?') + ', ' + Math.round(os.totalmem() / 2 ** 30) + ' GB, ' + os.type() + ' ' + os.release() +
    ', Node ' + process.version + ', load average ' + la;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    process.stdout.write('usage: node tools/bench.mjs [--duration S] [--rounds N] [--warmup REQUESTS] [--connections N] [--no-parser] [--no-load]\n');
    return;
  }
  const t0 = performance.now();
  process.stdout.write('bench ' + new Date().toISOString() + '\nmachine: ' + machine() + '\n');
  if (process.env.BENCH_EMULATOR) process.stdout.write('emulator: ' + process.env.BENCH_EMULATOR + ' (BENCH_EMULATOR)\n');
  if (o.load) {
    await ensureBuilt();
    await loadBench(o);
  }
  if (o.parser) await parserBench();
  process.stdout.write('\nload average after: ' + os.loadavg().map((x) => x.toFixed(2)).join(' ') + '; bench took ' + Math.round((performance.now() - t0) / 1000) + ' s\n');
}

process.on('exit', stopServers);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopServers(); process.exit(130); });

main().catch((e) => {
  stopServers();
  process.stderr.write('bench: ' + (e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
