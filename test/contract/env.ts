/**
 * What a HAL must provide to run the shared contract suites (net-contract.ts,
 * clock-contract.ts): the HAL itself, a way to open remote peers, and a way
 * to let the platform make progress. The same suites run against the sim
 * (test/hal-contract.test.ts) and, later, against the Espruino HAL inside the
 * emulator, so every wait here is "poll until true, at most N turns", never a
 * fixed sleep.
 */
import { Hal } from '../../hal/hal';

/** A remote TCP peer the suite drives; strings are latin1 (char code = byte). */
export interface Peer {
  /** Queue bytes to the HAL's socket. */
  send(s: string): void;
  /** Half-close (FIN) our side; we keep reading. */
  end(): void;
  /** Abort the connection with a reset (RST). */
  reset(): void;
  /** Every byte received from the HAL's socket so far. */
  received(): string;
  /** The HAL's side sent FIN or reset, or the connection was refused. */
  finished(): boolean;
  /** Optional: the connection ended with a reset rather than an orderly FIN (lets the suite check lingering close). */
  wasReset?(): boolean;
}

/** One fresh platform per test. */
export interface ContractEnv {
  hal: Hal;
  /** A port the suite may listen on; nothing listens on it when the env is made. */
  port: number;
  /** Open a connection to `port`. Resolves even when refused (then `finished()` becomes true). */
  peer(): Promise<Peer>;
  /** Let the platform make progress once: run what is due (sim: run, then jump to the next timer; real HALs: wait for the next event-loop turn or a short tick). */
  settle(): Promise<void>;
  /** Release everything the env opened. */
  dispose(): Promise<void>;
  /** Optional leak check: sockets of the HAL not yet released (sim: openSockets()). */
  open?(): number;
  /** Optional: how many settle() calls a wait may take before failing (default 500). */
  turns?: number;
}

/** What waiting needs of an env (every contract's env has it). */
export type Settles = Pick<ContractEnv, 'settle' | 'turns'>;

/** Settle until `cond()` holds, failing after env.turns settles; `what` names the wait in the failure. */
export async function waitFor(env: Settles, cond: () => boolean, what: string): Promise<void> {
  const turns = env.turns || 500;
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await env.settle();
  }
  if (!cond()) throw new Error(`contract: timed out waiting for ${what}`);
}

/** Settle a few times so anything that should NOT happen has had its chance to. */
export async function quiet(env: Settles, times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await env.settle();
}

/** A latin1 string as bytes (test side; independent of the HAL's codec). */
export function bytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/** Bytes as a latin1 string (test side). */
export function str(u8: Uint8Array): string {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.length).toString('latin1');
}

/** `n` bytes of a pattern that covers every byte value and shows misplaced or dropped pieces. */
export function pattern(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode((i * 31 + (i >> 8)) & 255);
  return s;
}
