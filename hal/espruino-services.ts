/**
 * The services the firmware adds to the Espruino HAL: flash Storage over
 * `require("Storage")` and the radio over `require("Wifi")` (or the simulated
 * radio where the board has none, e.g. the Linux build). Kept apart from
 * espruino.ts so the runtime core does not carry them.
 */
import type { Board } from '../boards/types';
import type { Clock, Hal, Storage, Wifi, WifiNet } from './hal';
import type { EspAp, EspE, EspEnv, EspStorage, EspWifi } from './espruino-types';
import { espruinoEnv, espruinoHal, optional } from './espruino';
import { simRadio } from './radio-sim';

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
    erase(name) {
      if (name.length > NAME_MAX || st.read(name) === undefined) return false;
      st.erase(name);
      return true;
    },
    list(prefix) {
      const all = st.list();
      const r: string[] = [];
      for (let i = 0; i < all.length; i++) if (!prefix || all[i].indexOf(prefix) === 0) r.push(all[i]);
      return r;
    },
    free() {
      return st.getFree();
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

/** The ESP32 radio over `require("Wifi")`, with deadlines on every callback it might never make. */
function espWifi(wf: EspWifi, clock: Clock): Wifi {
  let scanning = false;
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
      guarded<null>(clock, JOIN_MS, (cb) => wf.connect(ssid, { password: password }, cb), done);
    },
    disconnect() {
      try {
        wf.disconnect();
      } catch (e) {
        // already disconnected
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
      try {
        sta = wf.getStatus().station || sta;
        ssid = wf.getDetails().ssid || '';
        ip = wf.getIP().ip || ip;
        apIp = wf.getAPIP().ip || apIp;
      } catch (e) {
        // radio off: the defaults stand
      }
      return { sta: sta, ssid: ssid, ip: ip, apIp: apIp };
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
  return hal;
}

/** The whole device: the runtime's HAL plus Storage and the radio. */
export function espruinoDevice(board: Board, env?: EspEnv): Hal {
  return withServices(espruinoHal(board, env), board, env);
}
