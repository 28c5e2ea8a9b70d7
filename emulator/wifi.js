// @ts-check
/**
 * A simulated ESP32 radio behind `require("Wifi")`, with the behaviour of
 * libs/network/esp32/jswrap_esp32_network.c at the 2v29 release:
 * - `scan(cb)`: one at a time ("A scan is already in progress"), `cb(list)`
 *   after `scanMs` with ONE argument, items `{rssi, authMode, ssid, mac,
 *   channel}` where channel is a string;
 * - `connect(ssid, {password}, cb)`: `associated` then, after DHCP,
 *   `cb(null)` and `connected {ip, netmask, gw}`. On failure (unknown SSID,
 *   wrong password) only `disconnected {ssid, mac, reason, msg}` fires: 2v29
 *   never calls the callback then (option `failCallback` models later firmware);
 * - `disconnect(cb)`: `cb` at once, and again with `disconnected` if joined;
 * - `startAP`/`stopAP`, `getIP`/`getAPIP` (`cb(null, info)`), `getStatus()`
 *   (ignores its callback, as on ESP32), `getDetails`, `getAPDetails`,
 *   `setHostname`, `save()` (writes `.wificfg`), and `restore` at power-on:
 *   with no `.wificfg` the default open AP "ESP_XXXXXX" runs; with one, the
 *   station reconnects but the AP comes back with the default settings, not the
 *   saved ones (2v29 passes a zeroed config to esp_wifi_set_config).
 * `dhcp_timeout` is never emitted on ESP32; `sta_joined`/`sta_left` come from
 * the host (`joinAP`/`leaveAP`). Timings are host milliseconds.
 *
 * AP+STA: on ESP32 and S3 `connect` keeps a running access point (mode
 * APSTA) and `startAP` a station. The C3 build (board `apsta: false`) does
 * not refuse either: under CONFIG_IDF_TARGET_ESP32C3 `connect` sets the mode
 * to STA (the access point stops, silently) and `startAP` from STA mode sets
 * it to AP (the station stops: `disconnected` with reason 8 ASSOC_LEAVE if it
 * was joined, assumed, as ESP-IDF reports leaving). `scan()` has no such
 * guard: from AP mode it gives APSTA on the C3 too, and `startAP` from APSTA
 * keeps APSTA there; a restored `.wificfg` mode is applied as saved.
 *
 * The host can take a network out of range and bring it back
 * (`networkGone`/`networkBack`): gone, it is missing from scans, joins fail
 * with 201 NO_AP_FOUND, and a station on it is dropped (200 BEACON_TIMEOUT).
 * 2v29 never rejoins by itself.
 */
'use strict';
const { nameField, strBytes } = require('./flash');

const AUTH_INT = /** @type {Record<string, number>} */ ({ open: 0, wep: 1, wpa: 2, wpa2: 3, wpa_wpa2: 4 });
const AUTH_STR = ['open', 'wep', 'wpa', 'wpa2', 'wpa_wpa2'];
const REASONS = /** @type {Record<number, string>} */ ({
  0: 'Unknown reason', 1: 'UNSPECIFIED', 2: 'AUTH_EXPIRE', 3: 'AUTH_LEAVE', 4: 'ASSOC_EXPIRE', 8: 'ASSOC_LEAVE',
  15: '4WAY_HANDSHAKE_TIMEOUT', 200: 'BEACON_TIMEOUT', 201: 'NO_AP_FOUND', 202: 'AUTH_FAIL', 203: 'ASSOC_FAIL', 204: 'HANDSHAKE_TIMEOUT',
});
const MODES = ['NULL', 'STA', 'AP', 'APSTA'];
const CFG = '.wificfg';

/**
 * @typedef {object} WifiNetwork
 * @property {string} ssid
 * @property {string} [password]
 * @property {string} [authMode]  open | wep | wpa | wpa2 | wpa_wpa2 (default: wpa2 with a password, open without)
 * @property {number} [rssi]
 * @property {number} [channel]
 * @property {string} [mac]
 */

/**
 * @typedef {object} WifiOptions
 * @property {WifiNetwork[]} [networks]
 * @property {number} [scanMs]      scan duration (1500)
 * @property {number} [connectMs]   association time (1000)
 * @property {number} [dhcpMs]      association → IP (200)
 * @property {number} [apMs]        startAP → callback (50)
 * @property {string} [ip]          station address once joined
 * @property {string} [gw]
 * @property {string} [netmask]
 * @property {string} [mac]         station MAC
 * @property {boolean} [failCallback] call connect's callback with the reason on failure (not 2v29)
 * @property {boolean} [defaultAP]  power on with the default AP when nothing is saved (2v29: true)
 */

/** @param {number} n */
function macFrom(n) {
  const b = [0x24, 0x0a, 0xc4, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  return b.map((x) => (x < 16 ? '0' : '') + x.toString(16)).join(':');
}

class WifiSim {
  /**
   * @param {WifiOptions | undefined} o
   * @param {import('./flash').Flash} flash
   * @param {{ apsta?: boolean }} [board]  `apsta: false`: the C3 build's switching between AP and station
   */
  constructor(o, flash, board) {
    o = o || {};
    this.o = o;
    this.flash = flash;
    this.apsta = !board || board.apsta !== false;
    /** SSIDs out of range for now (networkGone), whatever `networks` says. @type {Set<string>} */
    this.gone = new Set();
    /** @type {WifiNetwork[]} */
    this.networks = (o.networks || []).slice();
    this.scanMs = o.scanMs === undefined ? 1500 : o.scanMs;
    this.connectMs = o.connectMs === undefined ? 1000 : o.connectMs;
    this.dhcpMs = o.dhcpMs === undefined ? 200 : o.dhcpMs;
    this.apMs = o.apMs === undefined ? 50 : o.apMs;
    this.staMac = o.mac || macFrom(0x123456);
    this.apMac = macFrom(0x123457);
    /** @type {{ queue: (self: unknown, fns: unknown, args: unknown[]) => void, json: (s: string) => unknown, lis: (o: any, ev: string) => unknown, epoch: number } | null} */
    this.rt = null;
    /** The Wifi module object of the running sandbox. @type {any} */
    this.W = null;
    this.epoch = 0;
    /** @type {Set<NodeJS.Timeout>} */
    this.pending = new Set();
    /** The next scan never completes (and every later one is "already in progress"), as after an early ESP-IDF error. */
    this.hangNext = false;
    this.mode = 0;
    this.sta = this.freshStation();
    this.ap = this.freshAP();
    this.hostname = 'espressif';
    /** @type {Function | null} */
    this.scanCb = null;
    /** @type {Function | null} */
    this.gotIpCb = null;
    /** @type {Function | null} */
    this.discCb = null;
    this.powerOn();
  }

  freshStation() {
    return { ssid: '', password: '', state: 'idle', reason: 0, net: /** @type {WifiNetwork | null} */ (null), ip: '0.0.0.0', attempt: 0 };
  }

  freshAP() {
    return { ssid: 'ESP_' + this.apMac.replace(/:/g, '').slice(-6).toUpperCase(), password: '', authMode: 0, channel: 1, hidden: false, maxConn: 4, started: false };
  }

  /** Radio state after a hardware reset, then `restore` from `.wificfg`. */
  powerOn() {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    this.mode = 0;
    this.sta = this.freshStation();
    this.ap = this.freshAP();
    this.hostname = 'espressif';
    this.scanCb = null;
    this.gotIpCb = null;
    this.discCb = null;
    this.hangNext = false;
    this.restore();
  }

  /**
   * Bind to a (new) sandbox: callbacks held for an older one are dropped, as reset() frees them on the device.
   * @param {NonNullable<WifiSim['rt']>} rt
   */
  attach(rt) {
    this.rt = rt;
    this.W = null;
    this.epoch = rt.epoch;
    this.scanCb = null;
    this.gotIpCb = null;
    this.discCb = null;
  }

  /** @param {() => void} fn @param {number} ms */
  later(fn, ms) {
    const t = setTimeout(() => {
      this.pending.delete(t);
      fn();
    }, ms);
    this.pending.add(t);
  }

  /** @param {Function | null | undefined} fn @param {unknown[]} args */
  callback(fn, args) {
    if (fn && this.rt) this.rt.queue(undefined, fn, args);
  }

  /** @param {string} ev @param {object} details */
  event(ev, details) {
    if (!this.rt || !this.W) return;
    this.rt.queue(this.W, this.rt.lis(this.W, ev), [this.rt.json(JSON.stringify(details))]);
  }

  /** @param {object} o */
  obj(o) {
    return this.rt ? this.rt.json(JSON.stringify(o)) : o;
  }

  /** A network in range now. @param {string} ssid */
  find(ssid) {
    return this.gone.has(ssid) ? null : this.networks.find((n) => n.ssid === ssid) || null;
  }

  /** @param {WifiNetwork} n */
  auth(n) {
    return n.authMode || (n.password ? 'wpa2' : 'open');
  }

  /** @param {WifiNetwork} n @param {number} i */
  bssid(n, i) {
    return n.mac || macFrom(0xa00000 + i);
  }

  /**
   * The dispatcher behind the prelude's Wifi methods. Returns JSON text for objects.
   * @param {string} op @param {Function | undefined} cb @param {...any} a
   */
  call(op, cb, ...a) {
    switch (op) {
      case 'bind':
        this.W = a[0];
        return undefined;
      case 'scan': return this.scan(/** @type {Function} */ (cb));
      case 'connect': return this.connect(cb, a[0], a[1]);
      case 'disconnect': return this.disconnect(cb);
      case 'startAP': return this.startAP(cb, a[0], JSON.parse(a[1]), a[2]);
      case 'stopAP':
        this.mode &= ~2;
        this.ap.started = false;
        this.callback(cb, []);
        return undefined;
      case 'getIP': {
        const up = this.sta.state === 'connected';
        const info = { ip: up ? this.sta.ip : '0.0.0.0', netmask: up ? this.o.netmask || '255.255.255.0' : '0.0.0.0', gw: up ? this.o.gw || '192.168.1.1' : '0.0.0.0', mac: this.staMac };
        this.callback(cb, [null, this.obj(info)]);
        return JSON.stringify(info);
      }
      case 'getAPIP': {
        const info = { ip: '192.168.4.1', netmask: '255.255.255.0', gw: '192.168.4.1', mac: this.apMac };
        this.callback(cb, [null, this.obj(info)]);
        return JSON.stringify(info);
      }
      case 'getStatus': return JSON.stringify(this.status());
      case 'getDetails': {
        const d = this.sta.state === 'connected' && this.sta.net
          ? { ssid: this.sta.ssid, password: this.sta.password, status: 'connected', authMode: this.auth(this.sta.net) }
          : { status: REASONS[this.sta.reason] || 'Unknown reason' };
        this.callback(cb, [this.obj(d)]);
        return JSON.stringify(d);
      }
      case 'getAPDetails': {
        const d = { authMode: AUTH_STR[this.ap.authMode], hidden: this.ap.hidden, maxConn: this.ap.maxConn, ssid: this.ap.ssid, password: this.ap.password };
        this.callback(cb, [this.obj(d)]);
        return JSON.stringify(d);
      }
      case 'setHostname':
        this.hostname = String(a[0]);
        this.callback(cb, []);
        return undefined;
      case 'getHostname': return this.hostname;
      case 'save': return this.save(a[0]);
      case 'restore': return this.restore();
      case 'setConfig': {
        const s = JSON.parse(a[0]);
        if (s.phy !== undefined && !['11b', '11g', '11n'].includes(s.phy)) throw new WifiError('Unknown phy mode');
        if (s.powersave !== undefined && !['none', 'min', 'max'].includes(s.powersave)) throw new WifiError('Unknown powersave mode');
        return undefined;
      }
      case 'getHostByName': {
        const h = String(a[0]);
        const ip = h === 'localhost' ? '127.0.0.1' : /^\d+\.\d+\.\d+\.\d+$/.test(h) ? h : null;
        this.callback(cb, [ip]);
        return undefined;
      }
      case 'ping':
        this.callback(cb, [this.obj({ totalCount: 1, totalBytes: 32, totalTime: 1, respTime: 1, seqNo: 1, timeoutCount: 0, bytes: 32, error: 0 })]);
        return undefined;
      case 'setIP': case 'setAPIP':
        this.callback(cb, [null]);
        return undefined;
    }
    return undefined;
  }

  /** @param {Function} cb */
  scan(cb) {
    if (this.scanCb) throw new WifiError('A scan is already in progress');
    this.scanCb = cb;
    if (this.hangNext) {
      this.hangNext = false;
      return undefined;
    }
    if (this.mode === 0) this.mode = 1;
    else if (this.mode === 2) this.mode = 3;
    const epoch = this.epoch;
    this.later(() => {
      if (epoch !== this.epoch) return;
      const fn = this.scanCb;
      this.scanCb = null;
      const list = this.networks
        .map((n, i) => ({ rssi: n.rssi === undefined ? -60 - 5 * i : n.rssi, authMode: this.auth(n), ssid: n.ssid, mac: this.bssid(n, i), channel: String(n.channel || 1 + ((i * 5) % 13)) }))
        .filter((n) => !this.gone.has(n.ssid))
        .sort((x, y) => y.rssi - x.rssi);
      this.callback(fn, [this.obj(list)]);
    }, this.scanMs);
    return undefined;
  }

  /** @param {Function | undefined} cb @param {string} ssid @param {string} password */
  connect(cb, ssid, password) {
    // AP or APSTA → APSTA; on the C3 build → STA: the access point stops without a word.
    if (this.mode & 2 && !this.apsta) this.ap.started = false;
    this.mode = this.mode === 0 || this.mode === 1 || !this.apsta ? 1 : 3;
    this.gotIpCb = cb || null;
    this.discCb = null;
    const wasUp = this.sta.state === 'connected';
    const attempt = ++this.sta.attempt;
    if (wasUp) this.dropStation(8);
    this.sta.ssid = ssid.slice(0, 32);
    this.sta.password = password.slice(0, 64);
    this.sta.state = 'connecting';
    const epoch = this.epoch;
    this.later(() => {
      if (attempt !== this.sta.attempt || this.sta.state !== 'connecting') return;
      const n = this.find(this.sta.ssid);
      const i = n ? this.networks.indexOf(n) : -1;
      let reason = 0;
      if (!n) reason = 201;
      else if (this.auth(n) !== 'open' && n.password !== this.sta.password) reason = this.auth(n) === 'wep' ? 202 : 15;
      if (reason) {
        this.sta.state = 'idle';
        this.sta.reason = reason;
        this.event('disconnected', { ssid: this.sta.ssid, mac: '00:00:00:00:00:00', reason: String(reason), msg: REASONS[reason] });
        if (this.o.failCallback && epoch === this.epoch) this.callback(this.gotIpCb, [REASONS[reason]]);
        if (this.o.failCallback) this.gotIpCb = null;
        return;
      }
      const net = /** @type {WifiNetwork} */ (n);
      this.sta.state = 'associated';
      this.sta.net = net;
      this.event('associated', { ssid: net.ssid, mac: this.bssid(net, i), channel: String(net.channel || 1 + ((i * 5) % 13)) });
      this.later(() => {
        if (attempt !== this.sta.attempt || this.sta.state !== 'associated') return;
        this.sta.state = 'connected';
        this.sta.reason = 0;
        this.sta.ip = this.o.ip || '192.168.1.77';
        if (epoch === this.epoch) this.callback(this.gotIpCb, [null]);
        this.gotIpCb = null;
        this.event('connected', { ip: this.sta.ip, netmask: this.o.netmask || '255.255.255.0', gw: this.o.gw || '192.168.1.1' });
      }, this.dhcpMs);
    }, this.connectMs);
    return undefined;
  }

  /** The station loses its network now (reason code as ESP-IDF reports it). @param {number} reason */
  dropStation(reason) {
    const net = this.sta.net;
    this.sta.state = 'idle';
    this.sta.reason = reason;
    this.sta.ip = '0.0.0.0';
    if (this.discCb) this.callback(this.discCb, []);
    this.discCb = null;
    this.event('disconnected', { ssid: this.sta.ssid, mac: net ? this.bssid(net, this.networks.indexOf(net)) : '00:00:00:00:00:00', reason: String(reason), msg: REASONS[reason] || 'Unknown reason' });
    this.sta.net = null;
  }

  /** The station interface stops (a mode change on the C3): a join under way is abandoned, a joined station leaves (reason 8). */
  stopStation() {
    this.sta.attempt++;
    this.gotIpCb = null;
    if (this.sta.state === 'connected' || this.sta.state === 'associated') this.dropStation(8);
    else this.sta.state = 'idle';
  }

  /** @param {Function | undefined} cb */
  disconnect(cb) {
    this.discCb = cb || null;
    this.sta.attempt++;
    this.callback(cb, []);
    if (this.sta.state === 'connected' || this.sta.state === 'associated') {
      const attempt = this.sta.attempt;
      this.later(() => {
        if (attempt === this.sta.attempt) this.dropStation(8);
      }, 20);
    } else this.sta.state = 'idle';
    return undefined;
  }

  /**
   * @param {Function | undefined} cb @param {string} ssid
   * @param {{channel?: number, password?: string, authMode?: string}} o @param {boolean} hadOpts
   */
  startAP(cb, ssid, o, hadOpts) {
    let auth = 0;
    const pw = o.password || '';
    if (hadOpts) {
      if (o.authMode !== undefined) {
        if (!(o.authMode in AUTH_INT) || o.authMode === 'wep') throw new WifiError('Unknown authMode value');
        auth = AUTH_INT[o.authMode];
      } else auth = pw ? 3 : 0;
      if (auth !== 0 && !pw) throw new WifiError('Password not set but authMode not open');
      if (auth === 0 && pw) throw new WifiError('Auth mode set to open but password supplied');
    }
    this.ap.ssid = ssid.slice(0, 32);
    this.ap.password = pw;
    this.ap.authMode = auth;
    this.ap.channel = o.channel && o.channel >= 1 && o.channel <= 13 ? o.channel : 1;
    // The C3 build: from STA mode the station stops (mode NULL | AP); from APSTA (after a scan) it stays.
    if (this.mode === 1 && !this.apsta) {
      this.mode = 0;
      this.stopStation();
    }
    this.mode |= 2;
    const epoch = this.epoch;
    this.later(() => {
      if (this.mode & 2) this.ap.started = true;
      if (epoch === this.epoch) this.callback(cb, [null]);
    }, this.apMs);
    return undefined;
  }

  status() {
    /** @type {Record<string, unknown>} */
    const s = {};
    const up = this.sta.state === 'connected';
    if (up && this.sta.net) {
      const n = this.sta.net;
      const i = this.networks.indexOf(n);
      s.station = 'connected';
      if (this.mode & 1) {
        s.ssid = n.ssid;
        s.bssid = this.bssid(n, i);
        s.channel = n.channel || 1 + ((i * 5) % 13);
        s.rssi = n.rssi === undefined ? -60 - 5 * i : n.rssi;
        s.htMode = 'HT20';
        s.authMode = this.auth(n);
      }
    } else s.station = REASONS[this.sta.reason] || 'Unknown reason';
    s.mode = MODES[this.mode];
    s.powersave = 'min_modem';
    return s;
  }

  /** @param {string | undefined} what */
  save(what) {
    const name = nameField(CFG);
    this.flash.erase(name);
    if (what === 'clear') return undefined;
    const o = {
      ssid: this.sta.ssid, password: this.sta.password, mode: this.mode, sleepType: 1,
      ssidAP: this.ap.ssid, passwordAP: this.ap.password, authmodeAP: this.ap.authMode, hiddenAP: 0, channelAP: this.ap.channel,
      hostname: this.hostname,
    };
    this.flash.write(name, strBytes(JSON.stringify(o)), 0, 0, 0);
    return undefined;
  }

  restore() {
    const b = this.flash.read(nameField(CFG));
    let cfg = null;
    try {
      cfg = b ? JSON.parse(b.toString('latin1')) : null;
    } catch (e) {
      cfg = null;
    }
    if (!cfg) {
      if (this.o.defaultAP !== false) {
        this.mode = 2;
        this.ap.started = true;
      }
      return undefined;
    }
    this.mode = Number(cfg.mode) & 3;
    if (this.mode & 2) this.ap.started = true; // with the default settings: the saved ones are lost (see above)
    if (cfg.hostname) this.hostname = String(cfg.hostname);
    if (this.mode & 1 && cfg.ssid) {
      const cb = this.gotIpCb;
      // esp_wifi_connect() itself, not Wifi.connect: the saved mode stays, APSTA included on the C3.
      const mode = this.mode;
      const started = this.ap.started;
      this.connect(undefined, String(cfg.ssid), String(cfg.password || ''));
      this.mode = mode;
      this.ap.started = started;
      this.gotIpCb = cb;
    }
    return undefined;
  }

  /** Host control: a client joins the access point. @param {string} mac */
  joinAP(mac) {
    this.event('sta_joined', { mac });
  }

  /** Host control: a client leaves the access point. @param {string} mac */
  leaveAP(mac) {
    this.event('sta_left', { mac });
  }

  /** Host control: the next scan hangs forever (its callback never comes; later scans throw "in progress"). */
  hangScan() {
    this.hangNext = true;
  }

  /** Host control: replace the networks in range. @param {WifiNetwork[]} list */
  setNetworks(list) {
    this.networks = list.slice();
  }

  /**
   * Host control: the network goes out of range until networkBack (missing from scans, joins fail with 201); a
   * station on it loses it (200 BEACON_TIMEOUT).
   * @param {string} ssid
   */
  networkGone(ssid) {
    this.gone.add(ssid);
    const n = this.sta.net;
    if (n && n.ssid === ssid && (this.sta.state === 'connected' || this.sta.state === 'associated')) {
      this.sta.attempt++;
      this.dropStation(200);
    }
  }

  /** Host control: the network is in range again (2v29 does not rejoin by itself). @param {string} ssid */
  networkBack(ssid) {
    this.gone.delete(ssid);
  }

  /** Host view of the radio. */
  state() {
    return {
      mode: MODES[this.mode], station: this.sta.state, ssid: this.sta.ssid, ip: this.sta.ip, ap: this.ap.started ? this.ap.ssid : null,
      scanning: !!this.scanCb, gone: Array.from(this.gone),
    };
  }

  stop() {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    this.rt = null;
  }
}

/** An error Espruino's Wifi module throws (jsExceptionHere). */
class WifiError extends Error {}

module.exports = { WifiSim, WifiError };
