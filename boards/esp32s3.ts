/** ESP32-S3 boards running Espruino 2v29 (same interpreter configuration as the ESP32 build). */
import type { Board } from './types';
import { limits } from '../src/opts';

/** Sized like the ESP32 (see boards/esp32.ts): same JsVar pool, same lwIP socket count, TelnetServer built in. */
export const board: Board = {
  name: 'esp32s3',
  title: 'ESP32-S3',
  jsvars: 16383,
  limits: limits({ slots: 6, rxSize: 2048, txSize: 2048 }),
  httpPort: 80,
  radio: 'esp32',
  storage: { size: 224 * 4096 },
  bundleBudget: 65536,
  espruino: {
    info: {
      id: 'ESP32S3',
      builtin_modules: ['timer', 'Flash', 'Storage', 'heatshrink', 'fs', 'net', 'dgram', 'tls', 'http', 'NetworkJS', 'Wifi', 'TelnetServer', 'crypto', 'neopixel'],
      default_console_baudrate: 115200,
    },
    chip: { family: 'ESP32_IDF4', saved_code: { address: 3276800, page_size: 4096, pages: 224, flash_available: 1344 } },
  },
};
