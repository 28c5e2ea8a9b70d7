#!/usr/bin/env node
/**
 * Send a built app to a board over HTTP (POST /api/update) and follow it
 * through the restart until it has confirmed itself or the board went back to
 * the previous app (README, "Updates").
 *
 *   node tools/update.mjs --board esp32 --host 192.168.1.40 [--password P] [--key K] [--bundle F] [--timeout S]
 *   node tools/update.mjs --board emulator --host 127.0.0.1:8080      the emulator of `make run`
 *   --check: only check the arguments (make update does this before building)
 *
 * The password and the update key may come from the environment instead
 * (PASSWORD, UPDATE_KEY: what `make update PASSWORD=… UPDATE_KEY=…` sets), so
 * they stay out of the process list. The body is the bundle; X-Update-SHA256
 * its SHA-256; with a key, X-Update-Signature its HMAC-SHA256 under the key.
 *
 * Exit codes: 0 the new app runs, confirmed; 1 the board refused it, went
 * back, or could not be reached; 2 bad arguments or no bundle (nothing sent).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node tools/update.mjs --board NAME --host HOST[:PORT] [--password P] [--key K] [--bundle FILE] [--timeout SECONDS] [--check]';

function fail(code, line) {
  process.stderr.write('update: ' + line + '\n');
  process.exit(code);
}

function say(line) {
  process.stdout.write('update: ' + line + '\n');
}

function parseArgs(argv) {
  const o = { board: '', host: '', password: process.env.PASSWORD || '', key: process.env.UPDATE_KEY || '', bundle: '', timeout: 180, check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) fail(2, a + ' needs a value. ' + USAGE);
      return argv[++i];
    };
    if (a === '--board') o.board = val();
    else if (a === '--host') o.host = val();
    else if (a === '--password') o.password = val();
    else if (a === '--key') o.key = val();
    else if (a === '--bundle') o.bundle = val();
    else if (a === '--timeout') o.timeout = Number(val());
    else if (a === '--check') o.check = true;
    else fail(2, 'unknown argument ' + JSON.stringify(a) + '. ' + USAGE);
  }
  if (!o.board) fail(2, 'no board: make update BOARD=esp32 HOST=…');
  if (!o.host.trim()) fail(2, 'HOST is missing: say where the board is, make update BOARD=' + o.board + ' HOST=192.168.1.40 (its address, or name.local; the emulator of make run: HOST=127.0.0.1:8080)');
  const m = /^(?:http:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?\/?$/.exec(o.host.trim());
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) fail(2, 'HOST ' + JSON.stringify(o.host) + ' is not an address: expected HOST or HOST:PORT, e.g. 192.168.1.40 or espweb.local:80');
  o.hostname = m[1].replace(/^\[|\]$/g, '');
  o.port = m[2] === undefined ? 80 : Number(m[2]);
  o.where = m[1] + (m[2] === undefined ? '' : ':' + m[2]);
  if (!(o.timeout > 0)) fail(2, '--timeout needs a number of seconds');
  if (o.key && (o.key.length < 16 || o.key.length > 64 || !/^[\x20-\x7e]+$/.test(o.key))) fail(2, 'UPDATE_KEY must be 16 to 64 printable ASCII characters (the board\'s update key setting)');
  return o;
}

/** One HTTP exchange: { status, json, text }; rejects with a one-line reason. `body` is sent with `onSent(bytes)` progress. */
function request(o, method, urlPath, headers, body, onSent) {
  return new Promise((resolve, reject) => {
    const h = Object.assign({ Connection: 'close' }, headers);
    if (o.password) h.Authorization = 'Basic ' + Buffer.from('admin:' + o.password).toString('base64');
    if (body) h['Content-Length'] = String(body.length);
    const req = http.request({ host: o.hostname, port: o.port, method, path: urlPath, headers: h, timeout: 30000 }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode, json, text });
      });
      res.on('error', (e) => reject(new Error(e.code || e.message)));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e) => reject(new Error(e.code || e.message)));
    if (!body) return req.end();
    // In pieces, so progress shows what the network has taken.
    let at = 0;
    const next = () => {
      while (at < body.length) {
        const piece = body.subarray(at, Math.min(at + 4096, body.length));
        at += piece.length;
        const more = req.write(piece);
        if (onSent) onSent(at);
        if (!more) return req.once('drain', next);
      }
      req.end();
    };
    next();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What the board says went wrong, in one line. */
function why(r) {
  if (r.json && r.json.error) return r.json.error + (r.json.expected ? ' (expected ' + r.json.expected + ', the board computed ' + r.json.actual + ')' : '');
  return 'HTTP ' + r.status + (r.text ? ': ' + r.text.trim().split('\n')[0].slice(0, 200) : '');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.check) return;
  const bundle = path.resolve(o.bundle || path.join(ROOT, 'dist', o.board, 'app.js'));
  let data;
  try {
    data = fs.readFileSync(bundle);
  } catch {
    fail(2, 'no bundle at ' + path.relative(ROOT, bundle) + ': run make bundle BOARD=' + o.board);
  }
  const id = /^\/\*espweb (\S+) (\S+)\*\//.exec(data.subarray(0, 80).toString('latin1'));
  if (!id) fail(2, path.relative(ROOT, bundle) + ' is not an espweb app bundle (no /*espweb <version> <board>*/ first line)');
  const sha = crypto.createHash('sha256').update(data).digest('hex');

  let before;
  try {
    before = await request(o, 'GET', '/api/update', {});
  } catch (e) {
    fail(1, 'cannot reach ' + o.where + ' (' + e.message + '): is the board on this network?');
  }
  if (before.status === 401) fail(1, o.password ? 'the board refused the password (PASSWORD=…)' : 'the board needs its admin password: make update … PASSWORD=…');
  if (before.status === 429) fail(1, 'the board is refusing sign-ins for a while (too many wrong passwords): ' + why(before));
  if (before.status !== 200 || !before.json || !before.json.running) fail(1, o.where + ' did not answer like an espweb board: ' + why(before));
  const was = before.json;
  if (was.signed && !o.key) fail(1, 'this board takes only signed updates: give its key, UPDATE_KEY=…');
  say(o.where + ' runs ' + was.running.version + ' (' + was.state + '); sending ' + id[1] + ' for ' + id[2] + ', ' + data.length + ' bytes, sha256 ' + sha.slice(0, 16) + '…');

  const headers = { 'Content-Type': 'application/octet-stream', 'X-Update-SHA256': sha };
  if (o.key) headers['X-Update-Signature'] = crypto.createHmac('sha256', Buffer.from(o.key, 'latin1')).update(data).digest('hex');
  let shown = -1;
  const t0 = Date.now();
  let r;
  try {
    r = await request(o, 'POST', '/api/update', headers, data, (n) => {
      const pct = Math.floor((n * 100) / data.length);
      if (pct >= shown + 25 || n === data.length) {
        shown = pct;
        say('sent ' + pct + '% (' + n + ' bytes)');
      }
    });
  } catch (e) {
    fail(1, 'the upload failed (' + e.message + '): the board keeps its app');
  }
  if (r.status !== 200 || !r.json || !r.json.ok) fail(1, 'the board refused the update: ' + why(r));
  say('the board checked ' + r.json.version + ' (' + ((Date.now() - t0) / 1000).toFixed(1) + ' s) and restarts into it on trial');

  // Follow it: down for the restart, up on trial, then confirmed or back.
  const until = Date.now() + o.timeout * 1000;
  let last = '';
  while (Date.now() < until) {
    await sleep(1000);
    let s;
    try {
      s = await request(o, 'GET', '/api/update', {});
    } catch {
      continue; // restarting
    }
    if (s.status !== 200 || !s.json || !s.json.running) continue;
    const j = s.json;
    const now = j.running.version + ' ' + j.state;
    if (now !== last) {
      last = now;
      if (j.state === 'trial') say('up again: ' + j.running.version + ' on trial, confirms itself in ' + j.confirmIn + ' s');
    }
    if (j.state !== 'confirmed') continue;
    if (j.running.slot !== was.running.slot) {
      say(o.where + ' runs ' + j.running.version + ', confirmed');
      return;
    }
    if (j.back) fail(1, 'the board went back to ' + j.back.to + ' (' + j.back.from + ' failed: ' + j.back.why + ')');
  }
  fail(1, 'no confirmed state from ' + o.where + ' within ' + o.timeout + ' s: look at its update page');
}

main().catch((e) => fail(1, String(e && e.message ? e.message : e)));
