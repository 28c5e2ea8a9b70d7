#!/usr/bin/env node
// @ts-check
/**
 * Run a firmware bundle in the emulator:
 *   node emulator/cli.js --bundle dist/emulator/app.js --port 8080 --data .data/emulator
 * Prints the address it serves on; the device console goes to stdout; lines
 * typed on a terminal are evaluated in the device, as on its console.
 */
'use strict';
const path = require('path');
const readline = require('readline');
const { startEmulator } = require('./index');

const HELP = `usage: node emulator/cli.js [options]
  --bundle FILE     firmware bundle to flash and boot (default: boot what Storage holds)
  --port N          host port for the firmware's port 80/8080 listener (default 8080, 0 = any)
  --dns-port N      host UDP port for the device's UDP port 53, its DNS (default 5353, 0 = any)
  --data DIR        folder of the Storage image, kept across runs (default .data/emulator)
  --board NAME      esp32 | esp32c3 | esp32s3 | emulator (default esp32)
  --wifi FILE       JSON: { "networks": [{ "ssid", "password", "rssi", "channel" }], "scanMs": 1500 }
  --boot MODE       storage (default: like a flashed board) | ram (like code uploaded to RAM)
  --host ADDR       host address to listen on (default 127.0.0.1)
  --check MODE      error | warn | off: code Espruino 2v29 cannot run (default error)
  --prefix TEXT     prefix of console lines (default none)
  --remote          let the device's outgoing connections and UDP sends leave this machine (an MQTT broker
                    on your network); without it they reach loopback only
  --quiet           do not echo the device console
  --help`;

/** @param {string[]} argv */
function parse(argv) {
  /** @type {Record<string, string | boolean>} */
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--')) throw new Error('unexpected argument ' + k);
    const eq = k.indexOf('=');
    if (eq > 0) a[k.slice(2, eq)] = k.slice(eq + 1);
    else if (k === '--quiet' || k === '--help' || k === '--remote') a[k.slice(2)] = true;
    else {
      if (i + 1 >= argv.length) throw new Error(k + ' needs a value');
      a[k.slice(2)] = argv[++i];
    }
  }
  return a;
}

async function main() {
  let a;
  try {
    a = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(/** @type {Error} */ (e).message + '\n' + HELP + '\n');
    process.exit(2);
  }
  if (a.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const known = ['bundle', 'port', 'dns-port', 'data', 'board', 'wifi', 'boot', 'host', 'check', 'prefix', 'quiet', 'remote'];
  for (const k of Object.keys(a)) if (!known.includes(k)) {
    process.stderr.write('unknown option --' + k + '\n' + HELP + '\n');
    process.exit(2);
  }
  const port = a.port === undefined ? 8080 : Number(a.port);
  if (!(port >= 0 && port < 65536)) {
    process.stderr.write('bad --port\n');
    process.exit(2);
  }
  const dnsPort = a['dns-port'] === undefined ? 5353 : Number(a['dns-port']);
  if (!(dnsPort >= 0 && dnsPort < 65536 && Math.floor(dnsPort) === dnsPort)) {
    process.stderr.write('bad --dns-port\n');
    process.exit(2);
  }
  const str = (/** @type {string | boolean | undefined} */ v) => (typeof v === 'string' ? v : undefined);
  let emu;
  /** @param {number} dns */
  const start = (dns) =>
    startEmulator({
      bundle: str(a.bundle) && path.resolve(/** @type {string} */ (a.bundle)),
      port,
      dnsPort: dns,
      data: path.resolve(str(a.data) || '.data/emulator'),
      board: str(a.board),
      wifi: str(a.wifi) && path.resolve(/** @type {string} */ (a.wifi)),
      boot: /** @type {any} */ (str(a.boot)),
      host: str(a.host),
      check: /** @type {any} */ (str(a.check)),
      prefix: str(a.prefix),
      quiet: !!a.quiet,
      allowRemote: !!a.remote,
    });
  try {
    try {
      emu = await start(dnsPort);
    } catch (e) {
      // The default DNS port is mDNS's (5353): where avahi or mDNSResponder holds it, take any free one and say which.
      if (a['dns-port'] !== undefined || !/device UDP port 53\b/.test(String(/** @type {Error} */ (e).message || e))) throw e;
      process.stderr.write('emulator: UDP port 5353 is taken (mDNS?): the DNS uses a free port instead (--dns-port N to choose)\n');
      emu = await start(0);
    }
  } catch (e) {
    const msg = String(/** @type {Error} */ (e).message || e);
    const dns = /device UDP port 53\b/.test(msg);
    process.stderr.write('emulator: ' + msg + (dns ? ' (the DNS port: pass --dns-port N, or make run DNS_PORT=N; 0 = any free port)' : '') + '\n');
    process.exit(1);
  }
  const e = emu;
  if (e.port) process.stdout.write('Serving on ' + e.url + '\n');
  else process.stdout.write('The firmware opened no listener (yet).\n');
  if (e.udpPorts[53]) process.stdout.write('DNS on udp://' + (str(a.host) || '127.0.0.1') + ':' + e.udpPorts[53] + '\n');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await e.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (process.stdin.isTTY) {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: false });
    rl.on('line', (line) => {
      if (!line.trim()) return;
      try {
        const r = e.eval(line);
        process.stdout.write('=' + (typeof r === 'string' ? JSON.stringify(r) : String(r)) + '\n');
      } catch (err) {
        process.stdout.write('Uncaught ' + String(err) + '\n');
      }
    });
    rl.on('close', stop);
  }
}

main();
