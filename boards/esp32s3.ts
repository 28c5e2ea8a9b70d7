/** ESP32-S3 boards running Espruino 2v29: the ESP32 profile (same interpreter configuration, JsVar pool, lwIP sockets, TelnetServer) under its own name and board id. */
import type { Board } from './types';
import { board as esp32 } from './esp32';

const e = esp32.espruino!;

export const board: Board = Object.assign({}, esp32, {
  name: 'esp32s3',
  title: 'ESP32-S3',
  rngReg: 0x6003507c, // WDEV_RND_REG (ESP-IDF soc/esp32s3/include/soc/wdev_reg.h)
  espruino: { info: Object.assign({}, e.info, { id: 'ESP32S3' }), chip: e.chip },
});
