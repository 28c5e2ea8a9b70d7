// @ts-check
/**
 * One life of the interpreter, from boot to reset: the sandbox context, its
 * idle loop, the natives its prelude calls. A reset()/load()/E.reboot() kills
 * the runtime (timers, events, sockets) and the device starts a new one; the
 * flash, the radio and the host ports outlive it.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { performance } = require('perf_hooks');
const { Loop } = require('./loop');
const { createContext, prune } = require('./sandbox');
const { storageNatives } = require('./storage');
const { argBytes, toStr, crc32, espJSON, latin1Into, WIDE } = require('./convert');
const { Memory, strVars } = require('./memory');
const { WifiError } = require('./wifi');
const { EspError } = require('./flash');
const services = require('./services');

const PRELUDE = fs.readFileSync(path.join(__dirname, 'prelude.js'), 'utf8');

/** @param {unknown} e */
function describe(e) {
  if (e && typeof e === 'object' && 'message' in e) {
    const err = /** @type {any} */ (e);
    const head = (err.name || 'Error') + ': ' + err.message;
    const stack = typeof err.stack === 'string' ? err.stack.split('\n').slice(1).filter((l) => !/emulator[\\/][a-z]+\.js|node:internal/.test(l)).slice(0, 6) : [];
    return stack.length ? head + '\n' + stack.join('\n') : head;
  }
  return String(e);
}

class Runtime {
  /**
   * @param {import('./device').Device} dev
   * @param {number} epoch
   */
  constructor(dev, epoch) {
    this.dev = dev;
    this.epoch = epoch;
    this.dead = false;
    this.codeInFlash = true;
    /** The watchdog's last kick (performance.now() ms) and its check timer in manual mode. */
    this.wdKick = 0;
    /** @type {NodeJS.Timeout | null} */
    this.wdTimer = null;
    this.loop = new Loop({ report: (e) => this.report(e), maxPasses: dev.opts.maxPasses });
    this.ctx = createContext();
    /** @type {any} */
    this.global = vm.runInContext('globalThis', this.ctx);
    /** @type {any} */
    this.P = null;
    /** @type {{ at: number, usage: number, ms: number } | null} */
    this.memCache = null;
    /** @type {NodeJS.Timeout | null} */
    this.memTimer = null;
    /**
     * TelnetServer's mode: jswrap_telnet_init sets it on at every start of the interpreter (power-on, reset(),
     * load()); setOptions changes it for this life only. No board without the module has a telnet console.
     * @type {'on' | 'off'}
     */
    this.telnetMode = dev.board.modules.includes('TelnetServer') ? 'on' : 'off';
    /** @type {import('./services').ChipMemory | null} */
    this.hwMem = null;
    const fn = vm.runInContext(PRELUDE, this.ctx, { filename: 'espruino:prelude' });
    this.N = this.natives();
    this.P = fn.call(this.global, this.N);
    prune(this.ctx);
    this.loop.evalString = (code) => {
      vm.runInContext(code, this.ctx);
    };
    this.memory = new Memory({
      board: dev.board,
      global: this.global,
      codeInFlash: () => this.codeInFlash,
      extraVars: () => this.extraVars(),
      roots: () => this.roots(),
      listenersKey: this.P.L,
      internal: this.N,
      baseline: dev.opts.memoryBaseline,
    });
    this.memory.markBuiltins();
    this.memory.builtin.add(this.P);
    for (const p of this.P.protos) this.memory.builtin.add(p);
    dev.net.attach({
      loop: this.loop,
      err: (t, m) => this.P.mkErr(t, m),
      listenersKey: () => this.P.L,
      newSocket: (id) => this.P.newSocket(id),
      obj: (o) => this.P.JSON.parse(JSON.stringify(o)),
    });
    dev.wifi.attach({
      queue: (self, fns, args) => { if (!this.dead) this.loop.queue(self, fns, args); },
      json: (s) => this.P.JSON.parse(s),
      lis: (o, ev) => this.lis(o, ev),
      epoch,
    });
  }

  /**
   * E.enableWatchdog(t, auto): from now on a host turn that runs longer than `t` seconds (rounded to whole
   * seconds, as on the ESP32) is terminated and the chip restarts; with `auto` false, E.kickWatchdog() must also
   * come within every `t` seconds. As on the device, only a restart turns it off again.
   * @param {number} t @param {boolean} auto
   */
  enableWatchdog(t, auto) {
    const ms = Math.max(1, Math.round(t >= 0 ? t : 1)) * 1000;
    this.wdKick = performance.now();
    const wctx = vm.createContext({ turn: () => {} });
    const script = new vm.Script('turn()');
    this.loop.guard = (turn) => {
      wctx.turn = turn;
      try {
        script.runInContext(wctx, { timeout: ms });
      } catch (e) {
        if (!e || /** @type {any} */ (e).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
        this.watchdogFired(ms);
      }
    };
    if (this.wdTimer) clearInterval(this.wdTimer);
    this.wdTimer = null;
    if (!auto) {
      this.wdTimer = setInterval(() => {
        if (this.dead) {
          if (this.wdTimer) clearInterval(this.wdTimer);
        } else if (performance.now() - this.wdKick > ms) this.watchdogFired(ms);
      }, Math.min(250, ms / 4));
      this.wdTimer.unref();
    }
  }

  /** @param {number} ms */
  watchdogFired(ms) {
    if (this.wdTimer) clearInterval(this.wdTimer);
    this.wdTimer = null;
    this.dev.print('E (' + Math.round(this.dev.clockMs()) + ') task_wdt: Task watchdog got triggered: no return to the idle loop for ' + ms / 1000 + ' s: the chip restarts');
    this.dev.requestRestart('power');
  }

  /** Listeners an object holds for an event (what Espruino would queue now). @param {any} o @param {string} ev */
  lis(o, ev) {
    const m = o && o[this.P.L];
    return m ? m[ev] : undefined;
  }

  /** Print an uncaught exception, or hand it to process.on('uncaughtException'). @param {unknown} e */
  report(e) {
    const fns = this.lis(this.P && this.P.process, 'uncaughtException');
    if (fns) {
      const list = Array.isArray(fns) ? fns.slice() : [fns];
      try {
        for (const f of list) if (typeof f === 'function') f.call(this.P.process, e);
        return;
      } catch (e2) {
        e = e2;
      }
    }
    const d = describe(e);
    this.dev.errors.push(d);
    this.dev.print('Uncaught ' + d);
  }

  /** Sandbox values only the host references: servers, sockets, timer callbacks, queued events, radio callbacks. */
  roots() {
    /** @type {unknown[]} */
    const r = [];
    const net = this.dev.net;
    for (const s of net.servers.values()) r.push(s.obj);
    for (const s of net.socks) r.push(s.obj);
    for (const s of net.udp.socks) r.push(s.obj);
    for (const t of this.loop.timers.values()) r.push(t.fn, t.args);
    for (const e of this.loop.events) {
      if (Array.isArray(e)) r.push(...e);
      else r.push(e);
    }
    const w = this.dev.wifi;
    r.push(w.W, w.scanCb, w.gotIpCb, w.discCb);
    return r;
  }

  /** Vars the host holds for the interpreter: timers, queued events, sockets and their buffers. */
  extraVars() {
    let n = 0;
    for (const t of this.loop.timers.values()) n += 4 + t.args.length;
    n += this.loop.events.length;
    const net = this.dev.net;
    for (const s of net.socks) {
      n += 8;
      if (s.txLen) n += strVars(s.txLen);
      if (s.buf.length) n += strVars(s.buf.length);
    }
    n += 4 * net.servers.size;
    for (const s of net.udp.socks) {
      n += 8;
      // One send string: each queued datagram with its 8-byte header.
      let q = 0;
      for (const d of s.tx) q += d.data.length + 8;
      if (q) n += strVars(q);
    }
    return n;
  }

  /**
   * `process.memory()` figures: [free, usage, total, history, gc, gctime, blocksize]. The first call walks the
   * sandbox; later ones return the last estimate and, once it is older than `memoryTtl`, a new walk runs from a
   * host timer when the network has been quiet for 100 ms (so a load test never stalls on it). `memoryTtl: 0`
   * walks on every call.
   * @param {boolean} gc
   */
  memoryFields(gc) {
    const ttl = this.dev.opts.memoryTtl === undefined ? 1000 : this.dev.opts.memoryTtl;
    if (!this.memCache || ttl <= 0) this.refreshMemory();
    else if (performance.now() - this.memCache.at > ttl) this.scheduleMemoryRefresh();
    const c = /** @type {{ usage: number, ms: number }} */ (this.memCache);
    const total = this.dev.board.vars;
    const usage = Math.min(c.usage, total);
    return [total - usage, usage, total, 0, gc ? 0 : -1, gc ? Math.round(c.ms * 100) / 100 : 0, this.dev.board.blocksize];
  }

  refreshMemory() {
    const t0 = performance.now();
    const usage = this.memory.usage();
    const t1 = performance.now();
    this.memCache = { at: t1, usage, ms: t1 - t0 };
  }

  scheduleMemoryRefresh() {
    if (this.memTimer || this.dead) return;
    const attempt = () => {
      this.memTimer = null;
      if (this.dead || !this.memCache) return;
      const now = performance.now();
      if (now - this.dev.net.lastActivity > 100 || now - this.memCache.at > 30000) this.refreshMemory();
      else {
        this.memTimer = setTimeout(attempt, 100);
        this.memTimer.unref();
      }
    };
    this.memTimer = setTimeout(attempt, 0);
    this.memTimer.unref();
  }

  /** @param {string} name @param {string} code */
  compileModule(name, code) {
    this.checkCode(name, code);
    return new vm.Script('(function (exports, module) {' + code + '\n})', { filename: name }).runInContext(this.ctx);
  }

  /** Throw (as the device's parser would) when the code uses what 2v29 cannot run. @param {string} name @param {string} code */
  checkCode(name, code) {
    const mode = this.dev.opts.check || 'error';
    if (mode === 'off') return;
    const found = this.dev.check(code);
    if (!found.length) return;
    const lines = found.map((f) => name + ':' + f.line + ':' + (f.column + 1) + ': ' + f.what + (f.fatal ? '' : ' (support unknown)'));
    const fatal = found.some((f) => f.fatal);
    if (mode === 'warn' || !fatal) {
      for (const l of lines) this.dev.print('WARNING: ' + l);
      return;
    }
    throw this.P.mkErr('SyntaxError', 'code Espruino 2v29 cannot run:\n' + lines.join('\n'));
  }

  /**
   * Evaluate a program (boot code, a Storage file) in the global scope.
   * @param {string} name @param {string} code @param {boolean} fromFlash
   * @returns {boolean} false if it threw
   */
  run(name, code, fromFlash) {
    if (!fromFlash) this.codeInFlash = false;
    try {
      this.checkCode(name, code);
      new vm.Script(code, { filename: name }).runInContext(this.ctx);
      return true;
    } catch (e) {
      this.report(e);
      return false;
    }
  }

  /** The natives the prelude calls (see prelude.js). */
  natives() {
    const dev = this.dev;
    const net = dev.net;
    const loop = this.loop;
    const P = () => this.P;
    return Object.assign(storageNatives(dev.flash, P, (/** @type {ArrayBuffer} */ b) => this.memory.flashBacked.add(b)), {
      info: { version: '2v29', env: JSON.stringify(dev.env()), serial: dev.serial },
      /** @param {string} s */
      out: (s) => dev.print(s),
      /** @param {unknown} e */
      report: (e) => this.report(e),
      clock: () => dev.clockMs(),
      /** @param {number} t */
      setTime: (t) => dev.setTime(t),
      /** @param {Function} fn @param {number} ms @param {unknown[]} args @param {boolean} rep */
      tAdd: (fn, ms, args, rep) => loop.addTimer(fn, ms, args, rep),
      /** @param {unknown} id */
      tClear: (id) => loop.clearTimer(id),
      tClearAll: () => loop.clearAllTimers(),
      /** @param {unknown} id @param {number} ms */
      tChange: (id, ms) => loop.changeInterval(id, ms),
      /** @param {unknown} o @param {unknown} fns @param {unknown[]} args */
      queue: (o, fns, args) => loop.queue(o, fns, args),
      /** @param {unknown[]} args */
      toStr: (args) => toStr(args),
      /** `view.set(str, off)` of the first `n` chars (they fit): their low bytes. @param {Uint8Array} v @param {string} s @param {number} off @param {number} n */
      /** `view.set(str, off)` of the first `n` chars (they fit). */
      setStr: latin1Into,
      /** @param {unknown[]} args */
      toU8: (args) => {
        const a = args[0];
        // The hot path (received data): one byte per char, written straight into the sandbox's array.
        if (args.length === 1 && typeof a === 'string' && !WIDE.test(a)) {
          const u = new (P().Uint8Array)(a.length);
          latin1Into(u, a, 0, a.length);
          return u;
        }
        const b = argBytes(args);
        const u = new (P().Uint8Array)(b.length);
        u.set(b);
        return u;
      },
      /** @param {unknown} v */
      toJS: (v) => espJSON(v, true),
      /** @param {unknown} d */
      crc32: (d) => crc32(argBytes([d])),
      /** @param {string} s @param {string} dir */
      utf8: (s, dir) => (dir === 'dec' ? Buffer.from(s, 'latin1').toString('utf8') : Buffer.from(s, 'utf8').toString('latin1')),
      /** @param {string} s @param {string} dir */
      b64: (s, dir) => (dir === 'enc' ? Buffer.from(s, 'latin1').toString('base64') : Buffer.from(s, 'base64').toString('latin1')),
      /** @param {unknown} v */
      sizeOf: (v) => this.memory.sizeOf(v),
      /** @param {boolean} gc */
      memory: (gc) => this.memoryFields(gc),
      /** @param {string} kind @param {unknown} arg */
      reset: (kind, arg) => dev.requestRestart(kind === 'load' ? (arg === undefined ? 'load' : { file: String(arg) }) : 'reset'),
      reboot: () => dev.requestRestart('power'),
      /** @param {number} t @param {boolean} auto */
      watchdog: (t, auto) => this.enableWatchdog(t, auto),
      kickWatchdog: () => {
        this.wdKick = performance.now();
      },
      /** @param {string | undefined} code @param {boolean} always */
      bootCode: (code, always) => dev.setBootCode(code, always),
      /** @param {string} name */
      hasModule: (name) => dev.moduleKind(name),
      /** @param {string} name @param {string} code */
      compileModule: (name, code) => this.compileModule(name, code),
      /** @param {string} name @param {string} code */
      checkCode: (name, code) => this.checkCode(name, code),
      /** @param {any} obj */
      nServer: (obj) => net.newServer(obj),
      /** @param {number} id @param {number} port */
      nListen: (id, port) => net.listen(id, port),
      /** @param {number} id */
      nClose: (id) => net.closeServer(id),
      /** @param {any} obj @param {unknown} host @param {number} port */
      nConnect: (obj, host, port) => net.connect(obj, host, port),
      /** @param {any} obj @param {boolean} reuse */
      uNew: (obj, reuse) => net.udp.create(obj, reuse),
      /** @param {number} id @param {number} port */
      uBind: (id, port) => net.udp.bind(id, port),
      /** @param {number} id @param {string | undefined} msg @param {string} host @param {number} port */
      uSend: (id, msg, host, port) => net.udp.send(id, msg, host, port),
      /** @param {number} id */
      uClose: (id) => net.udp.close(id),
      /** @param {number} id @param {string} s */
      sWrite: (id, s) => net.write(id, s),
      /** @param {number} id */
      sEnd: (id) => net.end(id),
      /** @param {number} id */
      sOnData: (id) => net.onData(id),
      /** @param {number} id */
      sAvail: (id) => net.available(id),
      /** @param {number} id @param {number} n */
      sRead: (id, n) => net.read(id, n),
      /** @param {string} op @param {Function | undefined} cb @param {...any} a */
      wifi: (op, cb, ...a) => {
        try {
          return dev.wifi.call(op, cb, ...a);
        } catch (e) {
          if (e instanceof WifiError) throw this.P.mkErr('Error', e.message);
          throw e;
        }
      },
      http: () => {
        throw this.P.mkErr('Error', 'Module "http" is built into the board but not emulated');
      },
      /** @param {string} what */
      unemulated: (what) => {
        throw this.P.mkErr('Error', what + ' is built into the board but not emulated');
      },
      /** crypto.SHA1…SHA512: an ArrayBuffer of the digest, undefined for an undefined message. @param {string} which @param {unknown} m */
      sha: (which, m) => this.guard(() => this.arrayBuffer(services.sha(which, m))),
      /** @param {unknown} pass @param {unknown} salt @param {unknown} opts */
      pbkdf2: (pass, salt, opts) => this.guard(() => this.arrayBuffer(services.pbkdf2(pass, salt, opts, {
        print: (s) => dev.print(s),
        maxBytes: dev.board.vars * dev.board.blocksize,
      }))),
      /** peek8/16/32(addr, count): a number, or a Uint8/16/32Array when count > 1. @param {unknown} addr @param {unknown} count @param {number} size */
      peek: (addr, count, size) => {
        const n = services.espInt(count);
        if (n > 1 && n * size > dev.board.vars * dev.board.blocksize) return undefined; // no room for the array
        const items = this.hw.peek(addr, count, size);
        if (n <= 1) return items[0];
        const T = size === 1 ? this.P.Uint8Array : size === 2 ? this.P.Uint16Array : this.P.Uint32Array;
        const arr = new T(items.length);
        for (let i = 0; i < items.length; i++) arr[i] = items[i];
        return arr;
      },
      /** TelnetServer.setOptions. @param {unknown} opts */
      telnet: (opts) => {
        this.telnetMode = this.guard(() => services.telnetOptions(opts, this.telnetMode));
      },
    });
  }

  /** The hardware peek reads (RNG register, memory-mapped Storage). */
  get hw() {
    if (!this.hwMem) this.hwMem = new services.ChipMemory(this.dev.board, this.dev.flash);
    return this.hwMem;
  }

  /** Run `f`; an exception Espruino would throw becomes the sandbox's error. @template T @param {() => T} f @returns {T} */
  guard(f) {
    try {
      return f();
    } catch (e) {
      if (e instanceof EspError) throw this.P.mkErr(e.espType, e.message);
      throw e;
    }
  }

  /** Bytes as an ArrayBuffer of the sandbox (null → undefined). @param {Buffer | null} b */
  arrayBuffer(b) {
    if (!b) return undefined;
    const u = new this.P.Uint8Array(b.length);
    u.set(b);
    return u.buffer;
  }

  /** Stop this life: `E.on('kill')` handlers, then no timer, event or socket survives. */
  kill() {
    if (this.dead) return;
    const fns = this.lis(this.P && this.P.E, 'kill');
    if (fns) this.loop.call(this.P.E, fns, []);
    this.dead = true;
    if (this.memTimer) clearTimeout(this.memTimer);
    if (this.wdTimer) clearInterval(this.wdTimer);
    this.loop.stop();
    this.dev.net.kill();
  }
}

module.exports = { Runtime, describe };
