#!/usr/bin/env node
/**
 * One benchmark server, in its own process so it gets its own core while the
 * load generator (tools/bench.mjs) runs in another. Prints one JSON line
 * `{"port":N}` once it listens on 127.0.0.1, then serves until killed or
 * until its parent goes; answers the IPC message "cpu" with its
 * process.cpuUsage().
 *
 *   node tools/bench/serve.mjs emu BUNDLE        the bundle in the emulator (board "emulator")
 *   node tools/bench/serve.mjs http CANNED.json  Node's http module: the captured responses
 *   node tools/bench/serve.mjs net CANNED.json   a bare net server writing the captured bytes (the ceiling)
 *
 * BENCH_EMULATOR=DIR: use that copy of emulator/ instead of the repository's
 * (e.g. `git archive <commit> emulator | tar -x -C build/old`, then
 * BENCH_EMULATOR=build/old/emulator make bench), to measure an emulator change.
 *
 * CANNED.json: { "<path>": { "raw": base64 of the whole response, "status": n,
 * "headers": [[name, value], ...], "body": base64 } }, captured from the emulator.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import http from 'node:http';
import net from 'node:net';

const require = createRequire(import.meta.url);
const [kind, arg] = process.argv.slice(2);

function ready(port) {
  process.stdout.write(JSON.stringify({ port }) + '\n');
}

// The bench asks for this process's CPU time around each run (server CPU per request); gone parent, gone server.
process.on('message', (m) => {
  if (m === 'cpu' && process.send) process.send(process.cpuUsage());
});
process.on('disconnect', () => process.exit(0));

function canned() {
  const j = JSON.parse(readFileSync(arg, 'utf8'));
  const out = {};
  for (const p of Object.keys(j)) {
    out[p] = { raw: Buffer.from(j[p].raw, 'base64'), status: j[p].status, headers: j[p].headers, body: Buffer.from(j[p].body, 'base64') };
  }
  return out;
}

if (kind === 'emu') {
  // BENCH_EMULATOR=DIR runs another copy of emulator/ (an older commit's, to compare).
  const { startEmulator } = require(process.env.BENCH_EMULATOR ? resolve(process.env.BENCH_EMULATOR) : '../../emulator');
  const emu = await startEmulator({ bundle: arg, port: 0, board: 'emulator', quiet: true });
  ready(emu.port);
} else if (kind === 'http') {
  const c = canned();
  const flat = {};
  // writeHead with a flat [name, value, ...] list keeps the names' case and order as captured.
  for (const p of Object.keys(c)) flat[p] = c[p].headers.flat();
  const srv = http.createServer((req, res) => {
    const r = c[req.url];
    if (!r) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.sendDate = false;
    res.writeHead(r.status, flat[req.url]);
    res.end(r.body);
  });
  // No Date and no Keep-Alive header: the only byte Node adds to the captured response is "Connection: keep-alive".
  srv.keepAliveTimeout = 0;
  srv.listen(0, '127.0.0.1', () => ready(srv.address().port));
} else if (kind === 'net') {
  const c = canned();
  const paths = Object.keys(c);
  const srv = net.createServer({ noDelay: true }, (s) => {
    let pend = '';
    s.setEncoding('latin1');
    s.on('data', (d) => {
      pend += d;
      for (;;) {
        const e = pend.indexOf('\r\n\r\n');
        if (e < 0) break;
        const sp = pend.indexOf(' ');
        const target = pend.substring(sp + 1, pend.indexOf(' ', sp + 1));
        pend = pend.substr(e + 4);
        const r = c[target] || c[paths[0]];
        s.write(r.raw);
      }
    });
    s.on('error', () => {});
  });
  srv.listen(0, '127.0.0.1', () => ready(srv.address().port));
} else {
  process.stderr.write('usage: serve.mjs emu BUNDLE | http CANNED.json | net CANNED.json\n');
  process.exit(2);
}
