/**
 * The HAL on the Espruino 2v29 interpreter (ESP32 boards, the Linux build,
 * the emulator's Espruino-shaped shim): `require("net")`, `Storage`, `Wifi`,
 * `getTime`, timers, `E`, `process.memory()`.
 *
 * The interpreter's sockets speak strings and have no backpressure, so:
 * - strings become bytes only here: received data with `E.toUint8Array`,
 *   sent data with `E.toString` (a Uint8Array given to `socket.write` would be
 *   sent as the text "65,66,67");
 * - a socket holds at most one piece of at most 536 bytes (one TCP segment,
 *   what the interpreter sends per loop pass) in the interpreter's unbounded
 *   send buffer: `write` takes a piece, then returns 0 until the socket's
 *   `drain` event, which becomes `writable()`;
 * - received strings wait in a short per-socket queue until the core reads
 *   them; a peer that pushes more than the queue may hold is cut off (the
 *   interpreter cannot pause a socket, and memory is fixed).
 *
 * Interpreter facts this relies on (its socketserver source): `drain` fires
 * when the send buffer empties unless `end()` was called; a socket closes as
 * soon as the peer's FIN arrives, so a half-closed peer cannot receive the
 * rest of a response here (`end` then `close` come together); `error` comes
 * before `close`, never for an orderly close.
 */
import type { Board } from '../boards/types';
import type { Clock, Codec, Hal, Listener, Mem, Net, Sock, SockHandler } from './hal';
import { SockErr } from './hal';
import type { EspE, EspEnv, EspNet, EspServer, EspSocket } from './espruino-types';

// The interpreter's globals, for espruinoEnv() only (module-local: they do not leak into other files).
declare const E: EspE;
declare function getTime(): number;
declare function setTimeout(fn: () => void, ms: number): number;
declare function clearTimeout(handle: unknown): void;
declare const process: { memory(): { usage: number; total: number } };
declare const console: { log(line: string): void };

/** Largest piece handed to a socket per `drain`: the interpreter's network chunk size (one TCP MSS on ESP32). */
export const PIECE = 536;


/** A day, ms: a `getTime()` step larger than this (or backwards) is the clock being set, not time passing. */
const DAY = 86400000;

// Socket state bits (EspSock.f).
/** A piece is in the interpreter's send buffer; no more until `drain`. */
const F_BUSY = 1;
/** The peer's `end` arrived: read() returns -1 once the queue is empty. */
const F_EOF = 2;
/** shutdown() was called: `end()` once the piece in flight is gone. */
const F_SHUT = 4;
/** No callback may follow (closed() was reported, or the core called close()). */
const F_DEAD = 8;
/** Connected (accepted sockets from the start, outgoing ones after their connect callback). */
const F_CONN = 16;

/** The interpreter's socket error codes the HAL tells apart (the interpreter's socketerrors.h). */
const ERR_UNSENT = -8;
const ERR_RESET = -9;

/** What every socket of one HAL shares. */
interface Ctx {
  E: EspE;
  env: EspEnv;
  /** Most unread bytes one socket may queue. */
  qmax: number;
}

/** A socket that never connected (the Linux build throws from `net.connect`). */
const NO_SOCKET = { write: () => false, end: () => undefined, on: () => undefined } as unknown as EspSocket;

/** One interpreter socket behind the HAL's Sock: a queue of received strings, one piece in flight. */
class EspSock implements Sock {
  /** The interpreter's socket. */
  s: EspSocket;
  /** The core's handler; null once no callback may follow. */
  h: SockHandler | null = null;
  /** Received strings not read yet; the first is read up to `o`. */
  q: string[] = [];
  o = 0;
  /** Unread bytes in `q`. */
  n = 0;
  /** F_* state bits. */
  f: number;
  x: Ctx;

  constructor(s: EspSocket, x: Ctx, f: number) {
    this.s = s;
    this.x = x;
    this.f = f;
  }

  get peer(): string {
    const s = this.s;
    return (s.remoteAddress || '?') + ':' + (s.remotePort || 0);
  }

  read(dst: Uint8Array, off: number, len: number): number {
    const q = this.q;
    let got = 0;
    while (got < len && q.length > 0) {
      const str = q[0];
      const o = this.o;
      let k = str.length - o;
      if (k > len - got) k = len - got;
      dst.set(this.x.E.toUint8Array(o === 0 && k === str.length ? str : str.substr(o, k)), off + got);
      got += k;
      if (o + k < str.length) this.o = o + k;
      else {
        q.shift();
        this.o = 0;
      }
    }
    this.n -= got;
    return got === 0 && this.f & F_EOF ? -1 : got;
  }

  write(src: Uint8Array, off: number, len: number): number {
    const f = this.f;
    if (len <= 0 || f & (F_BUSY | F_SHUT | F_DEAD) || !(f & F_CONN)) return 0;
    const k = len < PIECE ? len : PIECE;
    const str = this.x.E.toString(src.subarray(off, off + k));
    this.f = f | F_BUSY;
    if (str === undefined) {
      // Out of memory for the string: nothing was taken; offer `writable()` again shortly.
      this.x.env.setTimeout(() => this.dr(), 50);
      return 0;
    }
    try {
      // Copied into the socket's send buffer at once (so the view may alias the core's buffer).
      this.s.write(str);
    } catch (e) {
      // "This socket is closed.": the interpreter dropped it and its close event is queued; stay busy until then.
      return 0;
    }
    return k;
  }

  /** The interpreter cannot half-close: the FIN goes out with a full close once the piece in flight has drained, and reading stops there. */
  shutdown(): void {
    const f = this.f;
    if (f & (F_SHUT | F_DEAD)) return;
    this.f = f | F_SHUT;
    if (!(f & F_BUSY)) this.s.end();
  }

  /** `end()` flushes what was written, keeps reading (and discarding) until the peer is quiet, then closes; the interpreter has no `destroy()`. */
  close(): void {
    if (this.f & F_DEAD) return;
    this.f |= F_DEAD;
    this.h = null;
    this.q = [];
    this.s.end();
  }

  /** `data`: queue the string, or cut off a peer that outruns the core. */
  rd(d: string): void {
    const h = this.h;
    if (!h || this.f & F_DEAD) return;
    this.q.push(d);
    this.n += d.length;
    if (this.n > this.x.qmax) {
      this.s.end();
      this.die(SockErr.Other);
      return;
    }
    h.readable();
  }

  /** `drain` (or the retry after a failed conversion): the piece is gone. */
  dr(): void {
    const f = this.f;
    if (!(f & F_BUSY) || f & F_DEAD) return;
    this.f = f & ~F_BUSY;
    if (f & F_SHUT) this.s.end();
    else if (this.h) this.h.writable();
  }

  /** `end`: the peer sent FIN. */
  eof(): void {
    if (this.f & F_DEAD || !this.h) return;
    this.f |= F_EOF;
    this.h.readable();
  }

  /** `error`: before the connection existed it is a refusal; otherwise a reset or another failure. */
  err(code: number): void {
    this.die(!(this.f & F_CONN) ? SockErr.Refused : code === ERR_RESET || code === ERR_UNSENT ? SockErr.Reset : SockErr.Other);
  }

  /** The outgoing connection is up. */
  up(): void {
    if (this.f & F_DEAD || !this.h) return;
    this.f |= F_CONN;
    this.h.writable();
  }

  /** Report the end of the socket once; nothing follows. */
  die(code: number): void {
    const h = this.h;
    if (this.f & F_DEAD || !h) return;
    this.f |= F_DEAD;
    this.h = null;
    this.q = [];
    h.closed(code);
  }
}

/** Route the interpreter socket's events to `w` (one small closure each). */
function wire(w: EspSock): void {
  const s = w.s;
  s.on('data', (d) => w.rd(d));
  s.on('drain', () => w.dr());
  s.on('end', () => w.eof());
  s.on('error', (e) => w.err(e && e.code));
  s.on('close', (hadError) => w.die(hadError ? SockErr.Other : SockErr.None));
}

/** TCP over `require("net")`. */
function espNet(net: EspNet, x: Ctx): Net {
  return {
    listen(port, accept, err): Listener | null {
      let srv: EspServer;
      try {
        srv = net.createServer((s) => {
          const w = new EspSock(s, x, F_CONN);
          const h = accept(w);
          if (!h) {
            w.f |= F_DEAD;
            s.end();
            return;
          }
          w.h = h;
          wire(w);
        });
        srv.listen(port);
      } catch (e) {
        // The interpreter throws "Unable to create socket"; the usual cause is a port in use.
        x.env.setTimeout(() => err(SockErr.InUse), 0);
        return null;
      }
      return {
        close() {
          srv.close();
        },
      };
    },
    connect(host, port, h): Sock | null {
      const w = new EspSock(NO_SOCKET, x, 0);
      w.h = h;
      try {
        w.s = net.connect({ host: host, port: port }, () => w.up());
      } catch (e) {
        // The Linux build connects synchronously and throws; report it as the boards do, from an event.
        w.s = NO_SOCKET;
        x.env.setTimeout(() => w.die(SockErr.Refused), 0);
        return w;
      }
      wire(w);
      return w;
    },
  };
}

/**
 * Time from `getTime()`, which is the wall clock: it jumps when SNTP or
 * `setTime()` sets it. A step backwards or longer than a day counts as no
 * time passing, so deadlines survive the jump (at the price of losing a real
 * gap of more than a day between two readings, which no deadline spans).
 */
function espClock(env: EspEnv): Clock {
  let last = env.getTime() * 1000;
  let base = 0;
  return {
    now() {
      const t = env.getTime() * 1000;
      const d = t - last;
      last = t;
      if (d > 0 && d < DAY) base += d;
      return base;
    },
    after(ms, fn) {
      return Number(env.setTimeout(fn, ms));
    },
    cancel(handle) {
      // Espruino's clearTimeout() with no id clears every timer, and throws for an id that already ran.
      if (!handle) return;
      try {
        env.clearTimeout(handle);
      } catch (e) {
        // already ran
      }
    },
    soon(fn) {
      env.setTimeout(fn, 0);
    },
  };
}

/** `E.toString` / `E.toUint8Array`. */
function espCodec(E: EspE): Codec {
  return {
    /** '' also when the interpreter has no memory left for the string. */
    str(u8, from, to) {
      if (to <= from) return '';
      const v = u8.subarray(from, to);
      // Given one view of a whole flat buffer, E.toString returns the buffer's own backing
      // string (no copy), which would change with the buffer; a second argument forces a copy.
      const s = v.byteOffset === 0 && v.length === v.buffer.byteLength ? E.toString(v, '') : E.toString(v);
      return s === undefined ? '' : s;
    },
    bytes(s) {
      return E.toUint8Array(s);
    },
  };
}

/**
 * The interpreter's own globals. `require` is looked up by name at run time
 * because bundlers rewrite every `require` they see (esbuild into a shim that
 * names Proxy); a host running the bundle (the emulator) must therefore make
 * `require`, `E`, `getTime`, timers, `process` and `console` true globals of
 * the realm the bundle runs in.
 */
export function espruinoEnv(): EspEnv {
  const req = new Function('return require')() as (name: string) => unknown;
  return {
    require: req,
    E: E,
    getTime: getTime,
    setTimeout: setTimeout,
    clearTimeout: clearTimeout,
    memory: () => process.memory(),
    log: (line) => console.log(line),
  };
}

/** `require(name)`, or null where the interpreter lacks the module (it throws). */
export function optional<T>(env: EspEnv, name: string): T | null {
  try {
    return (env.require(name) as T) || null;
  } catch (e) {
    return null;
  }
}

/**
 * The runtime's HAL for `board` over the interpreter (or over `env`, a
 * stand-in for its globals: tests, hosts): network, clock, codec, memory.
 * Storage and the radio are services the firmware adds (espruino-services.ts).
 * Create once, at boot.
 */
export function espruinoHal(board: Board, env?: EspEnv): Hal {
  const e = env || espruinoEnv();
  const net = optional<EspNet>(e, 'net');
  if (!net) throw new Error('espruinoHal: no "net" module');
  const x: Ctx = { E: e.E, env: e, qmax: Math.max(2 * board.limits.rxSize, 4 * PIECE) };
  const mem: Mem = {
    usage() {
      const m = e.memory();
      return { used: m.usage, total: m.total, unit: 'jsvars' };
    },
  };
  return { net: espNet(net, x), clock: espClock(e), codec: espCodec(e.E), mem: mem, log: e.log };
}
