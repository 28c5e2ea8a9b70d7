/**
 * hal/espruino.ts on Node: a fake interpreter environment (string-only
 * sockets that refuse anything but strings, a stepped clock, fake E, Storage
 * and Wifi modules) injected through espruinoHal's `env` parameter.
 */
import { PIECE } from '../hal/espruino';
import { espruinoDevice as espruinoHal } from '../hal/espruino-services';
import type { EspEnv } from '../hal/espruino-types';
import { SockErr } from '../hal/hal';
import type { Hal, Sock, SockHandler, WifiNet } from '../hal/hal';
import { simRadio, SCAN_MS, JOIN_MS } from '../hal/radio-sim';
import { espruinoUdp } from '../hal/espruino-udp';
import { board as esp32 } from '../boards/esp32';
import { board as linux } from '../boards/linux';
import type { Board } from '../boards/types';

type Fn = (...a: any[]) => void;

/** An interpreter socket: records what is written, refuses non-strings like the real one would mangle them. */
class FakeSocket {
  written: string[] = [];
  ended = 0;
  handlers: Record<string, Fn[]> = {};
  remoteAddress = '10.0.0.2';
  remotePort = 50123;
  /** The interpreter already dropped it (its write throws). */
  closed = false;
  on(ev: string, fn: Fn) {
    (this.handlers[ev] = this.handlers[ev] || []).push(fn);
  }
  write(d: unknown) {
    if (typeof d !== 'string') throw new Error('socket.write given ' + Object.prototype.toString.call(d) + ': would send "65,66,67"');
    if (this.closed) throw new Error('This socket is closed.');
    if (d) this.written.push(d);
    return false;
  }
  end() {
    this.ended++;
  }
  /** Listeners run with `this` = the socket, as on the interpreter (measured on 2v29). */
  emit(ev: string, ...a: unknown[]) {
    for (const fn of this.handlers[ev] || []) fn.apply(this, a);
  }
}

const latin1 = (u8: Uint8Array) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('latin1');
const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/** A fake interpreter: timers run only when the test advances time. */
function fakeEnv(opts: { modules?: Record<string, unknown>; busyPorts?: number[]; refuse?: boolean } = {}) {
  let t = 1000.5; // seconds, like getTime() some time after boot
  let nextId = 1;
  const timers: { id: number; at: number; fn: () => void }[] = [];
  const servers: { port: number; onConnect: (s: FakeSocket) => void; closed: boolean }[] = [];
  const outgoing: { sock: FakeSocket; cb: () => void; host: string; port: number }[] = [];
  const logs: string[] = [];
  const e = { oom: false, aliased: 0 };
  const net = {
    createServer(onConnect: (s: FakeSocket) => void) {
      const srv = { port: 0, onConnect, closed: false };
      return {
        listen(port: number) {
          if ((opts.busyPorts || []).indexOf(port) >= 0) throw new Error('Unable to create socket');
          srv.port = port;
          servers.push(srv);
        },
        close() {
          srv.closed = true;
        },
      };
    },
    connect(o: { host: string; port: number }, cb: () => void) {
      if (opts.refuse) throw new Error('Unable to connect');
      const sock = new FakeSocket();
      outgoing.push({ sock, cb, host: o.host, port: o.port });
      return sock;
    },
  };
  const modules: Record<string, unknown> = { net, ...(opts.modules || {}) };
  const env: EspEnv = {
    require(name: string) {
      if (!(name in modules)) throw new Error('Module ' + name + ' not found');
      return modules[name];
    },
    E: {
      toString(...parts: (Uint8Array | string)[]) {
        const u8 = parts[0];
        if (!(u8 instanceof Uint8Array)) throw new Error('E.toString expects bytes here');
        // The interpreter hands back a whole flat buffer's own backing string, which changes with the buffer.
        if (parts.length === 1 && u8.byteOffset === 0 && u8.length === u8.buffer.byteLength) e.aliased++;
        return e.oom ? undefined : latin1(u8) + parts.slice(1).join('');
      },
      toUint8Array: bytesOf,
      toArrayBuffer: (s: string) => bytesOf(s).buffer,
    },
    getTime: () => t,
    setTimeout(fn: () => void, ms: number) {
      const id = nextId++;
      timers.push({ id, at: t * 1000 + ms, fn });
      return id;
    },
    clearTimeout(id: unknown) {
      if (id === undefined) throw new Error('clearTimeout() with no id clears every timer on Espruino');
      const i = timers.findIndex((x) => x.id === id);
      if (i < 0) throw new Error('Unknown Timeout');
      timers.splice(i, 1);
    },
    memory: () => ({ usage: 1234, total: 16383 }),
    put: (dst: Uint8Array, off: number, s: string) => dst.set(bytesOf(s).subarray(0, Math.max(0, dst.length - off)), off),
    log: (l: string) => logs.push(l),
  };
  return {
    env,
    e,
    servers,
    outgoing,
    logs,
    timers,
    /** Move time on by `ms`, running the timers that fall due, in order. */
    advance(ms: number) {
      const end = t * 1000 + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at || a.id - b.id);
        if (!timers.length || timers[0].at > end) break;
        const tm = timers.shift()!;
        t = Math.max(t, tm.at / 1000);
        tm.fn();
      }
      t = end / 1000;
    },
    setTime(s: number) {
      t = s;
    },
    /** A client connects to the server on `port`: the interpreter socket behind it. */
    accept(port: number, closed = false) {
      const srv = servers.filter((s) => s.port === port && !s.closed)[0];
      const sock = new FakeSocket();
      sock.closed = closed;
      srv.onConnect(sock);
      return sock;
    },
  };
}

/** A handler that records what the HAL tells the core. */
function recorder() {
  const ev: string[] = [];
  const h: SockHandler = {
    readable: () => ev.push('readable'),
    writable: () => ev.push('writable'),
    closed: (err: number) => ev.push('closed ' + err),
  };
  return { ev, h };
}

/** A HAL over a fake env with one accepted socket. */
function accepted(board: Board = esp32, modules: Record<string, unknown> = {}) {
  const f = fakeEnv({ modules });
  const hal = espruinoHal(board, f.env);
  const r = recorder();
  let sock: Sock | null = null;
  hal.net.listen(80, (s) => {
    sock = s;
    return r.h;
  }, () => {
    throw new Error('listen failed');
  });
  const raw = f.accept(80);
  return { f, hal, r, raw, sock: sock! as Sock };
}

const pattern = (n: number) => {
  const u8 = new Uint8Array(n);
  for (let i = 0; i < n; i++) u8[i] = (i * 7 + 3) & 255;
  return u8;
};

describe('espruino HAL: writing', () => {
  it('hands the interpreter one string piece of at most 536 bytes, then takes nothing until drain', () => {
    const { raw, sock } = accepted();
    const src = pattern(2000);
    expect(sock.write(src, 0, 2000)).toBe(PIECE);
    expect(PIECE).toBe(536);
    expect(raw.written).toHaveLength(1);
    expect(typeof raw.written[0]).toBe('string');
    expect(raw.written[0].length).toBe(536);
    expect(sock.write(src, 536, 1464)).toBe(0);
    expect(raw.written).toHaveLength(1);
  });

  it('turns each drain into one writable(), and the pieces reassemble to the bytes offered', () => {
    const { raw, sock, r } = accepted();
    const src = pattern(2000);
    let off = 0;
    off += sock.write(src, off, src.length - off);
    for (let guard = 0; off < src.length && guard < 10; guard++) {
      const before = r.ev.length;
      raw.emit('drain');
      expect(r.ev.slice(before)).toEqual(['writable']);
      const n = sock.write(src, off, src.length - off);
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(536);
      expect(sock.write(src, off + n, src.length - off - n)).toBe(0);
      off += n;
    }
    expect(raw.written.map((s) => s.length)).toEqual([536, 536, 536, 392]);
    expect(bytesOf(raw.written.join(''))).toEqual(src);
  });

  it('ignores a drain with no piece in flight (no spurious writable)', () => {
    const { raw, r } = accepted();
    raw.emit('drain');
    expect(r.ev).toEqual([]);
  });

  it('never calls writable() from inside write()', () => {
    const { sock, r } = accepted();
    sock.write(pattern(10), 0, 10);
    sock.write(pattern(10), 0, 10);
    expect(r.ev).toEqual([]);
  });

  it('carries every byte value 0-255 in both directions', () => {
    const { raw, sock } = accepted();
    const all = new Uint8Array(256).map((_, i) => i);
    sock.write(all, 0, 256);
    expect(bytesOf(raw.written[0])).toEqual(all);
    raw.emit('data', latin1(all));
    const dst = new Uint8Array(300);
    expect(sock.read(dst, 10, 290)).toBe(256);
    expect(dst.subarray(10, 266)).toEqual(all);
  });

  it('takes nothing from a write to a socket the interpreter already closed (it throws), and reports the close that follows', () => {
    const { raw, sock, r } = accepted();
    raw.write = () => {
      throw new Error('This socket is closed.');
    };
    expect(sock.write(pattern(10), 0, 10)).toBe(0);
    expect(sock.write(pattern(10), 0, 10)).toBe(0);
    raw.emit('end');
    raw.emit('close', false);
    expect(r.ev).toEqual(['readable', 'closed ' + SockErr.None]);
  });

  it('ignores a connection whose peer closed before the connection callback ran (its close reaches no listener): no slot, no events', () => {
    const f = fakeEnv();
    const hal = espruinoHal(esp32, f.env);
    let accepts = 0;
    hal.net.listen(80, () => {
      accepts++;
      return recorder().h;
    }, () => {});
    const gone = f.accept(80, true);
    expect(accepts).toBe(0);
    expect(gone.handlers).toEqual({});
    f.accept(80);
    expect(accepts).toBe(1);
  });

  it('takes nothing when the interpreter has no memory for the string, and offers writable() again later', () => {
    const { f, raw, sock, r } = accepted();
    f.e.oom = true;
    expect(sock.write(pattern(100), 0, 100)).toBe(0);
    expect(raw.written).toHaveLength(0);
    f.e.oom = false;
    expect(r.ev).toEqual([]);
    f.advance(100);
    expect(r.ev).toEqual(['writable']);
    expect(sock.write(pattern(100), 0, 100)).toBe(100);
  });
});

describe('espruino HAL: reading', () => {
  it('queues received strings and copies them across string boundaries into the caller’s buffer', () => {
    const { raw, sock, r } = accepted();
    raw.emit('data', 'GET / HT');
    raw.emit('data', 'TP/1.1\r\n\r\n');
    expect(r.ev).toEqual(['readable', 'readable']);
    const dst = new Uint8Array(64);
    expect(sock.read(dst, 0, 5)).toBe(5);
    expect(latin1(dst.subarray(0, 5))).toBe('GET /');
    expect(sock.read(dst, 5, 64 - 5)).toBe(13);
    expect(latin1(dst.subarray(0, 18))).toBe('GET / HTTP/1.1\r\n\r\n');
    expect(sock.read(dst, 0, 64)).toBe(0);
  });

  it('returns -1 after end, once every queued byte was read', () => {
    const { raw, sock, r } = accepted();
    raw.emit('data', 'abc');
    raw.emit('end');
    expect(r.ev).toEqual(['readable', 'readable']);
    const dst = new Uint8Array(2);
    expect(sock.read(dst, 0, 2)).toBe(2);
    expect(sock.read(dst, 0, 2)).toBe(1);
    expect(sock.read(dst, 0, 2)).toBe(-1);
    expect(sock.read(dst, 0, 2)).toBe(-1);
  });

  it('drops input past what a socket may hold: read() gives what was queued, then -2; the socket stays open to send', () => {
    const { raw, sock, r } = accepted();
    const chunk = 'x'.repeat(536);
    const max = Math.max(2 * esp32.limits.rxSize, 4 * 536);
    let sent = 0;
    while (sent + 536 <= max) {
      raw.emit('data', chunk);
      sent += 536;
    }
    raw.emit('data', 'y'.repeat(536));
    raw.emit('data', 'z');
    expect(r.ev.every((e) => e === 'readable')).toBe(true);
    expect(raw.ended).toBe(0);
    const dst = new Uint8Array(max + 1000);
    expect(sock.read(dst, 0, dst.length)).toBe(sent);
    expect(latin1(dst.subarray(0, sent))).toBe('x'.repeat(sent));
    expect(sock.read(dst, 0, 10)).toBe(-2);
    expect(sock.write(pattern(10), 0, 10)).toBe(10);
    expect(raw.written).toHaveLength(1);
  });
});

describe('espruino HAL: whole strings', () => {
  it('send() takes a whole response string as it is: two in flight at most, the first up to a send buffer, the second up to a piece', () => {
    const { raw, sock } = accepted();
    const tx = esp32.limits.txSize;
    expect(tx).toBeGreaterThan(PIECE);
    expect(sock.send!('x'.repeat(tx + 1))).toBe(false);
    expect(sock.send!('x'.repeat(tx))).toBe(true); // the interpreter sends it a piece per pass
    expect(sock.send!('x'.repeat(PIECE + 1))).toBe(false); // behind another: a piece at most
    expect(sock.send!('two')).toBe(true); // the first one's drain may still be queued behind the next request
    expect(sock.send!('three')).toBe(false);
    expect(sock.write(pattern(3), 0, 3)).toBe(0);
    expect(raw.written).toEqual(['x'.repeat(tx), 'two']);
    raw.emit('drain');
    expect(sock.send!('three')).toBe(true);
    expect(raw.written).toEqual(['x'.repeat(tx), 'two', 'three']);
  });

  it('offers a string that arrives while nothing is unread to data(); one it refuses is queued and read as bytes', () => {
    const { raw, sock, r } = accepted();
    const seen: string[] = [];
    let take = true;
    r.h.data = (d: string) => (seen.push(d), take);
    raw.emit('data', 'whole');
    expect(seen).toEqual(['whole']);
    expect(r.ev).toEqual([]);
    take = false;
    raw.emit('data', 'kept');
    expect(r.ev).toEqual(['readable']);
    raw.emit('data', 'behind'); // something is unread: not offered
    expect(seen).toEqual(['whole', 'kept']);
    const dst = new Uint8Array(20);
    expect(sock.read(dst, 0, 20)).toBe(10);
    expect(latin1(dst.subarray(0, 10))).toBe('keptbehind');
  });
});

describe('espruino HAL: a lingering close', () => {
  it('close() with input still arriving ends the socket only once the peer is quiet: a reset would lose the answer', () => {
    const { f, raw, sock, r } = accepted();
    raw.emit('data', 'x'.repeat(100)); // queued, never read
    sock.close();
    expect(raw.ended).toBe(0);
    for (let i = 0; i < 5; i++) {
      raw.emit('data', 'more');
      f.advance(100);
    }
    expect(raw.ended).toBe(0);
    f.advance(100); // a look that finds nothing new
    expect(raw.ended).toBe(1);
    expect(r.ev).toEqual(['readable']);
  });

  it('a peer that never stops is ended after 2 s anyway', () => {
    const { f, raw, sock } = accepted();
    raw.emit('data', 'x');
    sock.close();
    for (let i = 0; i < 30 && !raw.ended; i++) {
      raw.emit('data', 'more');
      f.advance(100);
    }
    expect(raw.ended).toBe(1);
  });

  it('close() with nothing unread ends at once', () => {
    const { raw, sock } = accepted();
    raw.emit('data', 'abc');
    sock.read(new Uint8Array(3), 0, 3);
    sock.close();
    expect(raw.ended).toBe(1);
  });
});

describe('espruino HAL: closing and errors', () => {
  it('reports a reset (-9) as closed(Reset) once; the close that follows is not reported', () => {
    const { raw, r } = accepted();
    raw.emit('error', { code: -9, message: 'connection reset' });
    raw.emit('end');
    raw.emit('close', true);
    expect(r.ev).toEqual(['closed ' + SockErr.Reset]);
  });

  it('reports data lost to a peer close (-8, unsent data) as a reset', () => {
    const { raw, r } = accepted();
    raw.emit('error', { code: -8, message: 'unsent data' });
    expect(r.ev).toEqual(['closed ' + SockErr.Reset]);
  });

  it('reports any other socket error as closed(Other)', () => {
    const { raw, r } = accepted();
    raw.emit('error', { code: -3, message: 'timeout' });
    expect(r.ev).toEqual(['closed ' + SockErr.Other]);
  });

  it('reports an orderly close as end (read -1) then closed(None)', () => {
    const { raw, sock, r } = accepted();
    raw.emit('end');
    expect(sock.read(new Uint8Array(4), 0, 4)).toBe(-1);
    raw.emit('close', false);
    expect(r.ev).toEqual(['readable', 'closed ' + SockErr.None]);
  });

  it('close() ends the interpreter socket (which flushes) and no callback follows', () => {
    const { raw, sock, r } = accepted();
    sock.write(pattern(10), 0, 10);
    sock.close();
    expect(raw.ended).toBe(1);
    raw.emit('data', 'more input is discarded');
    raw.emit('drain');
    raw.emit('end');
    raw.emit('error', { code: -9, message: 'reset' });
    raw.emit('close', true);
    expect(r.ev).toEqual([]);
    sock.close();
    expect(raw.ended).toBe(1);
    expect(sock.write(pattern(10), 0, 10)).toBe(0);
  });

  it('shutdown() with a piece in flight ends the socket only after that piece drained', () => {
    const { raw, sock, r } = accepted();
    sock.write(pattern(100), 0, 100);
    sock.shutdown();
    expect(raw.ended).toBe(0);
    expect(sock.write(pattern(10), 0, 10)).toBe(0);
    raw.emit('drain');
    expect(raw.ended).toBe(1);
    expect(r.ev).toEqual([]);
    raw.emit('data', 'the peer may still talk until the close lands');
    raw.emit('close', false);
    expect(r.ev).toEqual(['readable', 'closed ' + SockErr.None]);
  });

  it('shutdown() with nothing in flight ends the socket at once', () => {
    const { raw, sock } = accepted();
    sock.shutdown();
    sock.shutdown();
    expect(raw.ended).toBe(1);
  });

  it('names the peer as ip:port', () => {
    const { sock } = accepted();
    expect(sock.peer).toBe('10.0.0.2:50123');
  });
});

describe('espruino HAL: listening and connecting', () => {
  it('ends a socket the core refuses (accept returns null)', () => {
    const f = fakeEnv();
    const hal = espruinoHal(esp32, f.env);
    hal.net.listen(80, () => null, () => undefined);
    const raw = f.accept(80);
    expect(raw.ended).toBe(1);
  });

  it('returns null for a port it cannot bind and reports InUse later, not from inside listen()', () => {
    const f = fakeEnv({ busyPorts: [80] });
    const hal = espruinoHal(esp32, f.env);
    const errs: number[] = [];
    expect(hal.net.listen(80, () => null, (c) => errs.push(c))).toBeNull();
    expect(errs).toEqual([]);
    f.advance(0);
    expect(errs).toEqual([SockErr.InUse]);
  });

  it('closes the interpreter server when the listener closes', () => {
    const f = fakeEnv();
    const hal = espruinoHal(esp32, f.env);
    const l = hal.net.listen(80, () => null, () => undefined)!;
    l.close();
    expect(f.servers[0].closed).toBe(true);
  });

  it('connect: nothing is taken before the connect callback, which is the first writable()', () => {
    const f = fakeEnv();
    const hal = espruinoHal(esp32, f.env);
    const r = recorder();
    const s = hal.net.connect('192.168.1.10', 1883, r.h)!;
    expect(f.outgoing[0]).toMatchObject({ host: '192.168.1.10', port: 1883 });
    expect(s.write(pattern(5), 0, 5)).toBe(0);
    f.outgoing[0].cb();
    expect(r.ev).toEqual(['writable']);
    expect(s.write(pattern(5), 0, 5)).toBe(5);
  });

  it('connect: an error before the connection exists is closed(Refused)', () => {
    const f = fakeEnv();
    const hal = espruinoHal(esp32, f.env);
    const r = recorder();
    hal.net.connect('10.9.9.9', 80, r.h);
    f.outgoing[0].sock.emit('error', { code: -11, message: 'no connection' });
    f.outgoing[0].sock.emit('close', true);
    expect(r.ev).toEqual(['closed ' + SockErr.Refused]);
  });

  it('connect: a synchronous throw (the Linux build) is reported as closed(Refused) from a timer', () => {
    const f = fakeEnv({ refuse: true });
    const hal = espruinoHal(linux, f.env);
    const r = recorder();
    const s = hal.net.connect('127.0.0.1', 1, r.h);
    expect(s).not.toBeNull();
    expect(r.ev).toEqual([]);
    f.advance(0);
    expect(r.ev).toEqual(['closed ' + SockErr.Refused]);
    s!.close();
  });
});

/** A fake Storage module holding files as latin1 strings. */
function fakeStorage() {
  const files: Record<string, string> = {};
  return {
    files,
    write(name: string, data: string, offset?: number, size?: number) {
      if (typeof data !== 'string') throw new Error('fake Storage takes strings');
      const n = name.substr(0, 28);
      if (!offset) files[n] = size ? (data + '\xff'.repeat(size)).substr(0, size) : data;
      else files[n] = files[n].substr(0, offset) + data + files[n].substr(offset + data.length);
      return true;
    },
    readArrayBuffer(name: string) {
      const s = files[name];
      return s === undefined ? undefined : bytesOf(s).buffer;
    },
    read: (name: string) => files[name],
    erase(name: string) {
      delete files[name];
    },
    list: () => Object.keys(files),
    getFree: () => 917504 - Object.keys(files).reduce((a, k) => a + files[k].length, 0),
  };
}

describe('espruino HAL: storage, memory, clock, codec', () => {
  it('has no storage where require("Storage") throws', () => {
    const f = fakeEnv();
    expect(espruinoHal(esp32, f.env).storage).toBeUndefined();
  });

  it('writes bytes as strings, reads them back as bytes, and refuses names the interpreter would truncate', () => {
    const st = fakeStorage();
    const hal = espruinoHal(esp32, fakeEnv({ modules: { Storage: st } }).env);
    const s = hal.storage!;
    const data = pattern(300);
    expect(s.write('cfg.json', data.subarray(0, 100), 0, 300)).toBe(true);
    expect(s.write('cfg.json', data.subarray(100), 100, 0)).toBe(true);
    expect(s.read('cfg.json')).toEqual(data);
    expect(s.write('a'.repeat(29), data, 0, 0)).toBe(false);
    expect(s.read('a'.repeat(29))).toBeNull();
    expect(s.read('missing')).toBeNull();
    expect(s.list('cfg')).toEqual(['cfg.json']);
    expect(s.list('')).toEqual(['cfg.json']);
    expect(s.erase('missing')).toBe(false);
    expect(s.erase('cfg.json')).toBe(true);
    expect(s.list('')).toEqual([]);
    expect(s.free()).toBe(917504);
  });

  it('maps process.memory() to used/total JsVars', () => {
    const hal = espruinoHal(esp32, fakeEnv().env);
    expect(hal.mem.usage()).toEqual({ used: 1234, total: 16383, unit: 'jsvars' });
  });

  it('counts milliseconds from getTime(), and absorbs the clock being set backwards or years ahead', () => {
    const f = fakeEnv();
    const hal = espruinoHal(esp32, f.env);
    const t0 = hal.clock.now();
    f.advance(250);
    expect(hal.clock.now() - t0).toBeCloseTo(250, 6);
    f.setTime(1.7e9); // SNTP sets the wall clock
    expect(hal.clock.now() - t0).toBeCloseTo(250, 6);
    f.advance(1000);
    expect(hal.clock.now() - t0).toBeCloseTo(1250, 6);
    f.setTime(5);
    expect(hal.clock.now() - t0).toBeCloseTo(1250, 6);
  });

  it('runs after() once, cancels it, and cancel() of a spent or zero handle is harmless', () => {
    const f = fakeEnv();
    const hal = espruinoHal(esp32, f.env);
    const ran: string[] = [];
    const a = hal.clock.after(100, () => ran.push('a'));
    const b = hal.clock.after(100, () => ran.push('b'));
    hal.clock.soon(() => ran.push('soon'));
    hal.clock.cancel(b);
    f.advance(100);
    expect(ran).toEqual(['soon', 'a']);
    hal.clock.cancel(a);
    hal.clock.cancel(0);
    expect(typeof a).toBe('number');
  });

  it('converts with E: str() of a range, bytes() of a string', () => {
    const hal = espruinoHal(esp32, fakeEnv().env);
    const u8 = bytesOf('hello world');
    expect(hal.codec.str(u8, 6, 11)).toBe('world');
    expect(hal.codec.str(u8, 3, 3)).toBe('');
    expect(hal.codec.bytes('\x00\xff')).toEqual(new Uint8Array([0, 255]));
  });

  it('never lets str() return a whole buffer’s backing string (it would change with the buffer)', () => {
    const f = fakeEnv();
    const hal = espruinoHal(esp32, f.env);
    const buf = bytesOf('abcdef');
    expect(hal.codec.str(buf, 0, 6)).toBe('abcdef');
    expect(hal.codec.str(buf, 0, 5)).toBe('abcde');
    expect(f.e.aliased).toBe(0);
  });
});

describe('espruino HAL: the radio', () => {
  const scan = (hal: Hal, f: ReturnType<typeof fakeEnv>, ms: number) => {
    const got: [string | null, WifiNet[] | null][] = [];
    hal.wifi!.scan((err, list) => got.push([err, list]));
    f.advance(ms);
    return got;
  };

  it('uses the simulated radio where the interpreter has no Wifi module (the Linux build)', () => {
    const f = fakeEnv();
    const hal = espruinoHal(esp32, f.env);
    expect(f.logs.join()).toMatch(/simulated radio/);
    const got: unknown[] = [];
    hal.wifi!.scan((err, list) => got.push([err, list]));
    f.advance(SCAN_MS - 1);
    expect(got).toEqual([]);
    f.advance(1);
    expect(got).toHaveLength(1);
    const [err, list] = got[0] as [null, WifiNet[]];
    expect(err).toBeNull();
    expect(list.length).toBeGreaterThan(2);
    expect(list[0]).toEqual({ ssid: expect.any(String), rssi: expect.any(Number), channel: expect.any(Number), auth: expect.any(String) });
  });

  it('does not even require Wifi when the board says sim', () => {
    const asked: string[] = [];
    const f = fakeEnv();
    const req = f.env.require;
    f.env.require = (n: string) => {
      asked.push(n);
      return req(n);
    };
    espruinoHal(linux, f.env);
    expect(asked).not.toContain('Wifi');
  });

  it('wraps the Wifi module: scan results mapped, one scan at a time, a hung scan times out', () => {
    let cb: ((err: unknown, list?: unknown[]) => void) | null = null;
    const wifi = {
      scan: (c: typeof cb) => (cb = c),
      getStatus: () => ({ station: 'connected', rssi: -57 }),
      getDetails: () => ({ ssid: 'home' }),
      getIP: () => ({ ip: '192.168.1.5' }),
      getAPIP: () => ({ ip: '192.168.4.1' }),
      on: () => {},
    };
    const f = fakeEnv({ modules: { Wifi: wifi } });
    const hal = espruinoHal(esp32, f.env);
    const got: unknown[] = [];
    hal.wifi!.scan((err, list) => got.push([err, list]));
    hal.wifi!.scan((err, list) => got.push([err, list]));
    f.advance(0);
    expect(got).toEqual([['busy', null]]);
    cb!(null, [{ ssid: 'home', rssi: -50, channel: 6, authMode: 'wpa2', mac: 'aa' }]);
    expect(got[1]).toEqual([null, [{ ssid: 'home', rssi: -50, channel: 6, auth: 'wpa2' }]]);
    expect(hal.wifi!.status()).toEqual({ sta: 'connected', ssid: 'home', ip: '192.168.1.5', apIp: '192.168.4.1', rssi: -57 });
    // A scan whose callback never comes ends at its deadline; a late callback is ignored.
    const late = scan(hal, f, 20000);
    expect(late).toEqual([['timeout', null]]);
    cb!(null, []);
    expect(late).toHaveLength(1);
  });

  it('wraps Wifi.connect and startAP: errors as strings, a throw reported from a timer, open AP without a password', () => {
    const calls: unknown[] = [];
    let joinCb: ((err: unknown) => void) | null = null;
    const wifi = {
      connect: (ssid: string, o: unknown, cb: (err: unknown) => void) => {
        calls.push(['connect', ssid, o]);
        joinCb = cb;
      },
      startAP: (ssid: string, o: unknown) => {
        calls.push(['startAP', ssid, o]);
        throw new Error('AP failed');
      },
      disconnect: () => calls.push(['disconnect']),
      getStatus: () => {
        throw new Error('radio off');
      },
      on: (ev: string, fn: (d: object) => void) => (on[ev] = fn),
    };
    const on: { [ev: string]: (d: object) => void } = {};
    const f = fakeEnv({ modules: { Wifi: wifi } });
    const hal = espruinoHal(esp32, f.env);
    const out: (string | null)[] = [];
    hal.wifi!.connect('home', 'secret', (e) => out.push(e));
    joinCb!('bad_password');
    joinCb!(null);
    expect(out).toEqual(['bad_password']);
    hal.wifi!.startAP('setup', '', (e) => out.push(e));
    expect(out).toHaveLength(1);
    f.advance(0);
    expect(out[1]).toBe('AP failed');
    expect(calls[1]).toEqual(['startAP', 'setup', { authMode: 'open' }]);
    hal.wifi!.disconnect();
    expect(hal.wifi!.status()).toEqual({ sta: 'off', ssid: '', ip: '0.0.0.0', apIp: '0.0.0.0', rssi: 0 });
    // 2v29 never calls connect's callback on failure: a `disconnected` for the network being joined ends the join
    // with the reason; the previous network being left (ASSOC_LEAVE, 8) or another network does not.
    hal.wifi!.connect('home', 'wrong', (e) => out.push(e));
    on.disconnected({ ssid: 'old', reason: '8', msg: 'ASSOC_LEAVE' });
    on.disconnected({ ssid: 'home', reason: '8', msg: 'ASSOC_LEAVE' });
    on.disconnected({ ssid: 'other', reason: '15', msg: '4WAY_HANDSHAKE_TIMEOUT' });
    expect(out).toHaveLength(2);
    on.disconnected({ ssid: 'home', reason: '15', msg: '4WAY_HANDSHAKE_TIMEOUT' });
    hal.wifi!.connect('nowhere', 'x', (e) => out.push(e));
    on.disconnected({ ssid: 'nowhere', reason: '201', msg: 'NO_AP_FOUND' });
    on.disconnected({ ssid: 'home', reason: '15', msg: 'late, ignored' });
    expect(out.slice(2)).toEqual(['wrong password (4WAY_HANDSHAKE_TIMEOUT)', 'network not found (NO_AP_FOUND)']);
  });

  it('simulated radio: joins with the right password only, and refuses a short AP password', () => {
    const f = fakeEnv();
    const hal = espruinoHal(linux, f.env);
    const radio = simRadio(hal.clock);
    const out: (string | null)[] = [];
    radio.connect('espweb-lab', 'wrong', (e) => out.push(e));
    f.advance(JOIN_MS);
    expect(out).toEqual(['bad_password']);
    radio.connect('espweb-lab', 'espruino', (e) => out.push(e));
    expect(radio.status().sta).toBe('connecting');
    f.advance(JOIN_MS);
    expect(out[1]).toBeNull();
    expect(radio.status()).toMatchObject({ sta: 'connected', ssid: 'espweb-lab' });
    radio.connect('nowhere', '', (e) => out.push(e));
    f.advance(JOIN_MS);
    expect(out[2]).toBe('no_ap_found');
    radio.startAP('espweb-setup', 'short', (e) => out.push(e));
    radio.startAP('espweb-setup', '', (e) => out.push(e));
    expect(out).toHaveLength(3);
    f.advance(1000);
    expect(out.slice(3)).toEqual(['bad_password', null]);
    expect(radio.status().apIp).toBe('192.168.4.1');
  });
});

/** An interpreter dgram socket: refuses non-strings (2v29 would send a Uint8Array as "65,66,67"). */
class FakeDgramSocket extends FakeSocket {
  port = -1;
  sent: [string, number, string][] = [];
  closes = 0;
  failSend = false;
  bind(port: number) {
    this.port = port;
    return this;
  }
  send(m: unknown, port: number, addr: string) {
    if (typeof m !== 'string') throw new Error('dgram send given ' + Object.prototype.toString.call(m) + ': would send "65,66,67"');
    if (this.failSend || this.closes) throw new Error('This socket is closed');
    this.sent.push([m, port, addr]);
  }
  close() {
    this.closes++;
  }
}

/** `require("dgram")` over FakeDgramSockets; ports in `busy` refuse to bind as 2v29 does (it throws). */
function fakeDgram(busy: number[] = []) {
  const socks: FakeDgramSocket[] = [];
  const types: unknown[] = [];
  return {
    socks,
    types,
    busy,
    createSocket(type: unknown) {
      types.push(type);
      const s = new FakeDgramSocket();
      const bind = s.bind.bind(s);
      s.bind = (port: number) => {
        if (busy.indexOf(port) >= 0) throw new Error('Unable to create socket');
        return bind(port);
      };
      socks.push(s);
      return s;
    },
  };
}

describe('espruino HAL: UDP over dgram', () => {
  const setup = (busy: number[] = []) => {
    const d = fakeDgram(busy);
    const f = fakeEnv({ modules: { dgram: d } });
    const udp = espruinoUdp(f.env)!;
    const got: [string, string, number][] = [];
    const recv = (b: Uint8Array, addr: string, port: number) => got.push([latin1(b), addr, port]);
    return { d, f, udp, got, recv };
  };

  it('is null where the interpreter has no dgram module', () => {
    expect(espruinoUdp(fakeEnv().env)).toBeNull();
  });

  it('binds a udp4 socket; a message (a binary string) reaches recv as bytes with its sender', () => {
    const { d, udp, got, recv } = setup();
    const sock = udp.bind(53, recv);
    expect(sock).not.toBeNull();
    expect(d.types).toEqual(['udp4']);
    expect(d.socks[0].port).toBe(53);
    let all = '';
    for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
    d.socks[0].emit('message', all, { address: '192.168.4.2', port: 50001, size: 256 });
    expect(got).toEqual([[all, '192.168.4.2', 50001]]);
  });

  it('sends a string made with E.toString, (msg, port, address), only the bytes asked for', () => {
    const { d, udp, recv } = setup();
    const sock = udp.bind(53, recv)!;
    const buf = bytesOf('..\x00\xffanswer..');
    expect(sock.send(buf, 2, 8, '192.168.4.2', 50001)).toBe(true);
    expect(d.socks[0].sent).toEqual([['\x00\xffanswer', 50001, '192.168.4.2']]);
  });

  it('never throws: a send that throws or a conversion out of memory returns false; a port taken makes bind null', () => {
    const { d, f, udp, recv } = setup([53]);
    expect(udp.bind(53, recv)).toBeNull();
    const sock = udp.bind(5353, recv)!;
    const s = d.socks[1];
    s.failSend = true;
    expect(sock.send(bytesOf('x'), 0, 1, '10.0.0.2', 1)).toBe(false);
    s.failSend = false;
    f.e.oom = true;
    expect(sock.send(bytesOf('x'), 0, 1, '10.0.0.2', 1)).toBe(false);
    f.e.oom = false;
    expect(sock.send(bytesOf('x'), 0, 1, '10.0.0.2', 1)).toBe(true);
  });

  it('close() closes the socket once; nothing reaches recv after it and send() returns false', () => {
    const { d, udp, got, recv } = setup();
    const sock = udp.bind(53, recv)!;
    sock.close();
    sock.close();
    expect(d.socks[0].closes).toBe(1);
    d.socks[0].emit('message', 'late', { address: '10.0.0.2', port: 1, size: 4 });
    d.socks[0].emit('close', false);
    expect(got).toEqual([]);
    expect(sock.send(bytesOf('x'), 0, 1, '10.0.0.2', 1)).toBe(false);
    expect(d.socks).toHaveLength(1); // closed by the core: not bound again
  });

  it('binds the port again when the interpreter closes the socket by itself (an empty datagram does on ESP32)', () => {
    const { d, f, udp, got, recv } = setup();
    const sock = udp.bind(53, recv)!;
    const old = d.socks[0];
    old.emit('close', false);
    expect(d.socks).toHaveLength(2);
    expect(d.socks[1].port).toBe(53);
    // A bound socket's `end`/`close` pair comes twice on 2v29: the second one changes nothing.
    old.emit('close', false);
    expect(d.socks).toHaveLength(2);
    old.emit('message', 'stale', { address: '10.0.0.2', port: 1, size: 5 });
    d.socks[1].emit('message', 'fresh', { address: '10.0.0.2', port: 1, size: 5 });
    expect(got.map((g) => g[0])).toEqual(['fresh']);
    expect(sock.send(bytesOf('ok'), 0, 2, '10.0.0.2', 1)).toBe(true);
    expect(d.socks[1].sent).toHaveLength(1);
    // The port taken meanwhile: retried every second until it binds, and never after the core's close().
    d.busy.push(53);
    d.socks[1].emit('close', false);
    expect(sock.send(bytesOf('x'), 0, 1, '10.0.0.2', 1)).toBe(false);
    f.advance(1000);
    f.advance(1000);
    const tries = d.socks.length;
    expect(tries).toBe(5);
    d.busy.length = 0;
    f.advance(1000);
    expect(d.socks).toHaveLength(6);
    expect(d.socks[5].port).toBe(53);
    sock.close();
    expect(d.socks[5].closes).toBe(1);
    d.socks[5].emit('close', false);
    f.advance(5000);
    expect(d.socks).toHaveLength(6);
  });
});
