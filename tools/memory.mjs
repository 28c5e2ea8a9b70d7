#!/usr/bin/env node
/**
 * Memory of a firmware bundle in the emulator, held to a board's JsVars:
 * `process.memory()` after boot from Storage, and the peak during a page load
 * (the UI's files, then what the UI asks for when it opens, signed in, as many
 * requests at once as the board has slots), and the peak while an app update
 * of 20 KB and of 60 KB streams in (with its upload time: the upload path's
 * throughput; the checksum sent is wrong on purpose, so the board stores and
 * checks the whole file but does not restart). Runs in its own process: the
 * emulator's estimate reads closure scopes through the V8 inspector, which a
 * test runner's sandbox hides. With `--mqtt`, last: the board connected to that
 * broker (its MQTT settings put through the API), once its discovery messages
 * are out.
 *
 *   node tools/memory.mjs --bundle dist/esp32c3/app.js --board esp32c3 [--slots 3] [--mqtt mqtt://user:pass@host:port] [--json]
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { startEmulator } = require('../emulator');

const PASSWORD = 'memory-probe';
const PAGE = ['/', '/app.css', '/app.js', '/api/status', '/api/schema', '/api/config'];
/** Sizes of the update uploads measured, bytes. */
const UPLOADS = [20000, 60000];

/** { boot: process.memory() after boot, peak: most vars used during the page load, statuses } */
export async function measure({ bundle, board, slots, mqtt }) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'espweb-mem-'));
  const emu = await startEmulator({ bundle, port: 0, board, data, memoryTtl: 0, quiet: true });
  try {
    const boot = emu.memory();
    const base = emu.url;
    const r = await fetch(base + '/api/password', { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ password: PASSWORD }) });
    if (r.status !== 200) throw new Error('setting the password failed: ' + r.status);
    await r.text();
    const authz = 'Basic ' + Buffer.from('admin:' + PASSWORD).toString('base64');
    let peak = emu.memory().usage;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, emu.memory().usage);
        await new Promise((res) => setTimeout(res, 1));
      }
    })();
    const statuses = [];
    for (let i = 0; i < PAGE.length; i += slots) {
      await Promise.all(
        PAGE.slice(i, i + slots).map(async (p) => {
          const res = await fetch(base + p, { headers: { authorization: authz, connection: 'close' } });
          await res.arrayBuffer();
          statuses.push(res.status);
        }),
      );
    }
    sampling = false;
    await sampler;
    peak = Math.max(peak, emu.memory().usage);
    const idle = emu.memory().usage;
    const id = fs.readFileSync(bundle, 'latin1').split('\n')[0];
    const uploads = [];
    for (const size of UPLOADS) {
      const body = Buffer.from((id + '\n/*' + 'x'.repeat(size)).slice(0, size - 2) + '*/', 'latin1');
      // The firmware's share: the body goes in 1 KB pieces, each given time to reach the flash before the
      // memory is read (what a fast peer has in flight sits in the network stack's buffers on a board).
      const sock = net.connect(emu.port, '127.0.0.1');
      await new Promise((res) => sock.once('connect', res));
      let answer = '';
      sock.on('data', (d) => (answer += d.toString('latin1')));
      sock.on('error', () => {});
      sock.write('POST /api/update HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ' + authz + '\r\nX-Update-SHA256: ' + '0'.repeat(64) + '\r\nContent-Length: ' + size + '\r\nConnection: close\r\n\r\n');
      let up = idle;
      for (let at = 0; at < size; at += 1024) {
        sock.write(body.subarray(at, at + 1024));
        await new Promise((res) => setTimeout(res, 15));
        up = Math.max(up, emu.memory().usage);
      }
      await new Promise((res) => (sock.destroyed ? res() : sock.once('close', res)));
      const status = Number(answer.split(' ')[1]);
      // Timed apart, as fast as the client sends (the wrong checksum: stored and checked whole, no restart).
      const t0 = process.hrtime.bigint();
      await fetch(base + '/api/update', { method: 'POST', headers: { authorization: authz, connection: 'close', 'x-update-sha256': '0'.repeat(64) }, body }).then((r) => r.text());
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      uploads.push({ bytes: size, status, peak: up, above: up - idle, ms: Math.round(ms * 10) / 10, kbps: Math.round(size / 1024 / (ms / 1000)) });
    }
    let broker = null;
    if (mqtt) {
      const u = new URL(mqtt);
      const put = await fetch(base + '/api/config', {
        method: 'PUT',
        headers: { authorization: authz, connection: 'close', 'content-type': 'application/json', origin: base },
        body: JSON.stringify({ mqtt: true, mqttHost: u.hostname, mqttPort: Number(u.port || 1883), mqttUser: decodeURIComponent(u.username), mqttPass: decodeURIComponent(u.password) }),
      });
      if (put.status !== 200) throw new Error('the board took no MQTT settings (' + put.status + ' ' + (await put.text()) + '): is MQTT in this bundle?');
      await put.text();
      const state = async () => (await (await fetch(base + '/api/status', { headers: { authorization: authz, connection: 'close' } })).json()).mqtt;
      const end = Date.now() + 15000;
      let s = await state();
      while (s.state !== 'connected') {
        if (Date.now() > end) throw new Error('the board did not connect to ' + u.host + ': ' + JSON.stringify(s));
        await new Promise((res) => setTimeout(res, 100));
        s = await state();
      }
      await new Promise((res) => setTimeout(res, 1500)); // its discovery messages go out one each 100 ms
      broker = emu.memory().usage;
    }
    return { boot, peak, idle, uploads, mqtt: broker, statuses, errors: emu.errors.slice() };
  } finally {
    await emu.stop();
    fs.rmSync(data, { recursive: true, force: true });
  }
}

async function main() {
  const a = process.argv.slice(2);
  const opt = (k, d) => (a.indexOf(k) >= 0 ? a[a.indexOf(k) + 1] : d);
  const bundle = opt('--bundle');
  const board = opt('--board', 'esp32');
  if (!bundle) {
    process.stderr.write('usage: node tools/memory.mjs --bundle FILE --board esp32|esp32c3 [--slots N] [--mqtt mqtt://user:pass@host:port] [--json]\n');
    process.exit(2);
  }
  const m = await measure({ bundle: path.resolve(bundle), board, slots: Number(opt('--slots', board === 'esp32c3' ? 3 : 6)), mqtt: opt('--mqtt') });
  if (a.indexOf('--json') >= 0) process.stdout.write(JSON.stringify(m) + '\n');
  else
    process.stdout.write(
      board + ': after boot ' + m.boot.usage + ' of ' + m.boot.total + ' vars used (' + m.boot.free + ' free); peak of a page load ' + m.peak + ' (' + (m.boot.total - m.peak) + ' free)\n' +
        m.uploads.map((u) => board + ': update upload of ' + u.bytes + ' B: peak ' + u.peak + ' vars (' + u.above + ' above idle), ' + u.ms + ' ms (' + u.kbps + ' KB/s)').join('\n') + '\n' +
        (m.mqtt === null ? '' : board + ': connected to the MQTT broker: ' + m.mqtt + ' vars used (' + (m.boot.total - m.mqtt) + ' free, ' + (m.mqtt - m.idle) + ' above idle)\n'),
    );
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main().catch((e) => {
    process.stderr.write('memory: ' + (e && e.message ? e.message : e) + '\n');
    process.exit(1);
  });
}
