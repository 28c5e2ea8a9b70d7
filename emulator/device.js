// @ts-check
/**
 * The emulated board: its flash (Storage), radio and network stack outlive
 * each life of the interpreter (a Runtime); boot() starts a new life and runs
 * what the device runs at power-on, reset() or load().
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');
const { resolveBoard } = require('./boards');
const { Flash, nameField, strBytes, u8 } = require('./flash');
const { Net } = require('./net');
const { WifiSim } = require('./wifi');
const { Runtime } = require('./runtime');
const { check } = require('./check');

/** Modules this emulator implements (others of the board's list exist on the device but are not emulated). */
const EMULATED = new Set(['net', 'dgram', 'Storage', 'Wifi', 'crypto', 'TelnetServer']);

class Device {
  /** @param {import('./index').EmulatorOptions} opts */
  constructor(opts) {
    this.opts = opts;
    this.board = resolveBoard(opts.board);
    if (opts.storageSize) this.board.storage = opts.storageSize;
    /** @type {string[]} */
    this.logs = [];
    /** @type {string[]} */
    this.errors = [];
    this.prefix = opts.prefix === undefined ? '' : opts.prefix;
    this.serial = '240ac4123456';
    this.t0 = performance.now();
    this.clockOffset = 0;
    this.flash = new Flash({ file: opts.data ? path.join(opts.data, 'storage.bin') : undefined, size: this.board.storage, pageSize: this.board.pageSize });
    /** @type {Record<number, number>} */
    const portMap = {};
    if (opts.port !== undefined) {
      portMap[80] = opts.port;
      portMap[8080] = opts.port;
    }
    Object.assign(portMap, opts.portMap || {});
    // UDP: the device's DNS port 53 goes to `dnsPort` (any free port by default); other ports as `udpPortMap` says.
    /** @type {Record<number, number>} */
    const udpPortMap = Object.assign({ 53: opts.dnsPort === undefined ? 0 : opts.dnsPort }, opts.udpPortMap || {});
    this.net = new Net({ board: this.board, host: opts.host || '127.0.0.1', portMap, udpPortMap, allowRemote: !!opts.allowRemote, print: (s) => this.print(s) });
    let wifi = opts.wifi;
    if (typeof wifi === 'string') wifi = JSON.parse(fs.readFileSync(wifi, 'utf8'));
    if (Array.isArray(wifi)) wifi = { networks: wifi };
    this.wifi = new WifiSim(/** @type {import('./wifi').WifiOptions | undefined} */ (wifi), this.flash, this.board);
    this.epoch = 0;
    /** @type {Runtime | null} */
    this.rt = null;
    /** Code uploaded to RAM (boot: 'ram'): runs once, lost at the next reset like on the device. @type {string | null} */
    this.ramCode = null;
    this.restarting = false;
    this.stopped = false;
    this.check = check;
  }

  /** The device console: one line per log entry, echoed to the host. @param {string} text */
  print(text) {
    for (const line of String(text).split('\n')) {
      this.logs.push(line);
      if (this.logs.length > 20000) this.logs.splice(0, 10000);
      if (this.opts.log) this.opts.log(line);
      else if (!this.opts.quiet) process.stdout.write(this.prefix + line + '\n');
    }
  }

  /** Device clock in ms: 0 at power-on of the emulator, moved by setTime(). */
  clockMs() {
    return performance.now() - this.t0 + this.clockOffset;
  }

  /** @param {number} sec */
  setTime(sec) {
    this.clockOffset = sec * 1000 - (performance.now() - this.t0);
  }

  env() {
    return {
      VERSION: '2v29', GIT_COMMIT: 'emulator', BOARD: this.board.name, RAM: 524288, FLASH: 0, STORAGE: this.board.storage,
      SERIAL: this.serial, CONSOLE: 'Serial1', MODULES: this.board.modules.join(','), EXPTR: 0,
    };
  }

  /** @param {string} name @returns {'builtin' | 'unemulated' | false} */
  moduleKind(name) {
    if (!this.board.modules.includes(name)) return false;
    return EMULATED.has(name) ? 'builtin' : 'unemulated';
  }

  /**
   * The telnet console's mode: 'on' from every boot/reset/load (2v29's init sets it, kill clears it) until
   * TelnetServer.setOptions changes it; always 'off' on a board without TelnetServer (ESP32-C3).
   * @returns {'on' | 'off'}
   */
  telnet() {
    return this.rt ? this.rt.telnetMode : 'off';
  }

  /** E.setBootCode: erase .bootcde and .bootrst, write one of them. @param {string | undefined} code @param {boolean} always */
  setBootCode(code, always) {
    this.flash.erase(nameField('.bootcde'));
    this.flash.erase(nameField('.bootrst'));
    if (code === undefined || !code.length) return;
    this.flash.write(nameField(always ? '.bootrst' : '.bootcde'), strBytes(code), 0, 0, 0);
  }

  /** @param {string} name */
  file(name) {
    const b = this.flash.read(nameField(name));
    return b ? b.toString('latin1') : null;
  }

  /**
   * Start a new life of the interpreter and run what the device would run.
   * @param {'power' | 'reset' | 'load' | { file: string }} kind
   * @returns {boolean} false if a boot file failed
   */
  boot(kind) {
    if (this.rt) this.rt.kill();
    if (kind === 'power') this.wifi.powerOn();
    const rt = new Runtime(this, ++this.epoch);
    this.rt = rt;
    let ok = true;
    if (kind === 'power') {
      const c = this.file('.bootPowerOn');
      if (c !== null) ok = rt.run('.bootPowerOn', c, true) && ok;
    }
    for (let i = 0; i < 4; i++) {
      const c = this.file('.boot' + i);
      if (c !== null) ok = rt.run('.boot' + i, c, true) && ok;
    }
    if (typeof kind === 'object') {
      const c = this.file(kind.file);
      if (c === null) this.print('ERROR: File ' + JSON.stringify(kind.file) + ' not found');
      else ok = rt.run(kind.file, c, true) && ok;
    } else if (this.ramCode !== null) {
      ok = rt.run(this.opts.bundle ? path.basename(this.opts.bundle) : 'code', this.ramCode, false) && ok;
      this.ramCode = null;
    } else {
      const rst = this.file('.bootrst');
      if (rst !== null) ok = rt.run('.bootrst', rst, true) && ok;
      else if (kind !== 'reset') {
        const c = this.file('.bootcde');
        if (c !== null) ok = rt.run('.bootcde', c, true) && ok;
      }
    }
    const init = rt.lis(rt.P.E, 'init');
    if (init) rt.loop.queue(rt.P.E, init, []);
    rt.loop.kick();
    return ok;
  }

  /** reset()/load()/E.reboot() from the firmware: done once the current code has returned. @param {'power' | 'reset' | 'load' | { file: string }} kind */
  requestRestart(kind) {
    if (this.restarting || this.stopped) return;
    this.restarting = true;
    if (this.rt) this.rt.loop.stop();
    setImmediate(() => {
      this.restarting = false;
      if (!this.stopped) this.boot(kind);
    });
  }

  /**
   * Write the flash image the build put next to the bundle (dist/<board>/flash.json and storage/: the boot loader,
   * the app in its slot, the UI), as `make flash` does, erasing what it lists. An image already in place is left
   * alone, whatever the board did since (an update it took, its record): a restart with the same build is a power
   * cycle, not a new flash.
   * @param {string} dir @param {{ write: string[], erase: string[] }} image
   */
  flashImage(dir, image) {
    const files = image.write.map((n) => ({ n, data: fs.readFileSync(path.join(dir, 'storage', n)) }));
    if (files.every((f) => { const cur = this.flash.read(nameField(f.n)); return cur && cur.equals(u8(f.data)); })) return;
    this.flash.erase(nameField('.bootrst'));
    for (const n of image.erase) this.flash.erase(nameField(n));
    for (const f of files) {
      const cur = this.flash.read(nameField(f.n));
      if (!cur || !cur.equals(u8(f.data))) this.flash.write(nameField(f.n), f.data, 0, 0, 0);
    }
  }

  /** @returns {Promise<void>} */
  async start() {
    const o = this.opts;
    let code = o.code;
    if (code === undefined && o.bundle) code = fs.readFileSync(o.bundle, 'latin1');
    if (code !== undefined) {
      const found = (o.check || 'error') === 'off' ? [] : check(code).filter((f) => f.fatal);
      if (found.length && (o.check || 'error') === 'error') {
        const name = o.bundle ? path.basename(o.bundle) : 'code';
        throw new Error('the bundle uses what Espruino 2v29 cannot run:\n' + found.map((f) => name + ':' + f.line + ':' + (f.column + 1) + ': ' + f.what).join('\n'));
      }
      const image = o.bundle && (o.boot || 'storage') === 'storage' && !o.bootFile ? path.join(path.dirname(o.bundle), 'flash.json') : '';
      if ((o.boot || 'storage') === 'ram') this.ramCode = code;
      else if (image && fs.existsSync(image)) this.flashImage(path.dirname(/** @type {string} */ (o.bundle)), JSON.parse(fs.readFileSync(image, 'utf8')));
      else {
        const bootFile = o.bootFile || '.bootcde';
        // Flashing the same bundle again changes nothing (Storage.write of identical data is a no-op on the device too).
        if (this.file(bootFile) === code && this.file('.bootrst') === null) {
          /* already flashed */
        } else if (bootFile === '.bootcde') this.setBootCode(code, false);
        else this.flash.write(nameField(bootFile), strBytes(code), 0, 0, 0);
      }
    }
    const errs = this.errors.length;
    // The host port of the device's DNS port is taken before boot, so it is known (and printed) whatever the
    // firmware does, and a port already taken on the host fails the start like a TCP one.
    this.net.udp.hostPort(53);
    this.boot('power');
    await this.settled();
    if (o.failOnBootError && this.errors.length > errs) throw new Error('boot failed: ' + this.errors.slice(errs).join('\n'));
  }

  /**
   * Resolves once the boot has settled: what the boot code queued to run at once (a boot loader starts its app
   * from a `setTimeout(fn, 0)`) has run, and the listeners opened meanwhile are bound on the host.
   */
  async settled() {
    const until = performance.now() + 5000;
    const rt = this.rt;
    while (rt && !rt.dead && performance.now() < until && (rt.loop.scheduled || rt.loop.running || rt.loop.events.length || rt.loop.hasDueTimer())) {
      await new Promise((r) => setImmediate(r));
    }
    await this.net.ready();
  }

  /** Host port serving the firmware's main listener (device port 80 or 8080 first, else the first bound). */
  mainPort() {
    const t = this.net.portTable();
    if (t[80]) return t[80];
    if (t[8080]) return t[8080];
    const ks = Object.keys(t);
    return ks.length ? t[Number(ks[0])] : 0;
  }

  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.rt) this.rt.kill();
    this.wifi.stop();
    await this.net.stop();
    this.flash.close();
  }
}

module.exports = { Device };
