/**
 * The shared HAL contract suites, run against the simulated HAL in a few network weathers; the UDP contract
 * also against the Espruino HAL (hal/espruino-udp.ts) running on the emulator's `dgram`.
 */
import * as dgram from 'dgram';
import { startEmulator } from '../emulator';
import type { Udp } from '../hal/hal';
import { Sim, SimClient } from '../hal/sim';
import { clockContract } from './contract/clock-contract';
import { codecContract } from './contract/codec-contract';
import { ContractEnv } from './contract/env';
import { netContract } from './contract/net-contract';
import { UdpEnv, udpContract } from './contract/udp-contract';
import { buildBundle } from './e2e/harness';

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
