/**
 * The HAL on the Espruino 2v29 interpreter (ESP32 boards, the Linux build,
 * the emulator's Espruino-shaped shim): `require("net")`, `getTime`, timers,
 * `E`, `process.memory()`.
 *
 * The interpreter's sockets speak strings and have no backpressure, so:
 * - strings become bytes only here: received data copied into the core's
 *   buffer by the interpreter's typed-array `set(string)`,
 *   sent data with `E.toString` (a Uint8Array given to `socket.write` would be
 *   sent as the text "65,66,67");
 * - a socket holds at most one piece of at most 536 bytes (one TCP segment,
 *   what the interpreter sends per loop pass) in the interpreter's unbounded
 *   send buffer: `write` takes a piece, then returns 0 until the socket's
 *   `drain` event, which becomes `writable()`; `send` takes a whole response
 *   string of up to a send buffer (the board's txSize), and one piece behind it;
 * - received strings wait in a short per-socket queue until the core reads
 *   them; input from a peer that pushes more than the queue may hold is
 *   dropped from there on (the interpreter cannot pause a socket, and memory
 *   is fixed), and `read` says so (-2) once the queue is read: the socket
 *   stays open, so every response already due still goes out.
 *
 * Interpreter facts this relies on (its socketserver source): `drain` fires
 * when the send buffer empties unless `end()` was called; a socket closes as
 * soon as the peer's FIN arrives, so a half-closed peer cannot receive the
 * rest of a response here (`end` then `close` come together); `error` comes
 * before `close`, never for an orderly close; the connect callback and every
 * socket event come from the event loop, never from inside the call that
 * caused them.
 *
 * Written for size (it is part of the 16 KB core) without spending the
 * interpreter's memory per socket: every closure costs it about eight
 * variables per instance (measured), so a socket is one small object whose
 * methods live on a shared prototype, and one set of listeners serves every
 * socket (the interpreter calls them with `this` = the socket). The state is
 * one bit set.
 */
import type { Board } from '../boards/types';
import type { Hal, Sock, SockHandler } from './hal';
import { SockErr } from './hal';
import type { EspE, EspEnv, EspNet, EspSocket } from './espruino-types';

// The interpreter's globals, for espruinoEnv() only (module-local: they do not leak into other files).
declare const E: EspE;
declare function getTime(): number;
declare function setTimeout(fn: () => void, ms: number): number;
declare function clearTimeout(handle: unknown): void;
declare const process: { memory(gc?: boolean): { usage: number; total: number } };
declare const console: { log(line: string): void };

/** Largest piece handed to a socket per `drain`: the interpreter's network chunk size (one TCP MSS on ESP32). */
export const PIECE = 536;

/**
 * The HAL's numbers, a const enum so that they are inlined as literals (and
 * `F.Busy | F.Dead` folded) rather than kept as variables by the minifier.
 */
const enum K {
  /** A day, ms: a `getTime()` step larger than this (or backwards) is the clock being set, not time passing. */
  Day = 86400000,
  /** The interpreter's socket error codes the HAL tells apart (its socketerrors.h): unsent data lost, reset. */
  ErrUnsent = -8,
  ErrReset = -9,
  /** A closing socket whose peer is still sending is looked at this often, ms, and ended once it is quiet or after Rounds looks. */
  LingerMs = 100,
  Rounds = 20,
}

/** Socket state bits. */
const enum F {
  /** A piece is in the interpreter's send buffer (or an outgoing socket is not connected yet): no more until `drain`. */
  Busy = 1,
  /** The peer's `end` arrived: read() returns -1 once the queue is empty. */
  Eof = 2,
  /** shutdown() was called: `end()` once the piece in flight is gone. */
  Shut = 4,
  /** No callback may follow (closed() was reported, or the core called close()). */
  Dead = 8,
  /** Connected (accepted sockets from the start, outgoing ones from their connect callback): an error is no longer a refusal. */
  Conn = 16,
  /** Input overran the queue: what arrives from now on is dropped; read() returns -2 once the queue is empty. */
  Cut = 32,
  /** Input was dropped (after Cut, or after the core's close()) since the last look. */
  Rx = 64,
  /** A second piece (a whole response, send()) was taken while one was in flight: none more until `drain`. */
  More = 128,
}

/** Stands in for the socket of a connect that threw (the Linux build): close() and shutdown() may still end it. */
const NO_SOCKET = { end() {} } as EspSocket;

/**
 * The interpreter's own globals. `require` is looked up by name at run time
 * because bundlers rewrite every `require` they see (esbuild into a shim that
 * names Proxy); a host running the bundle (the emulator) must therefore make
 * `require`, `E`, `getTime`, timers, `process` and `console` true globals of
 * the realm the bundle runs in.
 */
export function espruinoEnv(): EspEnv {
  return {
    require: new Function('return require')(),
    E: E,
    getTime: getTime,
    setTimeout: setTimeout,
    clearTimeout: clearTimeout,
    // No garbage-collection pass first: the interpreter frees by reference count at once, a pass only finds
    // unreachable cycles, and it costs a walk of every variable (a third of /api/status's time on 2v29).
    memory: () => process.memory(false),
    log: (line) => console.log(line),
    put: (dst, off, s) => dst.set(s as never, off),
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
  const E = e.E;
  /** Most unread bytes one socket may queue. */
  const qmax = Math.max(2 * board.limits.rxSize, 4 * PIECE);
  /** Later, from the interpreter's event loop (never from inside the caller's call). */
  const soon = (fn: () => void): void => {
    e.setTimeout(fn, 0);
  };
  /**
   * `u8[a..b)` as a string; '' also when the interpreter has no memory left for it.
   * Given one view of a whole flat buffer, E.toString returns the buffer's own backing
   * string (no copy), which would change with the buffer; a second argument forces a copy.
   */
  const str = (u8: Uint8Array, a: number, b: number): string => E.toString(u8.subarray(a, b), '') || '';

  /** One interpreter socket behind a Sock: a queue of received strings, one piece in flight. */
  interface S extends Sock {
    peer: string;
    /** The interpreter's socket. */
    s: EspSocket;
    h: SockHandler;
    /** F bits. */
    f: number;
    /** Received strings not read yet, and their length in all. */
    q: string[];
    n: number;
  }

  /** The methods of every S, as its prototype: closures would cost the interpreter about eight variables each, per socket. */
  const P: Pick<Sock, 'read' | 'write' | 'send' | 'shutdown' | 'close'> & ThisType<S> = {
    read(dst, off, len) {
      const w = this;
      const q = w.q;
      let got = 0;
      while (got < len && q.length) {
        // A string read in part is queued again as its rest (a copy either way; none for whole strings).
        let d = q[0];
        const k = len - got;
        if (d.length > k) {
          q[0] = d.substr(k);
          d = d.substr(0, k);
        } else q.shift();
        // Its char codes straight into dst (E.toUint8Array then set would copy twice: 4x slower).
        e.put(dst, off + got, d);
        got += d.length;
      }
      w.n -= got;
      return got ? got : w.f & F.Cut ? -2 : w.f & (F.Eof | F.Dead) ? -1 : 0;
    },

    write(src, off, len) {
      const w = this;
      if (len <= 0 || w.f & (F.Busy | F.Shut | F.Dead)) return 0;
      const k = len < PIECE ? len : PIECE;
      const d = str(src, off, off + k);
      w.f |= F.Busy;
      if (!d) {
        // Out of memory for the string: nothing was taken; offer `writable()` again shortly.
        e.setTimeout(() => dr(w), 50);
        return 0;
      }
      try {
        // Copied into the socket's send buffer at once (so the view may alias the core's buffer).
        w.s.write(d);
      } catch (x) {
        // "This socket is closed.": the interpreter dropped it. Its close event may never come (a peer that
        // closed before the connection callback ran gets neither `end` nor `close`, measured on 2v29), so the
        // socket is reported gone now — from a timer, never from inside the core's call.
        soon(() => die(w, SockErr.Reset));
        return 0;
      }
      return k;
    },

    /**
     * A whole response as the string it was built as: no bytes made, none converted back, and no poll pass to write
     * it. At most a send buffer's worth (the interpreter sends it a piece per pass; the core's tx would hold as
     * much), and at most two in flight, the second one piece: the previous response's `drain` is often still queued
     * behind the next request's `data` (2v29 runs `data` at once and queues `drain`), and waiting for it would cost a
     * poll pass per request.
     */
    send(d) {
      const w = this;
      if (d.length > (w.f & F.Busy ? PIECE : Math.max(board.limits.txSize, PIECE)) || w.f & (F.More | F.Shut | F.Dead) || !(w.f & F.Conn)) return false;
      w.f |= w.f & F.Busy ? F.More : F.Busy;
      try {
        w.s.write(d);
      } catch (x) {
        soon(() => die(w, SockErr.Reset)); // as write(): the interpreter dropped the socket
      }
      return true;
    },

    /** The interpreter cannot half-close: the FIN goes out with a full close once the piece in flight has drained, and reading stops there. */
    shutdown() {
      const w = this;
      if (w.f & (F.Shut | F.Dead)) return;
      w.f |= F.Shut;
      if (!(w.f & F.Busy)) w.s.end();
    },

    /** `end()` flushes what was written, keeps reading (and discarding) until the peer is quiet, then closes; the interpreter has no `destroy()`. */
    close() {
      die(this);
    },
  };

  /** A new S over `s`, in state `f`. */
  const sock = (s: EspSocket, f: number, peer: string): S => {
    const w = Object.create(P) as S;
    w.s = s;
    w.f = f;
    w.peer = peer;
    w.q = [];
    w.n = 0;
    return w;
  };

  /** The end of a socket, once: with `code`, reported to the core (nothing follows); without, the core's close(). */
  const die = (w: S, code?: number): void => {
    if (w.f & F.Dead) return;
    w.f |= F.Dead | (w.n ? F.Rx : 0);
    w.q = [];
    if (code === undefined) linger(w, K.Rounds);
    else w.h.closed(code);
  };
  /**
   * End a socket the core closed once its peer is quiet. 2v29's `end()` with nothing left to send closes at once,
   * and a close with input unread resets the connection, which makes the peer's stack drop what it has not read yet:
   * the 431 to a huge head, the last responses to a flood. The interpreter reads (here: drops) input until then.
   */
  const linger = (w: S, k: number): void => {
    if (w.f & F.Rx && k) {
      w.f &= ~F.Rx;
      e.setTimeout(() => linger(w, k - 1), K.LingerMs);
    } else w.s.end();
  };
  /** `drain`, the connect callback, or the retry after a failed conversion: the piece (or the wait) is over. */
  const dr = (w: S): void => {
    if ((w.f & (F.Busy | F.Dead)) !== F.Busy) return;
    w.f = (w.f & ~(F.Busy | F.More)) | F.Conn;
    if (w.f & F.Shut) w.s.end();
    else w.h.writable();
  };

  /** An interpreter socket carrying its HAL socket, for the shared listeners. */
  type Raw = EspSocket & { w: S };
  // The interpreter calls a socket's listeners with `this` = the socket (measured on 2v29, as
  // Node does), so one set of listeners serves every socket through its `w`.
  /** `data` (a string) or `end` (no argument): queue the string; from a peer that outruns the core, drop it and what follows. */
  const onRx = function (this: Raw, d?: string): void {
    const w = this.w;
    if (w.f & (F.Dead | F.Cut)) {
      w.f |= F.Rx;
      return;
    }
    if (d == null) w.f |= F.Eof;
    else if (!w.n && !(w.f & F.Eof) && w.h.data && w.h.data(d)) return; // taken where it arrived
    else if (w.n + d.length > qmax) w.f |= F.Cut | F.Rx;
    else {
      w.q.push(d);
      w.n += d.length;
    }
    w.h.readable();
  };
  const onDrain = function (this: Raw): void {
    dr(this.w);
  };
  /** Before the connection existed an error is a refusal; otherwise a reset or another failure. */
  const onErr = function (this: Raw, x: { code: number }): void {
    const w = this.w;
    const c = x && x.code;
    die(w, !(w.f & F.Conn) ? SockErr.Refused : c === K.ErrReset || c === K.ErrUnsent ? SockErr.Reset : SockErr.Other);
  };
  const onClose = function (this: Raw, bad: boolean): void {
    die(this.w, bad ? SockErr.Other : SockErr.None);
  };
  /** Every interpreter socket's listeners, by event. */
  const on: { [ev: string]: (this: Raw, a: never) => void } = { data: onRx, end: onRx, drain: onDrain, error: onErr, close: onClose };
  /** Route the interpreter socket's events to `w`. */
  const wire = (s: EspSocket, w: S): void => {
    (s as Raw).w = w;
    for (const ev in on) (s.on as (ev: string, fn: (a: never) => void) => void)(ev, on[ev]);
  };

  let last = e.getTime() * 1000;
  let base = 0;
  return {
    net: {
      listen(port, accept, err) {
        try {
          const srv = net.createServer((s) => {
            // A peer that closed before this callback ran is already gone, and its `close` went to no
            // listener (2v29 queues events to the listeners present when they fire): an empty write throws
            // "This socket is closed." for it, and costs nothing otherwise. It takes no slot.
            try {
              s.write('');
            } catch (x) {
              return;
            }
            // Espruino has no remoteAddress on its sockets: the peer is then "?:0".
            const w = sock(s, F.Conn, (s.remoteAddress || '?') + ':' + (s.remotePort || 0));
            if (!(w.h = accept(w) as SockHandler)) return s.end();
            wire(s, w);
          });
          srv.listen(port);
          // Its close() stops accepting, established sockets stay: a Listener as it is.
          return srv;
        } catch (x) {
          // The interpreter throws "Unable to create socket"; the usual cause is a port in use.
          soon(() => err(SockErr.InUse));
          return null;
        }
      },
      connect(host, port, h) {
        // Not connected (busy) until the connect callback, which is the first `drain`.
        const w = sock(NO_SOCKET, F.Busy, host + ':' + port);
        w.h = h;
        try {
          wire((w.s = net.connect({ host: host, port: port }, () => dr(w))), w);
        } catch (x) {
          // The Linux build connects synchronously and throws; report it as the boards do, from an event.
          soon(() => die(w, SockErr.Refused));
        }
        return w;
      },
    },
    /**
     * Time from `getTime()`, which is the wall clock: it jumps when SNTP or
     * `setTime()` sets it. A step backwards or longer than a day counts as no
     * time passing, so deadlines survive the jump (at the price of losing a real
     * gap of more than a day between two readings, which no deadline spans).
     */
    clock: {
      now() {
        const t = e.getTime() * 1000;
        const d = t - last;
        last = t;
        if (d > 0 && d < K.Day) base += d;
        return base;
      },
      // `+`: a host's timer handle (an object on Node) as its numeric id.
      after: (ms, fn) => +(e.setTimeout(fn, ms) as number),
      cancel(t) {
        // Espruino's clearTimeout() with no id clears every timer, and throws for an id that already ran.
        if (t)
          try {
            e.clearTimeout(t);
          } catch (x) {
            // already ran
          }
      },
      soon: soon,
    },
    // A view of the string's own storage, not a copy (E.toUint8Array of a 260-byte response: 18 µs; this: 3 µs).
    // The interpreter appends in place only to a string nothing else references, so the view stays valid.
    codec: { str: str, bytes: (s) => new Uint8Array(E.toArrayBuffer(s)), put: e.put },
    mem: {
      usage() {
        const m = e.memory();
        return { used: m.usage, total: m.total, unit: 'jsvars' };
      },
    },
    log: e.log,
  };
}
