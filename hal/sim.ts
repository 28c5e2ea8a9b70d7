/**
 * The simulated platform: every HAL interface in memory, driven by a stepped
 * clock, for the core's unit tests. Nothing real happens: no sockets, no
 * timers, no files. Time moves only when a test calls `run()` or `advance()`,
 * so every test is deterministic.
 *
 * Model: one queue of events ordered by (due time, scheduling order). Timers,
 * byte deliveries in both directions, FINs, resets, accepts and `writable()`
 * notifications are all events, so a SockHandler callback never runs inside a
 * Sock method (hal.ts: no re-entrant callbacks). `soon()` tasks form a FIFO
 * that always runs before the next event.
 *
 * Peers are scripted by the test through `SimClient`; an outgoing
 * `net.connect` is wired to a listener of the same Sim. UDP peers are
 * `SimUdpClient`s (`udpClient()`); datagrams are events too, never delivered
 * from inside `send()`, and may be lost, duplicated or delayed on purpose
 * (`udpLoss`, `udpDup`, `udpDelay`).
 *
 * Runs on Node only (Buffer for the codec); excluded from the device build.
 */
import { createHash, pbkdf2Sync } from 'crypto';
import { Clock, Codec, Crypto, Hal, Listener, Mem, Net, Sock, SockErr, SockHandler, Storage, Sys, Udp, UdpSock, Wifi, WifiNet } from './hal';

/** Options of a Sim; every field has a device-like default. */
export interface SimOpts {
  /** Connections a listener queues before the next `run()`; more are refused. Default 8. */
  backlog?: number;
  /** `mem.usage().total`, bytes. Default 229 362 (16 383 JsVars of 14 bytes). */
  memTotal?: number;
  /** Storage capacity, bytes. Default 896 KB (the ESP32 Storage partition). */
  storageSize?: number;
  /** Seed of `random()` (deterministic, for tests only). Default 1. */
  seed?: number;
}

/** SHA-256 and PBKDF2 as the board's crypto computes them (Node's, here). */
const simCrypto: Crypto = {
  sha256: (d) => new Uint8Array(createHash('sha256').update(typeof d === 'string' ? (Buffer.from(d, 'latin1') as unknown as Uint8Array) : d).digest()),
  pbkdf2: (pw, salt, it, n) => new Uint8Array(pbkdf2Sync(Buffer.from(pw, 'latin1') as unknown as Uint8Array, salt, it, n, 'sha256')),
};

/** A scripted TCP peer connected to a Sim listener; strings are latin1 (char code = byte). */
export interface SimClient {
  /** Queue bytes to the server: each send (or each piece cut at the `split` byte offsets) is a separate delivery, `delay` ms from now; order is kept. */
  send(data: string | Uint8Array, opts?: { split?: number[]; delay?: number }): void;
  /** Half-close (FIN): the server's read() returns -1 once the bytes before it are read. */
  end(): void;
  /** Reset: the server gets closed(SockErr.Reset) on the next run(); nothing more is delivered either way. */
  reset(): void;
  /** Let the server's write() take at most `n` more bytes in total (a client that stops reading); Infinity (the default) lifts the limit. */
  window(n: number): void;
  /** Bytes received since the last take(). */
  take(): string;
  /** Every byte received so far. */
  readonly received: string;
  /** The listener's accept returned a handler. */
  readonly accepted: boolean;
  /** No listener, backlog full, or accept returned null. */
  readonly refused: boolean;
  /** The server's FIN arrived (after shutdown() or close(), behind every byte its write() took). */
  readonly gotFin: boolean;
  /** The connection was reset (by reset()). */
  readonly gotReset: boolean;
  /** gotFin, gotReset or refused. */
  readonly closed: boolean;
  /** The server-side socket's `peer` string, "ip:port". */
  readonly addr: string;
}

/** The simulated radio: scan results, join passwords and fault injection are set by the test. */
export interface SimWifi extends Wifi {
  /** What a scan finds (copied at completion). */
  networks: WifiNet[];
  /** Sim time a scan takes, ms. Default 1500. */
  scanMs: number;
  /** Sim time a station join takes, ms. Default 0 (done on the next run()). */
  connectMs: number;
  /** Password per SSID; an SSID without an entry is open (password ""). */
  passwords: { [ssid: string]: string };
  /** When set, the next scan fails with this error string; reset to null by that scan. */
  failNextScan: string | null;
  /** The running access point, or null. */
  ap: { ssid: string; password: string } | null;
  /** The interpreter's saved Wi-Fi configuration was forgotten (forget() called). */
  forgotten: boolean;
  /** The hostname the firmware gave the radio. */
  host: string;
  /** This many next startAP calls fail with 'timeout' (the AP stays down). */
  failAP: number;
  /** The joined network goes away now (the station's `lost` event); it stays out of range until `networkBack`. */
  dropStation(reason?: string): void;
  /** A network out of range (absent from scans, joins fail as 'not found') until `networkBack`. */
  networkGone(ssid: string): void;
  networkBack(ssid: string): void;
}

/** One datagram a SimUdpClient received. */
export interface SimDatagram {
  /** The bytes, latin1 (char code = byte). */
  data: string;
  /** The sender's address and port (the device's bound port). */
  addr: string;
  from: number;
}

/** A UDP peer scripted by the test (a phone asking the device's DNS, say). */
export interface SimUdpClient {
  /** Its address and port, as the device's `recv` sees them. */
  readonly addr: string;
  readonly port: number;
  /** Send one datagram to the device's port `toPort`: delivered on a later run() (or lost, duplicated, delayed: see Sim.udpLoss). */
  send(data: string | Uint8Array, toPort: number): void;
  /** Every datagram received, in arrival order. */
  readonly received: SimDatagram[];
  /** The datagrams received since the last take(). */
  take(): SimDatagram[];
  /** Stop receiving: later datagrams to it are lost; its port is free again. */
  close(): void;
}

/** A fault setting: a probability (0..1, drawn from the Sim's seeded generator) or a function of the datagram's number (0, 1, … in sending order, both directions). */
export type SimUdpFault = number | ((n: number) => boolean);

/** The latin1 codec the Sim uses: one char per byte, binary-safe. */
export const latin1: Codec = {
  str(u8: Uint8Array, from: number, to: number): string {
    const a = Math.max(0, Math.min(from, u8.length));
    const b = Math.max(a, Math.min(to, u8.length));
    return Buffer.from(u8.buffer, u8.byteOffset + a, b - a).toString('latin1');
  },
  bytes(s: string): Uint8Array {
    const b = Buffer.from(s, 'latin1');
    const u = new Uint8Array(b.length);
    u.set(b);
    return u;
  },
  put(dst: Uint8Array, off: number, s: string): void {
    Buffer.from(dst.buffer, dst.byteOffset, dst.length).write(s, off, s.length, 'latin1');
  },
};

/** One scheduled event. */
interface Ev {
  t: number;
  q: number;
  fn: () => void;
  dead: boolean;
}

/** Where a socket's outgoing bytes land: a SimClient or the other SimSock of a local pair. */
interface End {
  /** Bytes write() may still take (the receive window). */
  room(): number;
  took(n: number): void;
  recv(b: Uint8Array): void;
  recvFin(): void;
}

class SimSock implements Sock, End {
  /** Null until accepted / for a refused connection. */
  h: SockHandler | null = null;
  other: End | null = null;
  /** Received pieces not yet read; `rqOff` bytes of rq[0] already read. */
  private rq: Uint8Array[] = [];
  private rqOff = 0;
  /** Peer FIN arrived. */
  private finIn = false;
  /** Input overran `sim.rxCap`: the rest is dropped. */
  private cut = false;
  /** Our FIN is queued (shutdown or close). */
  private finOut = false;
  /** Released: close() called, or the reset/refusal was reported. No callback after this. */
  rel = false;
  /** Counted by openSockets(). */
  counted = false;
  /** Reset by the peer: no more I/O. */
  private dead = false;
  /** A write() came up short: writable() is owed. */
  wantW = false;
  private wPend = false;

  constructor(private sim: Sim, readonly peer: string) {}

  read(dst: Uint8Array, off: number, len: number): number {
    if (this.rel || this.dead) return -1;
    if (this.rq.length === 0) return this.cut ? -2 : this.finIn ? -1 : 0;
    let n = 0;
    while (n < len && this.rq.length > 0) {
      const p = this.rq[0];
      const k = Math.min(len - n, p.length - this.rqOff);
      dst.set(p.subarray(this.rqOff, this.rqOff + k), off + n);
      n += k;
      this.rqOff += k;
      if (this.rqOff === p.length) {
        this.rq.shift();
        this.rqOff = 0;
      }
    }
    return n;
  }

  write(src: Uint8Array, off: number, len: number): number {
    if (this.rel || this.dead || this.finOut || len <= 0) return 0;
    const o = this.other;
    if (!o) {
      this.wantW = true;
      return 0;
    }
    let n = Math.floor(Math.max(0, Math.min(len, this.sim.maxWrite, o.room())));
    if (n > 0) {
      const b = src.slice(off, off + n);
      o.took(n);
      this.sim.at(0, () => o.recv(b));
    }
    if (n < len) {
      this.wantW = true;
      this.kick();
    }
    return n;
  }

  send(str: string): boolean {
    if (!this.sim.strings || this.rel || this.dead || this.finOut || !this.other || this.other.room() < str.length || this.sim.maxWrite < str.length) return false;
    return this.write(latin1.bytes(str), 0, str.length) === str.length;
  }

  shutdown(): void {
    if (this.rel || this.dead || this.finOut) return;
    this.sendFin();
  }

  close(): void {
    if (this.rel) return;
    if (!this.dead && !this.finOut) this.sendFin();
    this.rq = [];
    this.release();
  }

  private sendFin(): void {
    this.finOut = true;
    const o = this.other;
    if (o) this.sim.at(0, () => o.recvFin());
  }

  release(): void {
    if (this.rel) return;
    this.rel = true;
    if (this.counted) this.sim.openCount--;
  }

  /** Owe a writable() on the next run if there is room now; otherwise the window's growth calls kick() again. */
  kick(): void {
    const o = this.other;
    if (!this.wantW || this.wPend || this.rel || this.dead || !o || o.room() <= 0 || !(this.sim.maxWrite > 0)) return;
    this.wPend = true;
    this.sim.at(0, () => {
      this.wPend = false;
      if (this.rel || this.dead || !this.wantW || !this.h) return;
      this.wantW = false;
      this.h.writable();
    });
  }

  room(): number {
    return this.rel || this.dead ? 0 : Infinity;
  }

  took(): void {}

  recv(b: Uint8Array): void {
    if (this.rel || this.dead || !this.h || this.cut) return;
    // As the Espruino HAL: a piece arriving while nothing is unread is offered whole, as a string, first.
    if (this.sim.strings && !this.rq.length && !this.finIn && this.h.data && this.h.data(latin1.str(b, 0, b.length))) return;
    let n = b.length - this.rqOff;
    for (let i = 0; i < this.rq.length; i++) n += this.rq[i].length;
    if (n > this.sim.rxCap) this.cut = true;
    else this.rq.push(b);
    this.h.readable();
  }

  recvFin(): void {
    if (this.rel || this.dead || !this.h || this.finIn) return;
    this.finIn = true;
    this.h.readable();
  }

  /** The peer's reset reaches this socket. */
  resetIn(): void {
    if (this.rel) return;
    this.dead = true;
    this.rq = [];
    const h = this.h;
    this.release();
    if (h) h.closed(SockErr.Reset);
  }

  /** Connect an outgoing socket whose listener-side twin was accepted. */
  connected(o: End): void {
    this.other = o;
    this.wantW = true;
    this.kick();
  }

  /** An outgoing connection failed. */
  refuse(): void {
    if (this.rel) return;
    const h = this.h;
    this.release();
    if (h) h.closed(SockErr.Refused);
  }
}

class Client implements SimClient, End {
  sock: SimSock | null = null;
  acc = false;
  ref = false;
  private fin = false;
  private rst = false;
  private ended = false;
  private win = Infinity;
  private got = '';
  private tk = 0;
  /** Due time of the last queued delivery: later ones never overtake it (TCP keeps order). */
  private lastT = 0;

  constructor(private sim: Sim, readonly addr: string) {}

  get received(): string {
    return this.got;
  }
  get accepted(): boolean {
    return this.acc;
  }
  get refused(): boolean {
    return this.ref;
  }
  get gotFin(): boolean {
    return this.fin;
  }
  get gotReset(): boolean {
    return this.rst;
  }
  get closed(): boolean {
    return this.fin || this.rst || this.ref;
  }

  send(data: string | Uint8Array, opts?: { split?: number[]; delay?: number }): void {
    if (this.ended) throw new Error('sim: send() after end()');
    if (this.rst) throw new Error('sim: send() after reset()');
    const b = typeof data === 'string' ? latin1.bytes(data) : data.slice();
    if (this.ref || b.length === 0) return;
    const cuts = ((opts && opts.split) || []).filter((x) => x > 0 && x < b.length).sort((x, y) => x - y);
    const t = this.due(opts && opts.delay);
    let from = 0;
    for (let i = 0; i <= cuts.length; i++) {
      const to = i < cuts.length ? cuts[i] : b.length;
      if (to <= from) continue;
      const piece = b.subarray(from, to);
      from = to;
      this.sim.at(t - this.sim.now(), () => {
        if (!this.rst && this.sock) this.sock.recv(piece);
      });
    }
  }

  end(): void {
    if (this.ended || this.rst) return;
    this.ended = true;
    if (this.ref) return;
    const t = this.due(0);
    this.sim.at(t - this.sim.now(), () => {
      if (!this.rst && this.sock) this.sock.recvFin();
    });
  }

  reset(): void {
    if (this.rst) return;
    this.rst = true;
    const s = this.sock;
    if (s && !this.ref) this.sim.at(0, () => s.resetIn());
  }

  window(n: number): void {
    this.win = Math.max(0, n);
    if (this.sock) this.sock.kick();
  }

  take(): string {
    const s = this.got.slice(this.tk);
    this.tk = this.got.length;
    return s;
  }

  room(): number {
    return this.rst ? 0 : this.win;
  }

  took(n: number): void {
    this.win -= n;
  }

  recv(b: Uint8Array): void {
    if (!this.rst) this.got += latin1.str(b, 0, b.length);
  }

  recvFin(): void {
    if (!this.rst) this.fin = true;
  }

  private due(delay: number | undefined): number {
    const t = Math.max(this.sim.now() + (delay && delay > 0 ? delay : 0), this.lastT);
    this.lastT = t;
    return t;
  }
}

/** Whoever holds a UDP port: a device socket (bound on every address) or a SimUdpClient (at its own address). */
interface UdpEnd {
  /** Null for a device socket. */
  addr: string | null;
  deliver(b: Uint8Array, addr: string, port: number): void;
}

class UdpClient implements SimUdpClient, UdpEnd {
  received: SimDatagram[] = [];
  private tk = 0;
  private shut = false;

  constructor(private sim: Sim, readonly addr: string, readonly port: number) {}

  send(data: string | Uint8Array, toPort: number): void {
    if (this.shut) throw new Error('sim: udp send() after close()');
    const b = typeof data === 'string' ? latin1.bytes(data) : data.slice();
    this.sim.udpRoute(b, this.addr, this.port, SIM_DEVICE_IP, toPort);
  }

  take(): SimDatagram[] {
    const r = this.received.slice(this.tk);
    this.tk = this.received.length;
    return r;
  }

  close(): void {
    if (this.shut) return;
    this.shut = true;
    this.sim.udpFree(this.port, this);
  }

  deliver(b: Uint8Array, addr: string, port: number): void {
    this.received.push({ data: latin1.str(b, 0, b.length), addr: addr, from: port });
  }
}

/** The device's address as its UDP peers see it (the access point's). */
const SIM_DEVICE_IP = '192.168.4.1';

interface Lst {
  accept: (s: Sock) => SockHandler | null;
  /** Connections waiting for their accept event. */
  pend: number;
  shut: boolean;
}

class SimStorage implements Storage {
  private files = new Map<string, Uint8Array>();
  private used = 0;

  constructor(private cap: number) {}

  read(name: string): Uint8Array | null {
    const f = this.files.get(fname(name));
    return f ? f.slice() : null;
  }

  write(name: string, data: Uint8Array, offset: number, size: number): boolean {
    const n = fname(name);
    const off = offset > 0 ? Math.floor(offset) : 0;
    if (n.length === 0) return false;
    let f = this.files.get(n);
    // Like Espruino: offset 0 (re)creates the file with `size` (or the data's length); unwritten bytes read as 0xFF (erased flash).
    if (off === 0 || !f) {
      const total = size > 0 ? Math.floor(size) : off + data.length;
      if (off + data.length > total) return false;
      const old = f ? f.length : 0;
      if (this.used - old + total > this.cap) return false;
      f = new Uint8Array(total).fill(0xff);
      this.files.set(n, f);
      this.used += total - old;
    } else if (off + data.length > f.length) return false;
    f.set(data, off);
    return true;
  }

  text(name: string, offset: number): string | null {
    const f = this.files.get(fname(name));
    return f ? latin1.str(f, offset, f.length) : null;
  }

  erase(name: string): boolean {
    const n = fname(name);
    const f = this.files.get(n);
    if (!f) return false;
    this.used -= f.length;
    this.files.delete(n);
    return true;
  }

  list(prefix: string): string[] {
    const out: string[] = [];
    this.files.forEach((_f, n) => {
      if (!prefix || n.startsWith(prefix)) out.push(n);
    });
    return out.sort();
  }

  free(): number {
    return this.cap - this.used;
  }
}

/** The device silently truncates file names to 28 characters. */
function fname(name: string): string {
  return String(name).slice(0, 28);
}

class SimWifiImpl implements SimWifi {
  networks: WifiNet[] = [];
  scanMs = 1500;
  connectMs = 0;
  passwords: { [ssid: string]: string } = {};
  failNextScan: string | null = null;
  ap: { ssid: string; password: string } | null = null;
  forgotten = false;
  failAP = 0;
  private gone: { [ssid: string]: boolean } = {};
  private listener: (ev: 'lost' | 'up', info: string) => void = () => {};
  private scanning = false;
  private join: { done: (err: string | null) => void; timer: number } | null = null;
  private st = { sta: 'off', ssid: '', ip: '0.0.0.0', apIp: '0.0.0.0' };

  constructor(private clock: Clock) {}

  scan(done: (err: string | null, list: WifiNet[] | null) => void): void {
    if (this.scanning) {
      this.clock.soon(() => done('busy', null));
      return;
    }
    this.scanning = true;
    const err = this.failNextScan;
    this.failNextScan = null;
    this.clock.after(this.scanMs, () => {
      this.scanning = false;
      if (err) done(err, null);
      else done(null, this.networks.filter((n) => !this.gone[n.ssid]).map((n) => ({ ssid: n.ssid, rssi: n.rssi, channel: n.channel, auth: n.auth })));
    });
  }

  connect(ssid: string, password: string, done: (err: string | null) => void): void {
    this.abortJoin();
    this.st = { sta: 'connecting', ssid: ssid, ip: '0.0.0.0', apIp: this.st.apIp };
    const timer = this.clock.after(this.connectMs, () => {
      this.join = null;
      let err: string | null = null;
      if (!this.networks.some((n) => n.ssid === ssid) || this.gone[ssid]) err = 'not found';
      else if ((this.passwords[ssid] || '') !== password) err = 'auth';
      this.st.sta = err === null ? 'connected' : err === 'auth' ? 'wrong_password' : 'no_ap_found';
      this.st.ip = err === null ? '192.168.1.50' : '0.0.0.0';
      if (err !== null) this.st.ssid = '';
      done(err);
      if (err === null) this.listener('up', this.st.ip);
    });
    this.join = { done: done, timer: timer };
  }

  disconnect(): void {
    this.abortJoin();
    this.st = { sta: 'off', ssid: '', ip: '0.0.0.0', apIp: this.st.apIp };
  }

  startAP(ssid: string, password: string, done: (err: string | null) => void): void {
    let err: string | null = null;
    if (this.failAP > 0) {
      this.failAP--;
      err = 'timeout';
    } else if (!ssid || ssid.length > 32) err = 'bad ssid';
    else if (password && (password.length < 8 || password.length > 63)) err = 'bad password';
    if (err === null) {
      this.ap = { ssid: ssid, password: password };
      this.st.apIp = '192.168.4.1';
    }
    this.clock.soon(() => done(err));
  }

  stopAP(): void {
    this.ap = null;
    this.st.apIp = '0.0.0.0';
  }

  on(fn: (ev: 'lost' | 'up', info: string) => void): void {
    this.listener = fn;
  }

  /** The hostname the firmware gave the radio. */
  host = '';

  hostname(name: string): void {
    this.host = name;
  }

  mac(): string {
    return '24:6f:28:aa:3f:2a';
  }

  forget(): void {
    this.forgotten = true;
  }

  dropStation(reason = 'beacon timeout'): void {
    const was = this.st.sta === 'connected' ? this.st.ssid : '';
    if (was) this.gone[was] = true;
    this.st = { sta: 'off', ssid: '', ip: '0.0.0.0', apIp: this.st.apIp };
    if (was) this.clock.soon(() => this.listener('lost', reason));
  }

  networkGone(ssid: string): void {
    if (this.st.sta === 'connected' && this.st.ssid === ssid) this.dropStation();
    this.gone[ssid] = true;
  }

  networkBack(ssid: string): void {
    delete this.gone[ssid];
  }

  status(): { sta: string; ssid: string; ip: string; apIp: string; rssi: number } {
    const n = this.st.sta === 'connected' ? this.networks.filter((x) => x.ssid === this.st.ssid)[0] : undefined;
    return { sta: this.st.sta, ssid: this.st.ssid, ip: this.st.ip, apIp: this.st.apIp, rssi: n ? n.rssi : 0 };
  }

  /** A join still running is superseded: its callback gets "aborted". */
  private abortJoin(): void {
    const j = this.join;
    if (!j) return;
    this.join = null;
    this.clock.cancel(j.timer);
    this.clock.soon(() => j.done('aborted'));
  }
}

/** The simulated platform: a Hal whose time, network, flash and radio are driven by the test (see the file comment). */
export class Sim implements Hal {
  net: Net;
  clock: Clock;
  codec: Codec = latin1;
  mem: Mem;
  storage: Storage;
  wifi: SimWifi;
  udp: Udp;
  crypto: Crypto = simCrypto;
  /** Reboots asked for (the app's state is not reset: a test starts a new app on the same Storage), and the telnet console's state. */
  reboots = 0;
  console = true;
  sys: Sys = {
    /** As if started by the boot loader from slot 0, confirmed: a test may change it (a trial, the other slot) before it starts an app. */
    boot: { slot: 0, trial: false },
    reboot: () => {
      this.reboots++;
    },
    netConsole: (on) => {
      this.console = on;
      return true;
    },
  };
  private rnd: number;
  /** Deterministic bytes (xorshift32 from the seed): tests only, never a device. */
  random = (n: number): Uint8Array => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let x = this.rnd;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rnd = x >>> 0;
      b[i] = x & 0xff;
    }
    return b;
  };
  /** Every line given to log(), in order. */
  logs: string[] = [];
  /** Cap on the bytes one Sock.write() takes (forces partial writes). Default Infinity. */
  maxWrite = Infinity;
  /** Offer received pieces as strings (SockHandler.data) and take whole strings (Sock.send), as the Espruino HAL does. Default true. */
  strings = true;
  /** Most unread bytes a socket holds; input past it is dropped and read() then returns -2, as the Espruino HAL does (the interpreter cannot pause a socket). Default Infinity. */
  rxCap = Infinity;
  /** Connections a listener queues before the next run(). */
  backlog: number;
  /** What mem.usage() reports as used, bytes; tests may set it. */
  memUsed: number;
  /** Sockets counted by openSockets(); internal. */
  openCount = 0;
  /** UDP: drop a datagram (either direction). Default 0 (none). */
  udpLoss: SimUdpFault = 0;
  /** UDP: deliver a datagram twice. Default 0 (never). */
  udpDup: SimUdpFault = 0;
  /** UDP: ms from send to delivery, a number or a function of the datagram's number (and copy: 0, or 1 for a duplicate); unequal delays reorder. Default 0 (next run()). */
  udpDelay: number | ((n: number, copy: number) => number) = 0;
  /** Most bytes of a datagram the device's sockets receive; the rest is cut off (ESP32: 528). */
  udpRecvMax = 528;
  /** Datagrams sent so far, both directions (the next one's number for the fault settings). */
  udpSent = 0;

  private t = 0;
  private seq = 0;
  private heap: Ev[] = [];
  private soonQ: Array<(() => void) | null> = [];
  private soonHead = 0;
  private timers = new Map<number, Ev>();
  private timerId = 0;
  private lsn = new Map<number, Lst>();
  private running = false;
  private nPeers = 0;
  private udpEnds = new Map<number, UdpEnd>();
  private udpRnd: number;

  constructor(opts?: SimOpts) {
    const o = opts || {};
    this.backlog = o.backlog !== undefined ? o.backlog : 8;
    this.rnd = (o.seed || 1) >>> 0 || 1;
    this.udpRnd = (this.rnd ^ 0x9e3779b9) >>> 0 || 1;
    const memTotal = o.memTotal !== undefined ? o.memTotal : 16383 * 14;
    this.memUsed = Math.round(memTotal / 4);
    this.mem = { usage: () => ({ used: this.memUsed, total: memTotal, unit: 'bytes' }) };
    this.storage = new SimStorage(o.storageSize !== undefined ? o.storageSize : 896 * 1024);
    this.clock = {
      now: () => this.t,
      after: (ms, fn) => {
        const id = ++this.timerId;
        const e = this.at(ms, () => {
          this.timers.delete(id);
          fn();
        });
        this.timers.set(id, e);
        return id;
      },
      cancel: (h) => {
        const e = this.timers.get(h);
        if (!e) return;
        e.dead = true;
        this.timers.delete(h);
      },
      soon: (fn) => {
        this.soonQ.push(fn);
      },
    };
    this.net = {
      listen: (port, accept, err) => this.listen(port, accept, err),
      connect: (host, port, h) => this.outgoing(host, port, h),
    };
    this.wifi = new SimWifiImpl(this.clock);
    this.udp = { bind: (port, recv) => this.udpBind(port, recv) };
  }

  /** Append a console line to `logs`. */
  log = (line: string): void => {
    this.logs.push(line);
  };

  /** Sim time, ms; starts at 0. */
  now(): number {
    return this.t;
  }

  /** Run soon() tasks and every event due now until none is left; throws Error('sim: livelock') after 1e6 steps. */
  run(): void {
    if (this.running) throw new Error('sim: run() or advance() called from inside a callback');
    this.running = true;
    try {
      for (let steps = 0; ; steps++) {
        if (steps >= 1e6) throw new Error('sim: livelock');
        if (this.soonHead < this.soonQ.length) {
          const fn = this.soonQ[this.soonHead] as () => void;
          this.soonQ[this.soonHead++] = null;
          if (this.soonHead === this.soonQ.length) {
            this.soonQ = [];
            this.soonHead = 0;
          }
          fn();
          continue;
        }
        const e = this.peek();
        if (!e || e.t > this.t) break;
        this.pop();
        e.fn();
      }
    } finally {
      this.running = false;
    }
  }

  /** Move time forward by `ms`, stopping at each due event's own time and running everything due there, then at now+ms. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error('sim: advance() needs ms >= 0');
    const end = this.t + ms;
    this.run();
    for (;;) {
      const e = this.peek();
      if (!e || e.t > end) break;
      if (e.t > this.t) this.t = e.t;
      this.run();
    }
    this.t = end;
    this.run();
  }

  /** Due time of the next event (now if something is runnable), Infinity if nothing is scheduled. */
  nextAt(): number {
    if (this.soonHead < this.soonQ.length) return this.t;
    const e = this.peek();
    return e ? Math.max(e.t, this.t) : Infinity;
  }

  /** A peer opens a TCP connection to `port` (from address `ip`, or a new one each time): refused at once if nothing listens or the backlog is full, else accepted on the next run(). */
  connect(port: number, ip?: string): SimClient {
    const c = new Client(this, this.peerAddr(ip));
    const l = this.lsn.get(port);
    if (!l || l.pend >= this.backlog) {
      c.ref = true;
      return c;
    }
    const s = new SimSock(this, c.addr);
    s.other = c;
    c.sock = s;
    l.pend++;
    this.at(0, () => {
      l.pend--;
      const h = l.shut ? null : l.accept(s);
      if (!h) {
        s.release();
        c.ref = true;
        return;
      }
      s.h = h;
      c.acc = true;
      if (!s.rel) {
        s.counted = true;
        this.openCount++;
      }
    });
    return c;
  }

  /** Sockets of the core (accepted or outgoing) not yet released by close(), a reset or a refusal: the leak check. */
  openSockets(): number {
    return this.openCount;
  }

  /** A UDP peer at `ip` (default 10.0.0.x) and `port` (default: a free one from 50000). Throws if the port is taken. */
  udpClient(port?: number, ip?: string): SimUdpClient {
    let p = port !== undefined ? port : 50000;
    if (port === undefined) while (this.udpEnds.has(p)) p++;
    else if (this.udpEnds.has(p)) throw new Error('sim: UDP port ' + p + ' is taken');
    this.nPeers++;
    const c = new UdpClient(this, ip || '10.0.0.' + (2 + (this.nPeers % 250)), p);
    this.udpEnds.set(p, c);
    return c;
  }

  /** The ports the device's UDP sockets hold (the leak check). */
  udpPorts(): number[] {
    const r: number[] = [];
    this.udpEnds.forEach((e, p) => {
      if (e.addr === null) r.push(p);
    });
    return r.sort((a, b) => a - b);
  }

  /** Send a datagram (internal): the fault settings apply; it reaches whoever holds `toPort` at delivery time (a peer only at its own address). */
  udpRoute(b: Uint8Array, fromAddr: string, fromPort: number, toAddr: string, toPort: number): void {
    const n = this.udpSent++;
    if (this.fault(this.udpLoss, n)) return;
    const copies = this.fault(this.udpDup, n) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const d = this.udpDelay;
      this.at(typeof d === 'function' ? d(n, i) : d, () => {
        const e = this.udpEnds.get(toPort);
        if (e && (e.addr === null || e.addr === toAddr)) e.deliver(b, fromAddr, fromPort);
      });
    }
  }

  /** Release a UDP port (internal), if `e` still holds it. */
  udpFree(port: number, e: UdpEnd): void {
    if (this.udpEnds.get(port) === e) this.udpEnds.delete(port);
  }

  private fault(f: SimUdpFault, n: number): boolean {
    if (typeof f === 'function') return f(n);
    if (!(f > 0)) return false;
    let x = this.udpRnd;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.udpRnd = x >>> 0;
    return this.udpRnd / 4294967296 < f;
  }

  private udpBind(port: number, recv: (data: Uint8Array, addr: string, port: number) => void): UdpSock | null {
    if (!(port > 0 && port < 65536 && Math.floor(port) === port) || this.udpEnds.has(port)) return null;
    let open = true;
    const end: UdpEnd = {
      addr: null,
      deliver: (b, addr, from) => {
        if (!open) return;
        // A fresh copy per delivery, cut as the board cuts it; scribbled over once recv returns, so a core that
        // keeps the view past its call (the contract forbids it) reads garbage here rather than on a board.
        const v = b.slice(0, Math.min(b.length, this.udpRecvMax));
        recv(v, addr, from);
        v.fill(0xee);
      },
    };
    this.udpEnds.set(port, end);
    return {
      send: (data, off, len, addr, to) => {
        if (!open || !(to > 0 && to < 65536 && Math.floor(to) === to) || !(off >= 0 && len >= 0 && off + len <= data.length) || len > 65507) return false;
        this.udpRoute(data.slice(off, off + len), SIM_DEVICE_IP, port, addr, to);
        return true;
      },
      close: () => {
        if (!open) return;
        open = false;
        this.udpFree(port, end);
      },
    };
  }

  /** Whether a listener is open on `port`. */
  listening(port: number): boolean {
    return this.lsn.has(port);
  }

  /** Schedule `fn` at now+ms (internal; FIFO among equal times). */
  at(ms: number, fn: () => void): Ev {
    const e: Ev = { t: this.t + (ms > 0 ? ms : 0), q: ++this.seq, fn: fn, dead: false };
    const h = this.heap;
    let i = h.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
    return e;
  }

  private peek(): Ev | null {
    while (this.heap.length > 0 && this.heap[0].dead) this.pop();
    return this.heap.length > 0 ? this.heap[0] : null;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Ev;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r], h[l]) ? r : l;
      if (!before(h[c], last)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }

  private peerAddr(ip?: string): string {
    this.nPeers++;
    return (ip || '10.0.0.' + (2 + (this.nPeers % 250))) + ':' + (40000 + this.nPeers);
  }

  private listen(port: number, accept: (s: Sock) => SockHandler | null, err: (code: number) => void): Listener | null {
    if (!(port > 0 && port < 65536 && Math.floor(port) === port)) {
      this.clock.soon(() => err(SockErr.Other));
      return null;
    }
    if (this.lsn.has(port)) {
      this.clock.soon(() => err(SockErr.InUse));
      return null;
    }
    const l: Lst = { accept: accept, pend: 0, shut: false };
    this.lsn.set(port, l);
    return {
      close: () => {
        if (l.shut) return;
        l.shut = true;
        this.lsn.delete(port);
      },
    };
  }

  private outgoing(host: string, port: number, h: SockHandler): Sock {
    const o = new SimSock(this, host + ':' + port);
    o.h = h;
    o.counted = true;
    this.openCount++;
    this.at(0, () => {
      if (o.rel) return;
      const l = this.lsn.get(port);
      if (!l) {
        o.refuse();
        return;
      }
      const s = new SimSock(this, this.peerAddr());
      s.other = o;
      const hs = l.accept(s);
      if (!hs) {
        s.release();
        o.refuse();
        return;
      }
      s.h = hs;
      if (!s.rel) {
        s.counted = true;
        this.openCount++;
      }
      o.connected(s);
    });
    return o;
  }
}

function before(a: Ev, b: Ev): boolean {
  return a.t < b.t || (a.t === b.t && a.q < b.q);
}
