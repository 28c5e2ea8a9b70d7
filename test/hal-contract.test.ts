/**
 * The shared HAL contract suites, run against the simulated HAL in a few network weathers; the UDP contract
 * also against the Espruino HAL (hal/espruino-udp.ts) running on the emulator's `dgram`.
 */
import { execFileSync } from 'child_process';
import * as dgram from 'dgram';
import * as net from 'net';
import * as path from 'path';
import { startEmulator } from '../emulator';
import type { Hal, Sock, Udp } from '../hal/hal';
import { Sim, SimClient } from '../hal/sim';
import { clockContract } from './contract/clock-contract';
import { codecContract } from './contract/codec-contract';
import { ContractEnv } from './contract/env';
import { netContract } from './contract/net-contract';
import { UdpEnv, udpContract } from './contract/udp-contract';
import { ROOT, buildBundle } from './e2e/harness';

/** A fresh Sim per test; `maxWrite` forces short writes, `piece` cuts every peer send into pieces of that many bytes. */
function simEnv(opts: { maxWrite?: number; piece?: number; window?: number } = {}): () => Promise<ContractEnv> {
  return async () => {
    const sim = new Sim();
    if (opts.maxWrite) sim.maxWrite = opts.maxWrite;
    const port = 8080;
    const clients: SimClient[] = [];
    return {
      hal: sim,
      port,
      async peer() {
        const c = sim.connect(port);
        clients.push(c);
        if (opts.window) c.window(opts.window);
        return {
          send(s: string) {
            const split: number[] = [];
            if (opts.piece) for (let i = opts.piece; i < s.length; i += opts.piece) split.push(i);
            c.send(s, { split });
          },
          end: () => c.end(),
          reset: () => c.reset(),
          received: () => c.received,
          finished: () => c.closed,
          wasReset: () => c.gotReset,
        };
      },
      async settle() {
        // a slow reader takes another window's worth per turn
        if (opts.window) for (const c of clients) c.window(opts.window);
        sim.run();
        const t = sim.nextAt();
        if (t < Infinity) sim.advance(t - sim.now());
      },
      async dispose() {},
      open: () => sim.openSockets(),
    };
  };
}

netContract('sim', simEnv());
netContract('sim, 536-byte writes', simEnv({ maxWrite: 536 }));
netContract('sim, peer sends 3-byte pieces', simEnv({ piece: 3 }));
netContract('sim, slow reader (2 KB window)', simEnv({ window: 2048 }));
clockContract('sim', simEnv());
codecContract('sim', simEnv());

/** UDP on a fresh Sim: peers are SimUdpClients; `delay` holds every datagram that many ms. */
function simUdpEnv(opts: { delay?: number } = {}): () => Promise<UdpEnv> {
  return async () => {
    const sim = new Sim();
    if (opts.delay) sim.udpDelay = opts.delay;
    return {
      udp: sim.udp,
      port: 53,
      self: '127.0.0.1',
      async peer() {
        const c = sim.udpClient();
        return { addr: c.addr, port: c.port, send: (s: string, to: number) => c.send(s, to), received: () => c.received.map((d) => ({ data: d.data, from: d.from })) };
      },
      async settle() {
        sim.run();
        const t = sim.nextAt();
        if (t < Infinity) sim.advance(t - sim.now());
      },
      async dispose() {
        expect(sim.udpPorts()).toEqual([]);
      },
    };
  };
}

udpContract('sim', simUdpEnv());
udpContract('sim, datagrams 7 ms late', simUdpEnv({ delay: 7 }));

/**
 * The Espruino HAL's UDP inside the emulator (test/fixtures/udp/main.ts exposes it as `udpHal`), called from
 * here; peers are real host UDP sockets on loopback. Device port 53 is bound on the host from the start.
 */
let udpBundle: string | null = null;
function emulatorUdpEnv(): () => Promise<UdpEnv> {
  return async () => {
    if (!udpBundle) udpBundle = buildBundle('udp-hal', 'test/fixtures/udp/main.ts');
    const emu = await startEmulator({ bundle: udpBundle, quiet: true });
    const udp = emu.context.udpHal as Udp;
    if (!udp) throw new Error('the bundle exposed no udpHal');
    const socks: dgram.Socket[] = [];
    const devicePort = (host: number): number => {
      const t = emu.udpPorts;
      for (const d of Object.keys(t)) if (t[+d] === host) return +d;
      return host;
    };
    return {
      udp,
      port: 53,
      self: '127.0.0.1',
      turns: 400,
      async peer() {
        const s = dgram.createSocket('udp4');
        socks.push(s);
        const got: { data: string; from: number }[] = [];
        s.on('message', (m, r) => got.push({ data: m.toString('latin1'), from: devicePort(r.port) }));
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
        return {
          addr: '127.0.0.1',
          port: s.address().port,
          send: (str: string, to: number) => s.send(Uint8Array.from(Buffer.from(str, 'latin1')), emu.udpPorts[to], '127.0.0.1'),
          received: () => got,
        };
      },
      settle: () => new Promise<void>((r) => setTimeout(r, 5)),
      async dispose() {
        for (const s of socks) s.close();
        await emu.stop();
      },
    };
  };
}

udpContract('espruino HAL on the emulator', emulatorUdpEnv());

/**
 * The Espruino HAL's TCP, clock and codec inside the emulator (test/fixtures/hal/main.ts exposes it as `espHal`),
 * called from here; peers are real host TCP sockets to the host port the emulator bound. Bytes cross between
 * this realm and the emulator's through copies (a typed array of one realm is not one of the other's: the
 * sandbox's `set(string)` is Espruino's, V8's is not).
 */
let halBundle: string | null = null;
function emulatorEnv(): () => Promise<ContractEnv> {
  return async () => {
    if (!halBundle) {
      const out = path.join(ROOT, 'build', 'e2e-esp-hal');
      execFileSync(process.execPath, ['tools/build.mjs', '--board', 'emulator', '--entry', 'test/fixtures/hal/main.ts', '--out', out + '/dist', '--build', out + '/build', '--quiet', '--pretty'], { cwd: ROOT, stdio: 'pipe' });
      halBundle = path.join(out, 'dist', 'emulator', 'app.js');
    }
    const emu = await startEmulator({ bundle: halBundle, quiet: true, portMap: { 8080: 0 } });
    const inner = emu.context.espHal as Hal;
    if (!inner) throw new Error('the bundle exposed no espHal');
    const U8 = emu.context.Uint8Array as Uint8ArrayConstructor;
    const there = (b: Uint8Array, off: number, len: number) => {
      const t = new U8(len);
      for (let i = 0; i < len; i++) t[i] = b[off + i];
      return t;
    };
    const back = (t: Uint8Array, dst: Uint8Array, off: number, n: number) => {
      for (let i = 0; i < n; i++) dst[off + i] = t[i];
    };
    const sock = (s: Sock): Sock => ({
      get peer() {
        return s.peer;
      },
      read(dst, off, len) {
        const t = new U8(len);
        const n = s.read(t, 0, len);
        if (n > 0) back(t, dst, off, n);
        return n;
      },
      write: (src, off, len) => s.write(there(src, off, len), 0, len),
      shutdown: () => s.shutdown(),
      close: () => s.close(),
    });
    const hal: Hal = {
      net: {
        listen: (port, accept, err) => inner.net.listen(port, (s) => accept(sock(s)), err),
        connect(host, port, h) {
          const s = inner.net.connect(host, port, h);
          return s && sock(s);
        },
      },
      clock: inner.clock,
      codec: {
        str: (u8, a, b) => inner.codec.str(there(u8, 0, u8.length), a, b),
        bytes: (s) => Uint8Array.from(inner.codec.bytes(s)),
        put(dst, off, s) {
          const t = new U8(dst.length);
          inner.codec.put(t, off, s);
          back(t.subarray(off, off + s.length), dst, off, s.length);
        },
      },
      mem: inner.mem,
      log: inner.log,
    };
    const socks: net.Socket[] = [];
    const port = 8080;
    return {
      hal,
      port,
      turns: 400,
      async peer() {
        let hostPort = 0;
        for (let i = 0; i < 100 && !(hostPort = emu.ports[port]); i++) await new Promise((r) => setTimeout(r, 5));
        let got = '';
        let done = false;
        let reset = false;
        const s = net.connect(hostPort || 1, '127.0.0.1');
        socks.push(s);
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('error', () => {
          reset = true;
          done = true;
        });
        s.on('end', () => (done = true));
        s.on('close', () => (done = true));
        await new Promise<void>((r) => {
          s.once('connect', () => r());
          s.once('error', () => r());
        });
        return {
          send: (str: string) => void s.write(str, 'latin1'),
          end: () => void s.end(),
          reset: () => void s.resetAndDestroy(),
          received: () => got,
          finished: () => done,
          wasReset: () => reset,
        };
      },
      settle: () => new Promise<void>((r) => setTimeout(r, 2)),
      async dispose() {
        for (const s of socks) s.destroy();
        await emu.stop();
      },
    };
  };
}

netContract('espruino HAL on the emulator', emulatorEnv(), ['half-close', 'error-codes']);
clockContract('espruino HAL on the emulator', emulatorEnv());
codecContract('espruino HAL on the emulator', emulatorEnv());
