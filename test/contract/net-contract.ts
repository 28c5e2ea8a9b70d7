/**
 * The TCP half of the HAL contract (hal/hal.ts: Net, Sock, Listener), as jest
 * tests any HAL can be run through: `netContract(name, makeEnv)` declares a
 * describe block; every test gets a fresh env and disposes it.
 *
 * Besides each test's own checks, every callback is watched for the two
 * boundary rules that break cores silently: a SockHandler callback must never
 * run inside a Sock call the core made (no re-entrancy), and nothing may fire
 * after the core called close().
 */
import { Hal, Listener, Sock, SockErr, SockHandler } from '../../hal/hal';
import { ContractEnv, Peer, bytes, pattern, quiet, str, waitFor } from './env';

export type { ContractEnv, Peer } from './env';

/** One accepted or outgoing socket seen from the core's side, with every callback recorded. */
class Conn implements SockHandler {
  /** Callback names in order: r (readable), w (writable), c<err> (closed). */
  events: string[] = [];
  /** Boundary-rule violations, as sentences. */
  bad: string[] = [];
  got = '';
  eof = false;
  closedErr: number | null = null;
  /** Read everything on each readable(). */
  autoRead = false;
  /** write() calls that took less than offered. */
  shorts = 0;
  private inCall = '';
  private released = false;
  private out: Uint8Array | null = null;
  private outOff = 0;
  private then: 'close' | 'shutdown' | null = null;

  constructor(public s: Sock | null) {}

  readable(): void {
    this.enter('readable');
    this.events.push('r');
    if (this.autoRead) this.drain();
  }

  writable(): void {
    this.enter('writable');
    this.events.push('w');
    this.pump();
  }

  closed(err: number): void {
    this.enter('closed');
    this.events.push('c' + err);
    if (this.closedErr !== null) this.bad.push('closed() fired twice');
    this.closedErr = err;
  }

  /** One read() of at most `max` bytes, appended to `got`. */
  read(max = 1460): number {
    const buf = new Uint8Array(max + 8);
    const n = this.call('read', () => this.s!.read(buf, 4, max));
    if (!(n === Math.floor(n) && n >= -1 && n <= max)) this.bad.push(`read() returned ${n} for ${max} bytes`);
    if (n > 0) this.got += str(buf.subarray(4, 4 + n));
    if (n < 0) this.eof = true;
    return n;
  }

  /** Read until nothing is buffered (0) or the end (-1). */
  drain(): void {
    while (this.read() > 0);
  }

  /** One write() of `data`; checks the count is in 0..len. */
  write(data: Uint8Array, off = 0, len = data.length - off): number {
    const n = this.call('write', () => this.s!.write(data, off, len));
    if (!(n === Math.floor(n) && n >= 0 && n <= len)) this.bad.push(`write() returned ${n} for ${len} bytes`);
    if (n < len) this.shorts++;
    return n;
  }

  /** Send `data` with the write()/writable() protocol, then close or shut down once every byte is taken. */
  send(data: string, then: 'close' | 'shutdown' | null = null): void {
    this.out = bytes(data);
    this.outOff = 0;
    this.then = then;
    this.pump();
  }

  /** Everything given to send() was taken by write(). */
  sent(): boolean {
    return this.out === null;
  }

  close(): void {
    this.call('close', () => this.s!.close());
    this.released = true;
  }

  shutdown(): void {
    this.call('shutdown', () => this.s!.shutdown());
  }

  private pump(): void {
    const out = this.out;
    if (!out || this.released) return;
    while (this.outOff < out.length) {
      const len = out.length - this.outOff;
      const n = this.write(out, this.outOff, len);
      this.outOff += Math.max(0, n);
      if (n < len) return; // the rest goes after writable()
    }
    this.out = null;
    if (this.then === 'close') this.close();
    else if (this.then === 'shutdown') this.shutdown();
  }

  private enter(cb: string): void {
    if (this.inCall) this.bad.push(`${cb}() ran inside ${this.inCall}()`);
    if (this.released) this.bad.push(`${cb}() ran after close()`);
  }

  private call<T>(name: string, fn: () => T): T {
    this.inCall = name;
    try {
      return fn();
    } finally {
      this.inCall = '';
    }
  }
}

/** A listener that wraps each accepted socket in a Conn. */
class Server {
  conns: Conn[] = [];
  errs: number[] = [];
  listener: Listener | null;
  /** What accept() returns: handlers, or null to refuse. */
  refuse = false;
  autoRead = false;

  constructor(hal: Hal, port: number, watch: (c: Conn) => void) {
    this.listener = hal.net.listen(
      port,
      (s) => {
        if (this.refuse) return null;
        const c = new Conn(s);
        c.autoRead = this.autoRead;
        this.conns.push(c);
        watch(c);
        return c;
      },
      (e) => this.errs.push(e),
    );
  }
}

/**
 * What a platform cannot do, by name, each a documented limit of the platform (never of its HAL): the contract
 * points that depend on it are skipped for that HAL, and say so.
 * - `half-close`: the peer's FIN closes the socket (Espruino 2v29: the interpreter closes on it, and drops what
 *   was not read; the HAL cannot shut down one direction either: shutdown() is a full close);
 * - `error-codes`: a reset, and a refused outgoing connection, are reported as an orderly close (ESP32's lwIP
 *   reports every failure as "connection closed", which 2v29 does not make an error event).
 */
export type Limit = 'half-close' | 'error-codes';

/** Declare the Net contract tests for one HAL; `makeEnv` builds a fresh platform per test; `limits`: what the platform cannot do. */
export function netContract(name: string, makeEnv: () => Promise<ContractEnv>, limits: Limit[] = []): void {
  /** A test that needs what `limit` names: skipped where the platform lacks it. */
  const needs = (limit: Limit) => (limits.indexOf(limit) >= 0 ? test.skip : test);
  describe(`HAL net contract: ${name}`, () => {
    let env: ContractEnv;
    let watched: Conn[];

    beforeEach(async () => {
      env = await makeEnv();
      watched = [];
    });

    afterEach(async () => {
      const bad = watched.reduce((all, c) => all.concat(c.bad), [] as string[]);
      await env.dispose();
      expect(bad).toEqual([]);
    });

    /** Listen on env.port; the returned server's conns are watched for rule violations. */
    function listen(opts: { autoRead?: boolean; refuse?: boolean } = {}): Server {
      const srv = new Server(env.hal, env.port, (c) => watched.push(c));
      srv.autoRead = !!opts.autoRead;
      srv.refuse = !!opts.refuse;
      expect(srv.listener).not.toBeNull();
      return srv;
    }

    /** Listen, connect one peer, and wait until it is accepted. */
    async function accepted(opts: { autoRead?: boolean } = {}): Promise<{ srv: Server; c: Conn; p: Peer }> {
      const srv = listen(opts);
      const p = await env.peer();
      await waitFor(env, () => srv.conns.length === 1, 'the connection to be accepted');
      return { srv, c: srv.conns[0], p };
    }

    function expectNoLeak(): void {
      if (env.open) expect(env.open()).toBe(0);
    }

    test('accepts a connection and names its peer', async () => {
      const { c, p } = await accepted();
      expect(typeof c.s!.peer).toBe('string');
      expect(c.s!.peer.length).toBeGreaterThan(0);
      expect(p.finished()).toBe(false);
      expect(c.read()).toBe(0);
      c.close();
      expectNoLeak();
    });

    test('a second listen on a port in use reports InUse', async () => {
      listen();
      const errs: number[] = [];
      const l2 = env.hal.net.listen(env.port, () => null, (e) => errs.push(e));
      await waitFor(env, () => errs.length > 0, 'the InUse error');
      expect(errs).toEqual([SockErr.InUse]);
      if (l2) l2.close();
    });

    test('accept returning null refuses the connection', async () => {
      const srv = listen({ refuse: true });
      const p = await env.peer();
      await waitFor(env, () => p.finished(), 'the peer to see the refusal');
      expect(srv.conns.length).toBe(0);
      expectNoLeak();
    });

    test('a closed listener accepts nothing more; established sockets keep working', async () => {
      const { srv, c, p } = await accepted({ autoRead: true });
      srv.listener!.close();
      const late = await env.peer();
      await waitFor(env, () => late.finished(), 'the late peer to be refused');
      p.send('still here');
      await waitFor(env, () => c.got === 'still here', 'bytes on the established socket');
      expect(srv.conns.length).toBe(1);
      c.close();
      expectNoLeak();
    });

    test('bytes from the peer arrive intact: all 256 byte values', async () => {
      const { c, p } = await accepted({ autoRead: true });
      const all = pattern(1024);
      p.send(all);
      await waitFor(env, () => c.got.length >= all.length, '1024 bytes at the server');
      expect(c.got).toBe(all);
      c.close();
    });

    test('bytes to the peer arrive intact: all 256 byte values', async () => {
      const { c, p } = await accepted();
      const all = pattern(1024);
      c.send(all);
      await waitFor(env, () => c.sent() && p.received().length >= all.length, '1024 bytes at the peer');
      expect(p.received()).toBe(all);
      c.close();
    });

    needs('half-close')('read() returns -1 after the peer FIN once every byte was read, and on every later read', async () => {
      const { c, p } = await accepted();
      p.send('hello');
      p.end();
      await waitFor(
        env,
        () => {
          c.read(2);
          return c.eof;
        },
        'the end of the stream',
      );
      expect(c.got).toBe('hello');
      expect(c.read()).toBe(-1);
      expect(c.read()).toBe(-1);
      expect(c.closedErr).toBeNull();
      c.close();
      expectNoLeak();
    });

    test('write() returns how many bytes it took; a short write is followed by writable()', async () => {
      const { c, p } = await accepted();
      const data = pattern(64 * 1024);
      c.send(data);
      const shortFirst = c.shorts > 0;
      await waitFor(env, () => c.sent(), 'every byte to be taken');
      if (shortFirst) expect(c.events).toContain('w');
      await waitFor(env, () => p.received().length >= data.length, 'every byte at the peer');
      expect(p.received()).toBe(data);
      c.close();
    });

    test('a 100 KB response written with write()/writable() arrives whole, then FIN', async () => {
      const { c, p } = await accepted();
      const body = pattern(100 * 1024);
      c.send(body, 'close');
      await waitFor(env, () => p.finished(), 'the FIN after 100 KB');
      expect(p.received().length).toBe(body.length);
      expect(p.received() === body).toBe(true);
      if (p.wasReset) expect(p.wasReset()).toBe(false);
      expectNoLeak();
    });

    needs('half-close')('shutdown() sends FIN after the taken bytes and reading goes on', async () => {
      const { c, p } = await accepted({ autoRead: true });
      c.send('bye', 'shutdown');
      await waitFor(env, () => p.finished(), 'the FIN');
      expect(p.received()).toBe('bye');
      p.send('after your FIN');
      await waitFor(env, () => c.got === 'after your FIN', 'bytes after shutdown');
      expect(c.closedErr).toBeNull();
      c.close();
      expectNoLeak();
    });

    test('close() flushes the taken bytes, then FIN, discarding unread input; no callback fires afterwards', async () => {
      const { c, p } = await accepted();
      p.send('a request the server never reads');
      await waitFor(env, () => c.events.includes('r'), 'the request to arrive');
      c.write(bytes('response'));
      c.close();
      c.close();
      expectNoLeak();
      await waitFor(env, () => p.finished(), 'the FIN');
      expect(p.received()).toBe('response');
      if (p.wasReset) expect(p.wasReset()).toBe(false);
      p.send('more');
      p.end();
      await quiet(env);
      expect(c.read()).toBe(-1);
      expectNoLeak();
    });

    needs('error-codes')('a peer reset is reported once as closed(err != 0); the dead socket stays harmless', async () => {
      const { c, p } = await accepted();
      p.send('half a req');
      await waitFor(env, () => c.events.includes('r'), 'the first bytes');
      p.reset();
      await waitFor(env, () => c.closedErr !== null, 'closed()');
      expect(c.closedErr).not.toBe(SockErr.None);
      expect(c.closedErr!).toBeLessThan(0);
      expectNoLeak();
      await quiet(env);
      expect(c.events.filter((e) => e[0] === 'c').length).toBe(1);
      expect(c.read()).toBe(-1);
      expect(c.write(bytes('late'))).toBe(0);
      c.close();
      await quiet(env);
      expect(c.events.filter((e) => e[0] === 'c').length).toBe(1);
      expectNoLeak();
    });

    test('an outgoing connection to our own listener: first writable() means connected; bytes flow both ways', async () => {
      const srv = listen({ autoRead: true });
      const out = new Conn(null);
      out.autoRead = true;
      watched.push(out);
      out.s = env.hal.net.connect('127.0.0.1', env.port, out);
      expect(out.s).not.toBeNull();
      await waitFor(env, () => out.events.includes('w') && srv.conns.length === 1, 'the connection');
      expect(out.events[0]).toBe('w');
      out.send('ping');
      await waitFor(env, () => srv.conns[0].got === 'ping', 'ping at the server');
      srv.conns[0].send('pong', 'close');
      await waitFor(env, () => out.got === 'pong' && out.eof, 'pong and FIN at the client');
      out.close();
      expectNoLeak();
    });

    needs('error-codes')('an outgoing connection nobody listens for reports closed(err < 0)', async () => {
      const out = new Conn(null);
      watched.push(out);
      out.s = env.hal.net.connect('127.0.0.1', env.port, out);
      if (out.s === null) return; // allowed: no socket could be created
      await waitFor(env, () => out.closedErr !== null, 'the refusal');
      expect(out.closedErr!).toBeLessThan(0);
      expect(out.events).toEqual(['c' + out.closedErr]);
      expectNoLeak();
    });
  });
}
