/** ESP32-C3 boards running Espruino 2v29: 4 095 JsVars, so a smaller pool and 1 KB buffers. */
import type { Board } from './types';
import { limits } from '../src/opts';

/**
 * Sizing. Memory, not sockets, is the limit here: 4 095 JsVars (~57 KB) hold
 * the code loaded from Storage (~45 vars per KB of bundle), the interpreter's
 * own network state, and per slot two 1 KB buffers (~78 vars each) plus the
 * socket, its listeners and one 536-byte piece each way in flight. With three
 * slots the firmware keeps >= 1 200 vars free after boot, measured
 * (test/memory.test.ts).
 * The interpreter's C3 build leaves out TELNET, so it is flashed over serial
 * (its console is the chip's USB-serial-JTAG; the baud rate is ignored).
 */
export const board: Board = {
  name: 'esp32c3',
  title: 'ESP32-C3',
  jsvars: 4095,
  limits: limits({ slots: 3, rxSize: 1024, txSize: 1024 }),
  // MQTT (firmware/fleet.ts) costs ~140 vars after boot even while off, and more while connected: with it this build
  // would keep ~1 060 free, under the 1 200 floor (measured, issue 13). Left out here; the other boards have it.
  mqtt: false,
  httpPort: 80,
  apsta: false, // 2v29's C3 build cannot run the access point and a station at once (ESPRUINO.md),
  radio: 'esp32',
  storage: { size: 224 * 4096 },
  rngReg: 0x600260b0, // WDEV_RND_REG (ESP-IDF soc/esp32c3/include/soc/wdev_reg.h)
  trialMs: 30000,
  bundleBudget: 57344, // 56 KB: code runs from flash; what binds is vars, measured by test/memory.test.ts (>= 1 200 free after boot)
  espruino: {
    info: {
      id: 'ESP32C3',
      builtin_modules: ['timer', 'Flash', 'Storage', 'heatshrink', 'fs', 'net', 'dgram', 'tls', 'http', 'NetworkJS', 'Wifi', 'crypto', 'neopixel'],
      default_console_baudrate: 115200,
    },
    chip: { family: 'ESP32_IDF4', saved_code: { address: 3276800, page_size: 4096, pages: 224, flash_available: 1344 } },
  },
};
