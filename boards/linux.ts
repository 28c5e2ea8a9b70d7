/** The Linux build of the Espruino 2v29 interpreter: the same parser and core as the boards, run on the desktop. */
import type { Board } from './types';
import { limits } from '../src/opts';

/**
 * No Wifi module, so the simulated radio. Its JsVar pool grows on demand and
 * its sockets are the host's, so the pool is sized for the benchmark
 * (`wrk -c8` keeps 8 connections alive), not for memory. Run, not flashed:
 * `espruino dist/linux/app.js` with the Linux interpreter binary.
 */
export const board: Board = {
  name: 'linux',
  title: 'Espruino (Linux build)',
  jsvars: 0,
  limits: limits({ slots: 8, rxSize: 2048, txSize: 2048 }),
  httpPort: 8080,
  apsta: true,
  radio: 'sim',
  storage: { size: 0 },
  rngReg: 0, // no register: the Linux interpreter's E.hwRand, mixed with the clock (not for devices people flash)
  trialMs: 30000,
  bundleBudget: 73728, // 72 KB: the firmware with its MQTT client (issue 13; the C3 build leaves it out)
  espruino: null,
};
