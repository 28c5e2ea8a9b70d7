#!/usr/bin/env node
/**
 * Flash a build (the boot loader, the app, the web UI) to a board with the espruino CLI (EspruinoTools, the
 * `espruino` npm package), offline: the board JSON the CLI would download
 * is written from the board profile (build/<board>/board.json).
 *
 *   node tools/flash.mjs --board esp32 --port /dev/ttyUSB0     serial
 *   node tools/flash.mjs --board esp32 --port tcp://192.168.4.1:23   telnet console
 *   node tools/flash.mjs --board esp32 --dry                   what would be sent, to build/esp32/flash.js
 *   node tools/flash.mjs --board esp32 --port P --check        only check the port (make flash does this before building)
 *   option: --image DIR   the flash image to write (default dist/<board>: its flash.json and storage/)
 *
 * What goes to the board: `reset()` (the CLI's, stops the running program),
 * then the build's flash image (tools/build.mjs): every file of its storage/
 * written in chunks to Storage — the boot loader as `.bootcde`, the app in
 * slot `app.0`, the web UI — the erasure of what it lists (the other app slot
 * and the loader's record: the flashed app runs, confirmed) and of `.bootrst`
 * and `.varimg` (either would run instead of / beside `.bootcde`), a line
 * echoing each stored file's size (checked here), then `load()`
 * (`E.reboot()` with --reboot) to start it.
 *
 * Exit codes: 0 done; 1 flashing failed; 2 nothing was sent: bad arguments,
 * missing or wrong PORT, missing flash image, no serial support.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'node_modules', 'espruino', 'bin', 'espruino-cli.js');
/** Bytes of header per Storage file. */
const FILE_HEADER = 32;

const USAGE = 'usage: node tools/flash.mjs --board NAME (--port PORT | --dry) [--image DIR] [--out FILE] [--check] [--reboot] [--timeout SECONDS] [--verbose]';
const PORT_HELP = 'PORT=/dev/ttyUSB0 (serial) or PORT=tcp://192.168.4.1:23 (telnet console)';

/** Stop with a one-line message; `code` 2 means nothing was sent. */
function fail(code, line) {
  process.stderr.write('flash: ' + line + '\n');
  process.exit(code);
}

function parseArgs(argv) {
  const o = { board: '', port: undefined, dry: false, check: false, reboot: false, image: '', out: '', timeout: 0, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) fail(2, a + ' needs a value. ' + USAGE);
      return argv[++i];
    };
    if (a === '--board') o.board = val();
    else if (a === '--port') o.port = val();
    else if (a === '--image') o.image = val();
    else if (a === '--out') o.out = val();
    else if (a === '--timeout') o.timeout = Number(val());
    else if (a === '--dry') o.dry = true;
    else if (a === '--check') o.check = true;
    else if (a === '--reboot') o.reboot = true;
    else if (a === '--verbose') o.verbose = true;
    else fail(2, 'unknown argument ' + JSON.stringify(a) + '. ' + USAGE);
  }
  if (!o.board) fail(2, 'no --board. ' + USAGE);
  if (!(o.timeout >= 0)) fail(2, '--timeout needs a number of seconds');
  return o;
}

/** The board profiles (boards/*.ts), compiled on the fly with esbuild. */
async function loadBoards() {
  const esbuild = await import('esbuild');
  const r = await esbuild.build({
    entryPoints: [path.join(ROOT, 'boards', 'all.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
  });
  const mod = await import('data:text/javascript;base64,' + Buffer.from(r.outputFiles[0].text).toString('base64'));
  return mod.boards;
}

/** Serial device files present, for the error message. */
function serialPorts() {
  try {
    return fs.readdirSync('/dev').filter((n) => /^tty(USB|ACM)\d+$|^cu\.(usb|SLAB|wch)/.test(n)).map((n) => '/dev/' + n);
  } catch {
    return [];
  }
}

/** The serialport class the CLI uses, with its native binding loaded; or a string saying why serial cannot work. */
function serialSupport() {
  try {
    const fromCli = createRequire(path.join(ROOT, 'node_modules', 'espruino', 'package.json'));
    const sp = fromCli('serialport').SerialPort;
    // Loading the bindings package loads the native addon (a prebuilt one where the platform has it).
    createRequire(fromCli.resolve('serialport'))('@serialport/bindings-cpp');
    return sp;
  } catch (e) {
    return (
      'serial support is unavailable (' + String(e && e.message ? e.message : e).split('\n')[0] + '). ' +
      'npm 11 skips dependency install scripts unless approved: run `npm install-scripts approve @serialport/bindings-cpp && npm rebuild @serialport/bindings-cpp`, ' +
      'or flash over the telnet console with PORT=tcp://HOST:23'
    );
  }
}

/** Resolve with '' once `host:port` accepts a TCP connection, or with the reason it does not. */
function probeTcp(host, port, ms) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (why) => {
      clearTimeout(t);
      s.destroy();
      resolve(why);
    };
    const t = setTimeout(() => done('no answer within ' + ms / 1000 + ' s'), ms);
    s.once('connect', () => done(''));
    s.once('error', (e) => done(e.code || e.message));
  });
}

/** Check PORT before anything is built or sent: { kind: 'serial'|'tcp', name }. Exits 2 on a bad one. */
async function checkPort(port, board) {
  if (port === undefined || port.trim() === '') {
    const here = serialPorts();
    fail(2, 'PORT is missing: say which port the board is on, make flash BOARD=' + board.name + ' PORT=… (' + (here.length ? 'serial ports here: ' + here.join(' ') : 'no serial ports found: is the board plugged in?') + '); ' + PORT_HELP);
  }
  port = port.trim();
  if (/^tcp:/i.test(port)) {
    const m = /^tcp:\/\/([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(port);
    const tport = m && m[2] !== undefined ? Number(m[2]) : 23;
    if (!m || tport < 1 || tport > 65535) fail(2, 'PORT ' + JSON.stringify(port) + ' is not a telnet address: expected tcp://HOST[:PORT], e.g. tcp://192.168.4.1:23');
    if (board.espruino.info.builtin_modules.indexOf('TelnetServer') < 0)
      process.stderr.write('flash: warning: the ' + board.name + ' interpreter build has no TelnetServer; flash it over serial if this fails\n');
    const why = await probeTcp(m[1], tport, 5000);
    if (why) fail(2, 'cannot reach ' + m[1] + ':' + tport + ' (' + why + '): is the board on this network with its telnet console up?');
    return { kind: 'tcp', name: 'tcp://' + m[1] + ':' + tport };
  }
  if (process.platform === 'win32' && /^COM\d+$/i.test(port)) return { kind: 'serial', name: port };
  let st;
  try {
    st = fs.statSync(port);
  } catch {
    const here = serialPorts();
    fail(2, 'PORT ' + port + ' does not exist (' + (here.length ? 'serial ports here: ' + here.join(' ') : 'no serial ports found: is the board plugged in?') + '); ' + PORT_HELP);
  }
  if (!st.isCharacterDevice()) fail(2, 'PORT ' + port + ' is not a serial device; ' + PORT_HELP);
  try {
    fs.accessSync(port, fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    fail(2, 'no permission to open ' + port + ': add yourself to its group (e.g. sudo usermod -aG dialout $USER) and log in again');
  }
  const sp = serialSupport();
  if (typeof sp === 'string') fail(2, sp);
  // The CLI opens only a port that serialport.list() reports, by its device name (not a /dev/serial/by-id link).
  const real = fs.realpathSync(port);
  let listed;
  try {
    listed = (await sp.list()).map((p) => p.path);
  } catch (e) {
    fail(2, 'cannot list serial ports (' + (e && e.message ? e.message : e) + '), and the espruino CLI opens only listed ones: on Linux it needs udevadm (the udev package); or use PORT=tcp://HOST:23');
  }
  if (listed.indexOf(real) < 0) fail(2, 'PORT ' + port + ' is not a serial port the system lists (' + (listed.length ? listed.join(' ') : 'none listed') + '); ' + PORT_HELP);
  return { kind: 'serial', name: real };
}

/** Write the board JSON the CLI reads instead of downloading one; returns its path. */
function writeBoardJson(board, dir) {
  const file = path.join(dir, 'board.json');
  fs.writeFileSync(file, JSON.stringify({ info: board.espruino.info, chip: board.espruino.chip }, null, 2) + '\n');
  return file;
}

/** The code sent after the Storage writes: erase what the image lists and what would shadow `.bootcde`, echo each written file's size, start. */
function bootCode(reboot, files, erase) {
  return (
    'var s=require("Storage");' + ['.bootrst', '.varimg'].concat(erase).map((n) => 's.erase(' + JSON.stringify(n) + ');').join('') +
    'print("FLASHED "+' + JSON.stringify(files.map((f) => f.name)) + '.map(function(n){return (s.read(n)||"").length}).join(","));' +
    (reboot ? 'E.reboot();' : 'load();') +
    '\n'
  );
}

/** Run the CLI; resolves { code, out } (stdout and stderr interleaved) or rejects on timeout. */
function runCli(args, timeoutS, echo) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI].concat(args), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d) => {
      const s = d.toString('latin1');
      out += s;
      if (echo) process.stdout.write(s);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('no result within ' + timeoutS + ' s'));
    }, timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code === null ? 1 : code, out });
    });
  });
}

/** The first line of `out` (CLI and device output) that shows something went wrong, or ''. */
function failure(out, re) {
  for (const l of out.split(/\r?\n/)) if (re.test(l)) return l.replace(/^--\]\s*/, '').trim();
  return '';
}
/** Signs that the upload itself failed (before the board echoed the stored size). */
const UPLOAD_FAILED = /Unable to connect|RECEIVE ERROR|Prompt not detected|No Ports Found|Uncaught|^\s*Error\b|Error: /;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  let boards;
  try {
    boards = await loadBoards();
  } catch (e) {
    fail(2, 'cannot load the board profiles: ' + String(e && e.message ? e.message : e).split('\n')[0]);
  }
  const board = boards.filter((b) => b.name === o.board)[0];
  if (!board) fail(2, 'unknown board ' + JSON.stringify(o.board) + ' (boards: ' + boards.map((b) => b.name).join(', ') + ')');
  if (!board.espruino) fail(2, 'board ' + board.name + ' is not flashed: run its bundle directly (dist/' + board.name + '/app.js)');

  const dir = path.join(ROOT, 'build', board.name);
  fs.mkdirSync(dir, { recursive: true });
  const boardJson = writeBoardJson(board, dir);

  const port = o.dry ? null : await checkPort(o.port, board);
  if (o.check) return;

  // The flash image the build made (tools/build.mjs): flash.json says what to write from storage/ and what to erase.
  const image = path.resolve(o.image || path.join(ROOT, 'dist', board.name));
  let spec;
  try {
    spec = JSON.parse(fs.readFileSync(path.join(image, 'flash.json'), 'utf8'));
  } catch {
    fail(2, 'no flash image at ' + path.relative(ROOT, image) + ' (its flash.json): run make bundle BOARD=' + board.name);
  }
  const stDir = path.join(image, 'storage');
  const files = spec.write.map((n) => ({ name: n, file: path.join(stDir, n), size: fs.existsSync(path.join(stDir, n)) ? fs.statSync(path.join(stDir, n)).size : -1 }));
  const missing = files.filter((f) => f.size < 0);
  if (missing.length) fail(2, 'the flash image ' + path.relative(ROOT, image) + ' lacks ' + missing.map((f) => f.name).join(', ') + ': run make bundle BOARD=' + board.name);
  if (files.some((f) => f.size === 0)) fail(2, 'the flash image holds an empty file: ' + files.filter((f) => !f.size).map((f) => f.name).join(', '));
  const sc = board.espruino.chip.saved_code;
  const total = files.reduce((t, f) => t + f.size + FILE_HEADER, 0);
  if (total > sc.pages * sc.page_size) fail(2, 'the flash image (' + total + ' bytes) does not fit the Storage area (' + sc.pages * sc.page_size + ' bytes)');
  const size = total;
  const boot = path.join(dir, 'boot.js');
  fs.writeFileSync(boot, bootCode(o.reboot, files, spec.erase));
  const out = path.resolve(o.out || path.join(dir, 'flash.js'));
  const rel = (p) => path.relative(ROOT, p) || '.';
  // The CLI splits `--storage NAME:FILE` at ':' and takes only file names with ".js" for -o: keep the paths relative.
  const args = ['--no-ble', '--board', rel(boardJson)];
  for (const f of files) args.push('--storage', f.name + ':' + rel(f.file));
  args.push(rel(boot), '-o', rel(out));
  if (o.dry) args.unshift('-n');
  else {
    args.unshift('-p', port.name);
    if (port.kind === 'serial') args.unshift('-b', String(board.espruino.info.default_console_baudrate));
  }
  if (o.verbose) args.unshift('-v');

  let r;
  try {
    // A 115200-baud line carries ~10 KB/s; the base64 text is 4/3 of the bundle; flash writes on the board add more.
    r = await runCli(args, o.timeout || (o.dry ? 60 : 60 + Math.ceil(size / 500)), !o.dry || o.verbose);
  } catch (e) {
    fail(1, (o.dry ? 'the espruino CLI' : port.name) + ' gave ' + e.message + (o.dry ? '' : ': is the board answering on its console?'));
  }
  const echo = r.out.search(/FLASHED \d+/);
  const bad = failure(echo < 0 ? r.out : r.out.slice(0, echo), UPLOAD_FAILED);
  if (r.code !== 0 || bad) fail(1, (bad || 'the espruino CLI exited with code ' + r.code) + (o.verbose ? '' : ' (--verbose for the whole log)'));
  if (o.dry) {
    process.stdout.write('flash: wrote ' + rel(out) + ' (' + fs.statSync(out).size + ' bytes): what make flash sends after reset(), the image ' + rel(image) + ': ' +
      files.map((f) => f.name + ' (' + f.size + ')').join(', ') + '; erases ' + spec.erase.join(', ') + '\n');
    return;
  }
  const m = /FLASHED ([\d,]+)/.exec(r.out);
  if (!m) fail(1, 'the board did not confirm the write (no "FLASHED" line from ' + port.name + ')');
  const got = m[1].split(',').map(Number);
  files.forEach((f, i) => {
    if (got[i] !== f.size) fail(1, 'the board stored ' + (got[i] === undefined ? 'nothing' : got[i] + ' bytes') + ' of ' + f.name + ', expected ' + f.size);
  });
  const crash = failure(r.out.slice(echo), /Uncaught/);
  if (crash) fail(1, 'flashed and started, but the firmware reported: ' + crash);
  process.stdout.write('flash: ' + board.name + ' on ' + port.name + ': ' + files.map((f) => f.name).join(', ') + ' (' + size + ' bytes with their headers), started with ' + (o.reboot ? 'E.reboot()' : 'load()') + '\n');
}

main().catch((e) => fail(1, String(e && e.stack ? e.message : e)));
