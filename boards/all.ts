/** Every board profile, for tools and tests (never imported by device code: it would bundle them all). */
import type { Board } from './types';
import { board as esp32 } from './esp32';
import { board as esp32c3 } from './esp32c3';
import { board as esp32s3 } from './esp32s3';
import { board as linux } from './linux';
import { board as emulator } from './emulator';

/** The profiles in a fixed order. */
export const boards: Board[] = [esp32, esp32c3, esp32s3, linux, emulator];

/** The profile called `name`, or null. */
export function findBoard(name: string): Board | null {
  for (let i = 0; i < boards.length; i++) if (boards[i].name === name) return boards[i];
  return null;
}
