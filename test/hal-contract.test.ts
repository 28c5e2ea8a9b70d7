/** The shared HAL contract suites, run against the simulated HAL in a few network weathers. */
import { Sim, SimClient } from '../hal/sim';
import { clockContract } from './contract/clock-contract';
import { codecContract } from './contract/codec-contract';
import { ContractEnv } from './contract/env';
import { netContract } from './contract/net-contract';

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
