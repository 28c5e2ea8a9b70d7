#!/usr/bin/env node
/**
 * The emulator and a firmware bundle without sockets: CPU time per request
 * when the host side costs nothing. Fake host sockets (EventEmitters with the
 * few members emulator/net.js uses) are handed to the emulated listener as
 * accepted connections; each sends a request, waits for the whole response
 * (Content-Length), sends the next. No syscall, no client process: what is
 * left is the emulator's loop and shims plus the firmware, so A/B runs of a
 * firmware change are precise to a few percent where loopback runs are not.
 *
 *   node tools/bench/inproc.mjs BUNDLE [--path /api/status] [--n 20000] [--conns 7] [--emulator DIR]
 *
 * (--emulator: another copy of emulator/, to compare two versions of it.)
 *
 * Also a module: `inproc({ bundle, path, n, conns })` resolves to
 * `{ usPerReq, reqPerSec, bytes }` (CPU microseconds of this process per
 * request, requests per wall-clock second, response size).
 */
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

const CL = /\r\ncontent-length: *(\d+)/i;

/** A host socket as far as emulator/net.js uses one; `onWrite` gets what the device sends. */
class FakeSocket extends EventEmitter {
  constructor(onWrite) {
    super();
    this.onWrite = onWrite;
    this.destroyed = false;
    this.writableLength = 0;
  }
  setNoDelay() {}
  pause() {}
  resume() {}
  write(data) {
    this.onWrite(typeof data === 'string' ? data : Buffer.from(data).toString('latin1'));
    return true;
  }
  end() {}
  destroySoon() { this.destroy(); }
  resetAndDestroy() { this.destroy(); }
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    process.nextTick(() => this.emit('close'));
  }
}

/** Run `n` keep-alive GETs of `path` over `conns` fake connections; see the header. */
export async function inproc({ bundle, path = '/api/status', n = 20000, conns = 7, warm = 2000, emulator = '../../emulator' }) {
  const { Device } = require(emulator === '../../emulator' ? '../../emulator/device' : join(resolve(emulator), 'device.js'));
  const dev = new Device({ bundle, port: 0, board: 'emulator', quiet: true });
  await dev.start();
  const hp = dev.net.ports.get(8080) || dev.net.ports.get(80);
  if (!hp) throw new Error('the bundle listens on neither port 80 nor 8080');
  const req = Buffer.from('GET ' + path + ' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1');
  let sent = 0;
  let done = 0;
  let goal = 0;
  let bytes = 0;
  let finish = () => {};
  const socks = [];
  for (let i = 0; i < conns; i++) {
    // What the device sent, as the latin1 strings net.js writes; `need` is the length of the response in it, once known.
    let buf = '';
    let need = 0;
    const fs = new FakeSocket((d) => {
      buf += d;
      for (;;) {
        if (!need) {
          const he = buf.indexOf('\r\n\r\n');
          if (he < 0) return;
          const m = CL.exec(buf.substring(0, he));
          if (!m) throw new Error('response without Content-Length: ' + buf.substring(0, he));
          need = he + 4 + Number(m[1]);
        }
        if (buf.length < need) return;
        bytes = need;
        buf = buf.substring(need);
        need = 0;
        done++;
        if (done >= goal) finish();
        else if (sent < goal) next(fs);
      }
    });
    socks.push(fs);
    dev.net.onConnection(hp, /** @type {any} */ (fs));
  }
  // The next request goes out after the emulator's current turn, as a host socket's data would.
  const next = (fs) => {
    sent++;
    process.nextTick(() => fs.emit('data', req));
  };
  const round = (count) =>
    new Promise((res) => {
      sent = done = 0;
      goal = count;
      finish = res;
      for (const fs of socks) if (sent < goal) next(fs);
    });
  await round(warm);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await round(n);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  for (const fs of socks) fs.emit('end');
  await dev.stop();
  return { usPerReq: (c.user + c.system) / n, reqPerSec: n / wall, bytes };
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const a = process.argv.slice(2);
  const o = { bundle: a[0] };
  for (let i = 1; i < a.length; i++) {
    if (a[i] === '--path') o.path = a[++i];
    else if (a[i] === '--n') o.n = Number(a[++i]);
    else if (a[i] === '--conns') o.conns = Number(a[++i]);
    else if (a[i] === '--emulator') o.emulator = a[++i];
  }
  if (!o.bundle) {
    process.stderr.write('usage: node tools/bench/inproc.mjs BUNDLE [--path /api/status] [--n 20000] [--conns 7] [--emulator DIR]\n');
    process.exit(2);
  }
  const r = await inproc(o);
  process.stdout.write(o.bundle + ' ' + (o.path || '/api/status') + ': ' + r.usPerReq.toFixed(2) + ' us CPU per request, ' + Math.round(r.reqPerSec) + ' req/s, ' + r.bytes + ' bytes each\n');
}
