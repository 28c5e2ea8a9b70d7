/**
 * Where apps live in Storage and the boot loader's record: shared by the
 * loader (firmware/loader.ts, which never changes once flashed) and the app's
 * update routes (firmware/update.ts), so both read and write the same layout.
 *
 * An app file (`app.0`, `app.1`) is HEAD bytes the update uses (the padded
 * key of its HMAC, so the signature is checked over the file in flash in one
 * hash), then the bundle, which starts with its identity comment
 * `/*espweb <version> <board>*\/`. The record (`load.0`/`load.1`, a
 * firmware/record.ts record) says which slot is current, which is on trial
 * and how many boots the trial has left.
 */

/** The two app files. */
export const APPS = ["app.0", "app.1"];
/** The loader's record. */
export const LOAD = ["load.0", "load.1"];
/** Bytes before the bundle in an app file. */
export const HEAD = 64;
/** Boots a new app gets to confirm itself: a power cut during the first does not send it back. */
export const TRIES = 2;
/** The chip's watchdog during a trial, seconds (an app that stops returning to the idle loop this long restarts the board). */
export const WATCHDOG_S = 15;

/** A trial app that has not confirmed itself this many seconds after its start is given up (a board's `trialMs` stays well below). */
export const TRIAL_LIMIT_S = 120;

/** The loader's record. */
export interface BootDoc {
  /** The confirmed app's slot. */
  current: number;
  /** The slot whose app is on trial, or -1. */
  trial: number;
  /** Boots the trial has left; the loader takes one before it runs the trial app. */
  tries: number;
  /** The slot holding the previous confirmed app (what "return to the previous app" runs), or -1. */
  prev: number;
  /** Why the trial failed, as the loader's error handler saw it (the loader moves it into `back`). */
  why?: string;
  /** The last return to an earlier app: versions and why. Cleared when a new app confirms itself. */
  back?: { from: string; to: string; why: string };
  /** The loader fell back from a confirmed app that threw at start: it does not do so again until an app confirms itself. */
  fell?: number;
}

/** A record with nothing in it: the app in slot 0, confirmed (what `make flash` leaves). */
export function freshDoc(): BootDoc {
  return { current: 0, trial: -1, tries: 0, prev: -1 };
}

/** The version and board in a bundle's identity comment (its first bytes), or null if it has none. */
export function identity(text: string): { version: string; board: string } | null {
  const m = /^\/\*espweb ([0-9A-Za-z.+-]+) ([0-9a-z_-]+)\*\//.exec(text);
  return m ? { version: m[1], board: m[2] } : null;
}
