/** The desktop emulator (emulator/): the bundle on Node behind an Espruino-shaped shim that enforces an ESP32's limits. */
import type { Board } from './types';
import { limits } from '../src/opts';

/**
 * The emulator holds the bundle to an ESP32's 16 383 JsVars and 10 lwIP
 * sockets (no TelnetServer there), so 7 slots: the HTTP listener, the captive
 * portal's DNS socket, 7 clients and a spare for the 503 make 10. The radio is the emulator's `Wifi` module (its
 * networks and scan latency are the emulator's options), HTTP on 8080, nothing
 * to flash.
 */
export const board: Board = {
  name: 'emulator',
  title: 'Desktop emulator',
  jsvars: 16383,
  limits: limits({ slots: 7, rxSize: 2048, txSize: 2048 }),
  httpPort: 8080,
  apsta: true,
  radio: 'esp32',
  storage: { size: 224 * 4096 },
  rngReg: 0x60035144, // the ESP32's WDEV_RND_REG: the emulator answers peek32 there from the OS's random source
  trialMs: 8000,
  bundleBudget: 73728, // 72 KB: the firmware with its MQTT client (issue 13; the C3 build leaves it out)
  espruino: null,
};
