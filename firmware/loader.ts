/**
 * The boot loader: `.bootcde`, written once by `make flash` and never by an
 * update. At every boot it reads its record (firmware/slots.ts), picks the app
 * to run and runs it from flash (`eval` of the Storage file: its functions stay
 * in flash).
 *
 * A new app runs on trial: the loader takes one of its tries and records that
 * BEFORE running it, turns the chip's watchdog on (a hang restarts the board)
 * and catches what it throws, at start or later; the app confirms itself once
 * it has run healthy for its board's trial time (firmware/update.ts). An
 * uncaught error during the trial records why and restarts; a trial that ends
 * with no try left (errors, hangs, power cuts) goes back to the previous app,
 * and the record says which versions and why. The file that runs is never
 * erased here.
 *
 * The app finds what the loader decided in `global.__boot` ({slot, trial}):
 * it clears `trial` once it has confirmed itself.
 */
import { APPS, BootDoc, HEAD, LOAD, TRIAL_LIMIT_S, WATCHDOG_S, freshDoc, identity } from "./slots";
import { Rec, recRead, recWrite } from "./record";
import { hex } from "./record";

declare const E: any;
declare const process: any;
declare const global: any;
declare function require(name: string): any;
declare function setTimeout(fn: () => void, ms: number): number;
declare function print(line: string): void;

const S = require("Storage");
const rec: Rec = {
  io: {
    read: function (n) {
      const t = S.read(n);
      return t === undefined ? null : t;
    },
    write: function (n, t) {
      try {
        return S.write(n, t) !== false;
      } catch (e) {
        return false;
      }
    },
    erase: function (n) {
      S.erase(n);
    },
    sum: function (t) {
      return hex(new Uint8Array(require("crypto").SHA256(t)).subarray(0, 8));
    },
  },
  files: LOAD,
  seq: 0,
};
const d: BootDoc = recRead(rec) || freshDoc();

/** Does slot `i` hold an app (its identity comment in place)? */
function has(i: number): boolean {
  return i >= 0 && !!identity(S.read(APPS[i], HEAD, 80) || "");
}

/** The version in slot `i`, for the record. */
function ver(i: number): string {
  const id = identity(S.read(APPS[i], HEAD, 80) || "");
  return id ? id.version : "none";
}

function save(): void {
  if (!recWrite(rec, JSON.stringify(d))) print("loader: the flash did not take the boot record");
}

/** The trial failed: back to the confirmed app, with why. */
function back(why: string): void {
  d.back = { from: ver(d.trial), to: ver(d.current), why: why };
  d.trial = -1;
  d.tries = 0;
  delete d.why;
  save();
  print("loader: back to " + d.back.to + ": " + why);
}

if (d.trial >= 0) {
  if (!has(d.trial)) back("its file is missing or damaged");
  else if (d.tries > 0) {
    d.tries--;
    save();
  } else back(d.why || "it did not confirm itself: it hung (the watchdog restarted the board) or the board restarted during its trial");
}
let slot = d.trial >= 0 ? d.trial : d.current;
if (!has(slot) && has(1 - slot)) slot = 1 - slot;
const boot = { slot: slot, trial: d.trial >= 0 };
global.__boot = boot;

/** The app failed: on trial, record why and restart (the next boot goes back); a confirmed app that throws at start falls back to the previous one, once. */
function failed(why: string): void {
  print("loader: the app in " + APPS[slot] + " failed: " + why);
  if (boot.trial) {
    d.why = why;
    d.tries = 0;
    save();
    E.reboot();
  } else if (why.substr(0, 15) === "threw at start:" && !d.fell && d.prev >= 0 && has(d.prev)) {
    d.back = { from: ver(d.current), to: ver(d.prev), why: why };
    d.current = d.prev;
    d.prev = -1;
    d.fell = 1;
    save();
    E.reboot();
  }
}

if (boot.trial) {
  E.enableWatchdog(WATCHDOG_S);
  process.on("uncaughtException", function (e: any) {
    if (boot.trial) failed("uncaught error: " + String(e).substr(0, 160));
    else print("Uncaught " + e + (e && e.stack ? "\n" + e.stack : ""));
  });
}

// From the idle loop, so that the watchdog guards the app's start too. Indirect eval: the app's names stay its own.
const run = eval;
setTimeout(function () {
  if (!has(slot)) return print("loader: no app in " + APPS.join(" or ") + ": flash one (make flash)");
  try {
    run(S.read(APPS[slot], HEAD));
  } catch (e) {
    failed("threw at start: " + String(e).substr(0, 160));
  }
}, 0);
// An app that neither fails nor confirms itself (its listener never came up) is not kept either.
if (boot.trial) {
  setTimeout(function () {
    if (boot.trial) failed("it did not confirm itself within " + TRIAL_LIMIT_S + " s");
  }, TRIAL_LIMIT_S * 1000);
}
