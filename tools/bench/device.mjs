#!/usr/bin/env node
/**
 * `make bench-device ESPRUINO=/path/to/espruino`: the firmware on a real
 * Espruino interpreter (the Linux build of 2v29, which you build yourself:
 * this repository holds none of its code and no recipe for it) against the
 * interpreter's own servers, in one run, on loopback.
 *
 *   node tools/bench/device.mjs --espruino PATH [--duration 3] [--rounds 3] [--connections 8]
 *
 * Servers, each its own interpreter process (stdin kept open: the Linux build
 * stops reading its console at end of input), one at a time (the Linux build
 * spins a core even when idle, so two would share the machine's cores):
 *   (a) the `linux` bundle (dist/linux/app.js, built now), keep-alive, on its
 *       port 8080, GET /api/status;
 *   (b) the built-in `require("http")` serving the body captured from (a)
 *       with the same headers (it closes every connection: it has no
 *       keep-alive);
 *   (b2) the same built-in server building that JSON per request as the
 *       firmware does (process.memory(false), uptime, string concatenation):
 *       what a user of the built-in server would write;
 *   (c) a 3-line JavaScript `net` server writing the canned response per
 *       received chunk (keep-alive, no parsing: the interpreter's ceiling);
 *   (d) the leanest keep-alive HTTP server JavaScript can be here: the head
 *       found with indexOf, the request line checked by one RegExp, Host
 *       looked for, the same JSON built as (b2), one write; no limits, pool,
 *       deadlines, lifecycle or error handling: the ceiling of any HTTP server
 *       written in JavaScript on this interpreter.
 * wrk (`-c` connections, 2 threads) measures each in turn, freshly started
 * and warmed up for a second, for `--rounds` rounds; req/s is the median over rounds, ratios are medians of per-round
 * ratios. wrk opens and closes one probe connection per run, and reconnects
 * after each response of a server that closes, which is how (b) is measured.
 * Then tools/bench/parts.ts, run on the same interpreter, prints what the
 * pieces of a request cost there (µs per call), and tools/bench/path.ts what a
 * whole keep-alive request costs the runtime in JavaScript, without TCP.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../build.mjs';
import { fetchRaw, median } from './common.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const espruino = opt('espruino', process.env.ESPRUINO || '');
const duration = Number(opt('duration', 3));
const rounds = Number(opt('rounds', 3));
const conns = Number(opt('connections', 8));

function die(msg) {
  process.stderr.write('bench-device: ' + msg + '\n');
  process.exit(2);
}
if (!espruino) die('no interpreter: pass --espruino PATH (or ESPRUINO=PATH), the Linux build of Espruino 2v29');
if (!existsSync(espruino)) die(`no interpreter at ${espruino}`);
if (spawnSync('wrk', ['--version']).error) die('wrk is not installed (Debian: apt-get install wrk)');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Is something accepting connections on `port`? */
const listening = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

/** Start the interpreter on `file`; resolves once `port` accepts connections. */
async function start(file, port) {
  // SO_REUSEPORT on the interpreter's listener would let a second one share the port without an error.
  if (await listening(port)) die(`port ${port} is already in use`);
  const p = spawn(espruino, [file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  for (let i = 0; i < 100; i++) {
    if (await listening(port)) return p;
    if (p.exitCode !== null) break;
    await sleep(100);
  }
  p.kill('SIGKILL');
  die(`${file} did not listen on port ${port}; it printed:\n${out.slice(-2000)}`);
}

/** wrk against `port`: requests per second, p50 and p99 latency (ms). */
function wrk(port, path, secs) {
  const r = spawnSync('wrk', ['-c' + conns, '-t2', '-d' + secs + 's', '--latency', `http://127.0.0.1:${port}${path}`], { encoding: 'utf8' });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!rps) die('wrk printed no figure:\n' + r.stdout + r.stderr);
  const lat = (q) => {
    const m = new RegExp('\\s' + q + '%\\s+([\\d.]+)(us|ms|s)').exec(r.stdout);
    return m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : NaN;
  };
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
  const err = /Socket errors: (.*)/.exec(r.stdout);
  return { rps: Number(rps[1]), p50: lat(50), p99: lat(99), non2xx: bad ? Number(bad[1]) : 0, errors: err ? err[1] : '' };
}

const build = spawnSync(process.execPath, [join(ROOT, 'tools/build.mjs'), '--board', 'linux', '--quiet'], { stdio: 'inherit' });
if (build.status) die('the linux bundle did not build');

const tmp = mkdtempSync(join(os.tmpdir(), 'bench-device-'));
const procs = [];
const cleanup = () => {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

/** Stop the interpreter `p`; resolves once its port is free. */
async function stop(p, port) {
  p.kill('SIGKILL');
  procs.splice(procs.indexOf(p), 1);
  for (let i = 0; i < 50 && (await listening(port)); i++) await sleep(100);
}

try {
  const a = await start(join(ROOT, 'dist/linux/app.js'), 8080);
  procs.push(a);
  const resp = await fetchRaw(8080, '/api/status');
  await stop(a, 8080);
  const body = resp.body.toString('latin1');
  const hdrs = {};
  for (const [k, v] of resp.headers) if (!/^(content-length|connection)$/i.test(k)) hdrs[k] = v;
  const H = JSON.stringify(hdrs).slice(1, -1);
  const J = JSON.stringify;
  // (b): the captured bytes; (b2): the body built per request the way firmware/app.ts builds it.
  writeFileSync(join(tmp, 'builtin.js'),
    `var body = ${J(body)};\n` +
    `require("http").createServer(function (req, res) {\n` +
    `  res.writeHead(200, { ${H}, "Content-Length": body.length });\n  res.end(body);\n}).listen(8081);\n`);
  const head = body.slice(0, body.indexOf('"uptime":') + 9);
  writeFileSync(join(tmp, 'builtin-json.js'),
    `var head = ${J(head)}, t0 = getTime();\n` +
    `require("http").createServer(function (req, res) {\n` +
    `  var m = process.memory(false);\n` +
    `  var body = head + Math.floor(getTime() - t0) + ',"mem":{"used":' + m.usage + ',"free":' + m.free + ',"total":' + m.total +\n` +
    `    ',"unit":"jsvars"},"pool":{"used":1,"total":8}}';\n` +
    `  res.writeHead(200, { ${H}, "Content-Length": body.length });\n  res.end(body);\n}).listen(8082);\n`);
  // The status line and the captured headers, as (c) and (d) write them.
  const top = 'HTTP/1.1 200 OK\r\n' + Object.entries(hdrs).map(([k, v]) => k + ': ' + v + '\r\n').join('');
  writeFileSync(join(tmp, 'minimal.js'),
    `var head = ${J(head)}, t0 = getTime(), RL = /^GET ([!-~]*) HTTP\\/1\\.1\\r\\n/;\n` +
    `require("net").createServer(function (s) {\n  var buf = "";\n  s.on("data", function (d) {\n` +
    `    buf += d;\n    var e = buf.indexOf("\\r\\n\\r\\n");\n    if (e < 0) return;\n` +
    `    var h = buf.substr(0, e + 2);\n    buf = buf.substr(e + 4);\n` +
    `    if (!RL.exec(h) || h.toLowerCase().indexOf("\\r\\nhost:") < 0) return s.end("HTTP/1.1 400 Bad Request\\r\\nContent-Length: 0\\r\\n\\r\\n");\n` +
    `    var m = process.memory(false);\n` +
    `    var body = head + Math.floor(getTime() - t0) + ',"mem":{"used":' + m.usage + ',"free":' + m.free + ',"total":' + m.total +\n` +
    `      ',"unit":"jsvars"},"pool":{"used":1,"total":8}}';\n` +
    `    s.write(${J(top + 'Content-Length: ')} + body.length + "\\r\\n\\r\\n" + body);\n` +
    `  });\n}).listen(8084);\n`);
  const canned = top + 'Content-Length: ' + body.length + '\r\n\r\n' + body;
  writeFileSync(join(tmp, 'canned.js'),
    `var R = ${J(canned)};\n` +
    `require("net").createServer(function (s) { s.on("data", function () { s.write(R); }); }).listen(8083);\n`);

  const servers = [
    { key: 'a', name: '(a) firmware, keep-alive', file: join(ROOT, 'dist/linux/app.js'), port: 8080 },
    { key: 'b', name: '(b) built-in http, same bytes', file: join(tmp, 'builtin.js'), port: 8081 },
    { key: 'b2', name: '(b2) built-in http, same JSON built', file: join(tmp, 'builtin-json.js'), port: 8082 },
    { key: 'c', name: '(c) JS net server, canned', file: join(tmp, 'canned.js'), port: 8083 },
    { key: 'd', name: '(d) leanest JS HTTP server, same JSON', file: join(tmp, 'minimal.js'), port: 8084 },
  ];
  const res = Object.fromEntries(servers.map((s) => [s.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 ? [...servers].reverse() : servers) {
      const p = await start(s.file, s.port);
      procs.push(p);
      wrk(s.port, '/api/status', 1); // warm-up
      const x = wrk(s.port, '/api/status', duration);
      await stop(p, s.port);
      res[s.key].push(x);
      process.stdout.write(`  round ${r + 1} ${s.key}: ${Math.round(x.rps)} req/s${x.non2xx ? `, ${x.non2xx} non-2xx` : ''}${x.errors ? ', socket errors: ' + x.errors : ''}\n`);
    }
  }
  const ratio = (x, y) => median(res[x].map((v, i) => v.rps / res[y][i].rps)).toFixed(2);
  process.stdout.write(`\nGET /api/status (${body.length}-byte body), ${conns} connections (wrk -t2), ${rounds} rounds x ${duration} s, ${espruino}\n`);
  process.stdout.write('server                                    req/s   p50 ms   p99 ms\n');
  for (const s of servers) {
    const xs = res[s.key];
    process.stdout.write(`${s.name.padEnd(38)}${String(Math.round(median(xs.map((x) => x.rps)))).padStart(9)}${median(xs.map((x) => x.p50)).toFixed(3).padStart(9)}${median(xs.map((x) => x.p99)).toFixed(3).padStart(9)}\n`);
  }
  process.stdout.write(`ratios (median of rounds): a/d ${ratio('a', 'd')}   a/b ${ratio('a', 'b')}   a/b2 ${ratio('a', 'b2')}   a/c ${ratio('a', 'c')}   d/b ${ratio('d', 'b')}\n\n`);
  // Where the time goes: tools/bench/parts.ts, built like a firmware and run on the same interpreter.
  const pb = spawnSync(process.execPath, [join(ROOT, 'tools/build.mjs'), '--board', 'linux', '--entry', join(ROOT, 'tools/bench/parts.ts'),
    '--out', join(tmp, 'parts'), '--build', join(tmp, 'parts-build'), '--quiet'], { stdio: 'inherit' });
  if (pb.status) die('tools/bench/parts.ts did not build');
  const parts = spawnSync(espruino, [join(tmp, 'parts/linux/app.js')], { encoding: 'utf8', input: '', timeout: 120000 });
  process.stdout.write((parts.stdout || '').split('\n').filter((l) => / us|per call/.test(l)).join('\n') + '\n');
  // The runtime's whole request, without TCP: tools/bench/path.ts.
  const pp = spawnSync(process.execPath, [join(ROOT, 'tools/build.mjs'), '--board', 'linux', '--entry', join(ROOT, 'tools/bench/path.ts'),
    '--out', join(tmp, 'path'), '--build', join(tmp, 'path-build'), '--quiet'], { stdio: 'inherit' });
  if (pp.status) die('tools/bench/path.ts did not build');
  // In the scratch folder: the firmware's settings (a password, for the signed-in request) go to the flash file there.
  const path = spawnSync(espruino, [join(tmp, 'path/linux/app.js')], { encoding: 'utf8', input: '', timeout: 120000, cwd: tmp });
  process.stdout.write('\nthe whole request in the runtime, on this interpreter:\n' + (path.stdout || '').split('\n').filter((l) => / us /.test(l)).join('\n') + '\n');
} finally {
  cleanup();
}
