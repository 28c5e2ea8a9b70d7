/**
 * Board profiles as typed data: one file per board (`boards/<name>.ts`)
 * exports `board: Board`. The firmware reads the run-time fields through the
 * module path `boards/current`, which the build aliases to the chosen board;
 * tools (build, size budget, flashing) read the rest.
 */
import type { Limits } from '../src/opts';

/** The Storage area the espruino CLI writes saved code into (`chip.saved_code` of a board JSON). */
export interface SavedCode {
  /** Flash address of the Storage area. */
  address: number;
  page_size: number;
  pages: number;
  /** KB of flash the interpreter's own firmware may use (informational). */
  flash_available: number;
}

/**
 * The board description the espruino CLI needs offline, shaped like the board
 * JSON it would otherwise download from espruino.com (it reads only
 * `info.builtin_modules` and `chip.saved_code`; without the module list it tries
 * to download `Wifi`, `http`, `Storage` as if they were JavaScript modules).
 */
export interface EspruinoJson {
  info: {
    /** The interpreter's board id (`process.env.BOARD` on the device). */
    id: string;
    /** Modules compiled into the interpreter; `TelnetServer` here means the board can be flashed over `tcp://host:23`. */
    builtin_modules: string[];
    /** Baud rate of the serial console (ignored by USB-CDC consoles). */
    default_console_baudrate: number;
  };
  chip: { family: string; saved_code: SavedCode };
}

/** Everything the runtime and the tools know about one target. */
export interface Board {
  /** Short name: the file name in boards/, the BOARD= of the Makefile, the directory under dist/. */
  name: string;
  /** Human-readable name, shown by the firmware. */
  title: string;
  /** Total JsVars of the interpreter build (`process.memory().total` on the device is authoritative); 0 = grows on demand (Linux build, emulator). */
  jsvars: number;
  /** Pool size, buffer sizes and deadlines the manager runs under. */
  limits: Limits;
  /** Port of the HTTP listener. */
  httpPort: number;
  /** The radio can run its access point and a station at once (ESP32, S3; not the C3 build: there the board switches from one to the other). */
  apsta: boolean;
  /** Radio driver: the interpreter's `Wifi` module, or the simulated radio in the bundle (hal/radio-sim.ts). */
  radio: 'esp32' | 'sim';
  /** Bytes of the Storage area (0 = not fixed by the profile: ask `Storage.getFree()`). */
  storage: { size: number };
  /** Address of the chip's hardware random number register, read with `peek32` (ESP-IDF's WDEV_RND_REG); 0 where the board has none (the Linux build: its interpreter's E.hwRand). */
  rngReg: number;
  /** The MQTT client (firmware/fleet.ts) and its settings are in this board's bundle (default true; the build defines __MQTT__ from it). */
  mqtt?: boolean;
  /** Keep the interpreter's telnet console after an admin password is set. It bypasses sign-in: for development boards only, never in a profile people flash. */
  netConsole?: boolean;
  /** An updated app confirms itself once it has run healthy this long, ms (its listener up, no uncaught error): below the loader's TRIAL_LIMIT_S. */
  trialMs: number;
  /** Largest allowed minified bundle for this board, bytes. */
  bundleBudget: number;
  /** What the espruino CLI needs to flash this board offline; null where the board is not flashed (Linux build, emulator). */
  espruino: EspruinoJson | null;
}
