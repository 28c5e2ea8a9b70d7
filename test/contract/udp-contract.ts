/**
 * The UDP half of the HAL contract (hal/hal.ts: Udp, UdpSock), as jest tests
 * any HAL can be run through: `udpContract(name, makeEnv)` declares a
 * describe block; every test gets a fresh env and disposes it.
 *
 * Besides each test's own checks, every `recv` is watched for the boundary
 * rules: it never runs inside a `send()` the core made (no re-entrancy), never
 * after `close()`, and always gets a byte view.
 */
import { Udp, UdpSock } from '../../hal/hal';
import { Settles, bytes, quiet, str, waitFor } from './env';

/** A remote UDP peer the suite drives; strings are latin1 (char code = byte). */
export interface UdpPeer {
  /** Its address and port, as the HAL's `recv` should report them. */
  readonly addr: string;
  readonly port: number;
  /** Send one datagram to the HAL's port `toPort`. */
  send(s: string, toPort: number): void;
  /** Every datagram received, in arrival order, with the HAL port it came from. */
  received(): { data: string; from: number }[];
}

/** One fresh platform per test. */
export interface UdpEnv extends Settles {
  udp: Udp;
  /** A port the suite may bind; nothing holds it when the env is made. */
  port: number;
  /** An address at which the platform reaches itself. */
  self: string;
  /** A new peer. */
  peer(): Promise<UdpPeer>;
  /** Release everything the env opened. */
  dispose(): Promise<void>;
}

/** One bound socket seen from the core's side, with every datagram recorded. */
class Bound {
  got: { data: string; addr: string; port: number }[] = [];
  bad: string[] = [];
  sock: UdpSock | null = null;
  closed = false;
  /** Called for each datagram after it is recorded (a responder). */
  onRecv: ((data: Uint8Array, addr: string, port: number) => void) | null = null;
  private inSend = false;

  /** The `recv` to hand to bind(). */
  recv = (data: Uint8Array, addr: string, port: number): void => {
    if (this.inSend) this.bad.push('recv() ran inside send()');
    if (this.closed) this.bad.push('recv() after close()');
    if (!ArrayBuffer.isView(data) || typeof data.length !== 'number') this.bad.push('recv() got no byte view');
    // A copy now: the view is only valid until this call returns.
    this.got.push({ data: str(data), addr, port });
    if (this.onRecv) this.onRecv(data, addr, port);
  };

  send(data: Uint8Array, off: number, len: number, addr: string, port: number): boolean {
    this.inSend = true;
    try {
      return this.sock!.send(data, off, len, addr, port);
    } finally {
      this.inSend = false;
    }
  }

  close(): void {
    this.closed = true;
    this.sock!.close();
  }
}

/** Declare the UDP contract tests for one HAL; `makeEnv` builds a fresh platform per test. */
export function udpContract(name: string, makeEnv: () => Promise<UdpEnv>): void {
  describe(`HAL UDP contract: ${name}`, () => {
    let env: UdpEnv;
    let all: Bound[];
    beforeEach(async () => {
      env = await makeEnv();
      all = [];
    });
    afterEach(async () => {
      for (const b of all) if (!b.closed && b.sock) b.close();
      await env.dispose();
      for (const b of all) expect(b.bad).toEqual([]);
    });

    /** Bind the suite's port (or `port`); fails the test if the HAL refuses. */
    function bind(port = env.port): Bound {
      const b = new Bound();
      b.sock = env.udp.bind(port, b.recv);
      if (!b.sock) throw new Error('bind(' + port + ') failed');
      all.push(b);
      return b;
    }

    test('a datagram from a peer arrives once, whole, with its sender', async () => {
      const b = bind();
      const p = await env.peer();
      p.send('hello, device', env.port);
      await waitFor(env, () => b.got.length > 0, 'the datagram');
      await quiet(env);
      expect(b.got).toEqual([{ data: 'hello, device', addr: p.addr, port: p.port }]);
    });

    test('send() reaches the peer, from the bound port', async () => {
      const b = bind();
      const p = await env.peer();
      expect(b.send(bytes('pong'), 0, 4, p.addr, p.port)).toBe(true);
      await waitFor(env, () => p.received().length > 0, 'the datagram at the peer');
      await quiet(env);
      expect(p.received()).toEqual([{ data: 'pong', from: env.port }]);
    });

    test('every byte value crosses intact both ways, and off/len pick the bytes sent', async () => {
      let all256 = '';
      for (let i = 0; i < 512; i++) all256 += String.fromCharCode(i & 255);
      const b = bind();
      const p = await env.peer();
      p.send(all256, env.port);
      await waitFor(env, () => b.got.length > 0, 'the datagram');
      expect(b.got[0].data.length).toBe(512);
      expect(b.got[0].data).toBe(all256);
      // Sent from the middle of a larger buffer: only [off, off + len) goes out.
      const buf = bytes('JUNK' + all256 + 'JUNK');
      expect(b.send(buf, 4, 512, p.addr, p.port)).toBe(true);
      await waitFor(env, () => p.received().length > 0, 'the datagram at the peer');
      expect(p.received()[0].data).toBe(all256);
    });

    test('datagrams keep their boundaries', async () => {
      const b = bind();
      const p = await env.peer();
      p.send('a', env.port);
      p.send('bb', env.port);
      p.send('ccc', env.port);
      await waitFor(env, () => b.got.length >= 3, 'three datagrams');
      await quiet(env);
      expect(b.got.map((g) => g.data).sort()).toEqual(['a', 'bb', 'ccc']);
    });

    test('a reply sent from inside recv() goes out, and recv() never runs inside send(), even for a datagram to itself', async () => {
      const b = bind();
      b.onRecv = (data, addr, port) => {
        expect(b.send(data, 0, data.length, addr, port)).toBe(true);
      };
      const p = await env.peer();
      p.send('echo me', env.port);
      await waitFor(env, () => p.received().length > 0, 'the echo');
      expect(p.received()).toEqual([{ data: 'echo me', from: env.port }]);
      // To its own port: it arrives later, from that port, never inside the send() (Bound records a violation).
      b.onRecv = null;
      expect(b.send(bytes('me to me'), 0, 8, env.self, env.port)).toBe(true);
      await waitFor(env, () => b.got.length > 1, 'the datagram to itself');
      expect(b.got[1]).toEqual({ data: 'me to me', addr: expect.any(String), port: env.port });
    });

    test('close() stops delivery, and send() after it returns false', async () => {
      const b = bind();
      const p = await env.peer();
      p.send('before', env.port);
      await waitFor(env, () => b.got.length > 0, 'the first datagram');
      b.close();
      p.send('after', env.port);
      await quiet(env, 10);
      expect(b.got.map((g) => g.data)).toEqual(['before']);
      expect(b.sock!.send(bytes('x'), 0, 1, p.addr, p.port)).toBe(false);
      b.sock!.close(); // twice is harmless
    });

    test('a bound port cannot be bound again until it is closed', async () => {
      const first = bind();
      const other = new Bound();
      expect(env.udp.bind(env.port, other.recv)).toBeNull();
      const p = await env.peer();
      p.send('to the first', env.port);
      await waitFor(env, () => first.got.length > 0, 'the datagram');
      expect(other.got).toEqual([]);
      first.close();
      // The platform may release the port on its next turn (Espruino closes sockets from its idle loop).
      await quiet(env);
      const again = bind();
      p.send('to the second', env.port);
      await waitFor(env, () => again.got.length > 0, 'the datagram to the new socket');
      expect(again.got[0].data).toBe('to the second');
      expect(first.got.length).toBe(1);
    });
  });
}
