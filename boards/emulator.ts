/** The desktop emulator (emulator/): the bundle on Node behind an Espruino-shaped shim. */
import type { Board } from './types';
import { limits } from '../src/opts';

/** Sized like the Linux build (a benchmark target with 8 keep-alive slots), simulated radio, nothing to flash. */
export const board: Board = {
  name: 'emulator',
  title: 'Desktop emulator',
  jsvars: 0,
  limits: limits({ slots: 8, rxSize: 2048, txSize: 2048 }),
  httpPort: 8080,
  radio: 'sim',
  storage: { size: 224 * 4096 },
  bundleBudget: 65536,
  espruino: null,
};
