/**
 * The services the firmware adds to the Espruino HAL: flash Storage over
 * `require("Storage")` and the radio over `require("Wifi")` (or the simulated
 * radio where the board has none, e.g. the Linux build). Kept apart from
 * espruino.ts so the runtime core does not carry them.
 */
import type { Board } from '../boards/types';
import type { BootInfo, Clock, Crypto, Hal, Storage, Sys, Wifi, WifiNet } from './hal';
import type { EspAp, EspChip, EspCrypto, EspE, EspEnv, EspStorage, EspTelnet, EspWifi } from './espruino-types';
import { espruinoEnv, espruinoHal, optional } from './espruino';
import { simRadio } from './radio-sim';
import { espruinoUdp } from './espruino-udp';

/** Deadlines for radio operations whose callback may never come (a scan can hang after an early error), ms. */
const SCAN_MS = 20000;
const JOIN_MS = 30000;
const AP_MS = 10000;

/** Longest Storage name; the interpreter silently truncates longer ones, so they are refused here. */
const NAME_MAX = 28;

/** `require("Storage")`. `read` returns a view of the file in flash (no copy): never write into it. */
function espStorage(st: EspStorage, E: EspE): Storage {
  return {
    read(name) {
      if (name.length > NAME_MAX) return null;
      const ab = st.readArrayBuffer(name);
      return ab === undefined ? null : new Uint8Array(ab);
    },
    write(name, data, offset, size) {
      if (!name || name.length > NAME_MAX) return false;
      const s = E.toString(data);
      if (s === undefined) return false;
      try {
        if (offset > 0) return st.write(name, s, offset) !== false;
        return (size > data.length ? st.write(name, s, 0, size) : st.write(name, s)) !== false;
      } catch (e) {
        return false;
      }
    },
    text(name, offset) {
      if (name.length > NAME_MAX) return null;
      const t = st.read(name, offset);
      return t === undefined ? null : t;
    },
    erase(name) {
      if (name.length > NAME_MAX || st.read(name) === undefined) return false;
      st.erase(name);
      return true;
    },
    list(prefix) {
      const all = st.list();
      const r: string[] = [];
      for (let i = 0; i < all.length; i++) if (!prefix || all[i].substr(0, prefix.length) === prefix) r.push(all[i]); // not indexOf: 2v29 matches a tail that begins the needle
      return r;
    },
    free() {
      // getFree() leaves out erased files' space, which the write that needs it gets back by compacting.
      const s = st.getStats ? st.getStats() : null;
      return s ? s.freeBytes + s.trashBytes : st.getFree();
    },
  };
}

/**
 * Start a radio operation whose callback may never come: `done` runs once,
 * with the callback's outcome or 'timeout' after `ms`, or with what `start`
 * threw (from a timer, never from inside the caller's call).
 */
function guarded<T>(clock: Clock, ms: number, start: (cb: (err: unknown, v?: T) => void) => void, done: (err: string | null, v: T | null) => void): void {
  let over = false;
  let t = 0;
  const fin = (err: unknown, v?: T): void => {
    if (over) return;
    over = true;
    clock.cancel(t);
    done(err ? String(err) : null, err || v === undefined ? null : v);
  };
  t = clock.after(ms, () => fin('timeout'));
  try {
    start(fin);
  } catch (e) {
    const m = e && (e as Error).message ? (e as Error).message : e;
    clock.soon(() => fin(m || 'failed'));
  }
}

/** A join failure as ESP-IDF reports it (wifi_err_reason_t), in words. */
function joinReason(code: unknown, msg?: string): string {
  const c = +(code as number);
  if (c === 15 || c === 2 || c === 202 || c === 204 || c === 203) return 'wrong password (' + (msg || c) + ')';
  if (c === 201) return 'network not found (' + (msg || c) + ')';
  return msg || 'disconnected, reason ' + c;
}

/** The ESP32 radio over `require("Wifi")`, with deadlines on every callback it might never make. */
function espWifi(wf: EspWifi, clock: Clock): Wifi {
  let scanning = false;
  /** The join under way: its network, and how to end it. */
  let joining: { ssid: string; end: (err: unknown) => void } | null = null;
  // 2v29 never calls connect's callback on failure: a `disconnected` for the network being joined is the failure.
  // ASSOC_LEAVE (8) is the previous network being left, not this join failing.
  let listener: (ev: 'lost' | 'up', info: string) => void = () => {};
  /** The station has an address (so a later `disconnected` means the network went away). */
  let up = false;
  wf.on('disconnected', (d) => {
    const j = joining;
    if (j && d && (d.ssid === undefined || d.ssid === j.ssid) && String(d.reason) !== '8') j.end(joinReason(d.reason, d.msg));
    else if (!j && up) {
      up = false;
      listener('lost', joinReason(d && d.reason, d && d.msg));
    }
  });
  wf.on('connected', (d) => {
    up = true;
    listener('up', (d && d.ip) || '');
  });
  return {
    scan(done) {
      if (scanning) {
        clock.soon(() => done('busy', null));
        return;
      }
      scanning = true;
      guarded<EspAp[]>(
        clock,
        SCAN_MS,
        // cb(err, list) on 2v29; older builds passed the list alone.
        (cb) => wf.scan((a, b) => (Array.isArray(a) ? cb(null, a) : cb(a || (b ? null : 'failed'), b))),
        (err, raw) => {
          scanning = false;
          let list: WifiNet[] | null = null;
          if (raw) {
            list = [];
            for (let i = 0; i < raw.length; i++) list.push({ ssid: raw[i].ssid, rssi: raw[i].rssi, channel: +raw[i].channel, auth: raw[i].authMode });
          }
          done(err, list);
        },
      );
    },
    connect(ssid, password, done) {
      let me: { ssid: string; end: (err: unknown) => void } | null = null;
      guarded<null>(
        clock,
        JOIN_MS,
        (cb) => {
          me = { ssid: ssid, end: cb };
          joining = me;
          wf.connect(ssid, { password: password }, cb);
        },
        (err) => {
          if (joining === me) joining = null; // a newer join keeps its own record
          done(err);
        },
      );
    },
    disconnect() {
      up = false;
      try {
        wf.disconnect();
      } catch (e) {
        // already disconnected
      }
    },
    stopAP() {
      try {
        wf.stopAP();
      } catch (e) {
        // not running
      }
    },
    on(fn) {
      listener = fn;
    },
    hostname(name) {
      try {
        wf.setHostname(name);
      } catch (e) {
        // not supported by this build
      }
    },
    mac() {
      try {
        return wf.getIP().mac || '';
      } catch (e) {
        return '';
      }
    },
    forget() {
      try {
        wf.save('clear');
      } catch (e) {
        // nothing saved
      }
    },
    startAP(ssid, password, done) {
      guarded<null>(clock, AP_MS, (cb) => wf.startAP(ssid, password ? { password: password, authMode: 'wpa2' } : { authMode: 'open' }, cb), done);
    },
    status() {
      let sta = 'off';
      let ssid = '';
      let ip = '0.0.0.0';
      let apIp = '0.0.0.0';
      let rssi = 0;
      try {
        const st = wf.getStatus();
        sta = st.station || sta;
        rssi = (sta === 'connected' && st.rssi) || 0;
        ssid = wf.getDetails().ssid || '';
        ip = wf.getIP().ip || ip;
        apIp = wf.getAPIP().ip || apIp;
      } catch (e) {
        // radio off: the defaults stand
      }
      return { sta: sta, ssid: ssid, ip: ip, apIp: apIp, rssi: rssi };
    },
  };
}

declare function peek32(addr: number): number;
declare const E: { reboot(): void; hwRand(): number };

/** The interpreter's chip globals, unless the env brings its own. */
function chip(env: EspEnv): EspChip {
  return env.chip || { peek32: (a) => peek32(a), reboot: () => E.reboot(), hwRand: () => E.hwRand() };
}

/** The loader's `global.__boot`, if the app was started by it. */
function loaderWord(): BootInfo | undefined {
  const b = new Function('return typeof __boot === "object" ? __boot : undefined')();
  return b || undefined;
}

/** `require("crypto")`: SHA-256 and PBKDF2-HMAC-SHA256 in C. */
function espCrypto(c: EspCrypto): Crypto {
  return {
    sha256: (d) => new Uint8Array(c.SHA256(d)),
    pbkdf2: (pw, salt, iterations, bytes) => new Uint8Array(c.PBKDF2(pw, salt, { keySize: bytes / 4, iterations: iterations, hasher: 'SHA256' })),
  };
}

/**
 * Unpredictable bytes: a SHA-256 pool stirred at each call with 8 reads of the
 * chip's hardware RNG register (`rngReg`, random while the radio runs, which it
 * does from boot), the clock and a counter. `Math.random` and `E.hwRand` repeat
 * the same sequence after every boot on ESP32: where a board has no register
 * (the Linux build) they are all there is, and that board is not for devices.
 */
function espRandom(c: Crypto, ch: EspChip, reg: number, now: () => number): (n: number) => Uint8Array {
  let pool = '';
  let count = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let k = 0; k < n; k += 16) {
      let fresh = pool + ' ' + ++count + ' ' + now();
      for (let i = 0; i < 8; i++) fresh += ' ' + (reg ? ch.peek32(reg) : ch.hwRand());
      const d = c.sha256(fresh);
      // One half of the digest chains the pool, the other is output: what is handed out never predicts what follows.
      pool = '';
      for (let i = 0; i < 16; i++) pool += String.fromCharCode(d[i]);
      out.set(d.subarray(16, 16 + Math.min(16, n - k)), k);
    }
    return out;
  };
}

/** Restart, and the telnet console switch. */
function espSys(ch: EspChip, telnet: EspTelnet | null, boot: BootInfo | undefined): Sys {
  return {
    boot: boot,
    reboot: () => ch.reboot(),
    netConsole: (on) => {
      if (!telnet) return false;
      telnet.setOptions({ mode: on ? 'on' : 'off' });
      return true;
    },
  };
}

/**
 * Add `storage` (absent where the interpreter has no `Storage`) and `wifi`
 * (the board's radio, or the simulated one where the board says so or the
 * interpreter has no `Wifi`) to `hal`.
 */
export function withServices(hal: Hal, board: Board, env?: EspEnv): Hal {
  const e = env || espruinoEnv();
  const st = optional<EspStorage>(e, 'Storage');
  const wf = board.radio === 'esp32' ? optional<EspWifi>(e, 'Wifi') : null;
  if (board.radio === 'esp32' && !wf) e.log('espruinoHal: no Wifi module, using the simulated radio');
  hal.storage = st ? espStorage(st, e.E) : undefined;
  hal.wifi = wf ? espWifi(wf, hal.clock) : simRadio(hal.clock);
  const cr = optional<EspCrypto>(e, 'crypto');
  const ch = chip(e);
  if (cr) {
    hal.crypto = espCrypto(cr);
    hal.random = espRandom(hal.crypto, ch, board.rngReg, () => hal.clock.now());
  }
  hal.sys = espSys(ch, optional<EspTelnet>(e, 'TelnetServer'), e.boot !== undefined ? e.boot || undefined : loaderWord());
  hal.udp = espruinoUdp(e) || undefined;
  return hal;
}

/** The whole device: the runtime's HAL plus Storage and the radio. */
export function espruinoDevice(board: Board, env?: EspEnv): Hal {
  return withServices(espruinoHal(board, env), board, env);
}
