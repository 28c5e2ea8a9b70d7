/** Generic ESP32 DevKit (ESP32-WROOM/WROVER without PSRAM use) running Espruino 2v29. */
import type { Board } from './types';
import { limits } from '../src/opts';

/**
 * Sizing. Memory: 16 383 JsVars of 14 bytes. Sockets: lwIP has 10
 * (CONFIG_LWIP_MAX_SOCKETS) for everything: the HTTP listener, the captive
 * portal's DNS socket (while the access point runs), the built-in
 * TelnetServer's listener and its session (until an admin password is set),
 * and one spare so a client beyond the pool can still be accepted and
 * answered 503 — 5 left for the pool. (With all 10 taken, 2v29's socket
 * creation fails silently: a DNS bind would leave a deaf socket.)
 */
export const board: Board = {
  name: 'esp32',
  title: 'ESP32 DevKit',
  jsvars: 16383,
  limits: limits({ slots: 5, rxSize: 2048, txSize: 2048 }),
  httpPort: 80,
  apsta: true,
  radio: 'esp32',
  storage: { size: 224 * 4096 },
  rngReg: 0x60035144, // WDEV_RND_REG (ESP-IDF soc/esp32/include/soc/wdev_reg.h; 0x3ff75144 on the DPORT bus is the same register)
  trialMs: 30000,
  bundleBudget: 73728, // 72 KB: the firmware with its MQTT client (issue 13; the C3 build leaves it out)
  espruino: {
    info: {
      id: 'ESP32',
      builtin_modules: ['timer', 'Flash', 'Storage', 'heatshrink', 'fs', 'net', 'dgram', 'tls', 'http', 'NetworkJS', 'Wifi', 'TelnetServer', 'crypto', 'neopixel'],
      default_console_baudrate: 115200,
    },
    chip: { family: 'ESP32_IDF4', saved_code: { address: 3276800, page_size: 4096, pages: 224, flash_available: 1344 } },
  },
};
