// @ts-check
/**
 * The board facts the emulator enforces. Values come from the Espruino 2v29
 * sources (boards/ESP32*.py, targets/esp32/IDF4/sdkconfig, network_esp32.c)
 * and from ESPRUINO.md; each one is an option so a test can shrink it.
 */
'use strict';

/**
 * @typedef {object} Board
 * @property {string} name         process.env.BOARD
 * @property {number} vars         JsVars in total (process.memory().total)
 * @property {number} blocksize    bytes per JsVar
 * @property {number} storage      bytes of the Storage area (saved_code pages * page_size)
 * @property {number} pageSize     flash page size (Storage layout)
 * @property {number} chunk        bytes per socket recv/send per idle pass (net->chunkSize)
 * @property {number} maxSockets   lwIP CONFIG_LWIP_MAX_SOCKETS, listeners included
 * @property {number} sndBuf       lwIP TCP_SND_BUF: bytes in flight before send() takes nothing
 * @property {number} rcvWnd       lwIP TCP_WND: bytes buffered before the peer is throttled
 * @property {string[]} modules    process.env.MODULES (built-in modules of the real board)
 * @property {boolean} apsta       Wifi.connect keeps a running AP and startAP a station (false: the C3 build switches)
 * @property {number[]} rng        addresses of the hardware RNG register (ESP-IDF's WDEV_RND_REG): peek32 reads random bits there
 * @property {number} storageAddr  flash address of the Storage area (saved_code address): peek maps addresses up to 0x10000000 onto it
 */

/** @type {Record<string, Board>} */
const boards = {
  esp32: {
    name: 'ESP32',
    vars: 16383,
    blocksize: 14,
    storage: 224 * 4096,
    pageSize: 4096,
    chunk: 536,
    maxSockets: 10,
    sndBuf: 5760,
    rcvWnd: 5760,
    modules: ['timer', 'Flash', 'Storage', 'heatshrink', 'fs', 'net', 'dgram', 'tls', 'http', 'NetworkJS', 'Wifi', 'TelnetServer', 'crypto', 'neopixel'],
    apsta: true,
    // WDEV_RND_REG: 0x60035144 in ESP-IDF's soc/esp32 wdev_reg.h; 0x3FF75144 is the same register on the
    // DPORT bus (the address the ESP32 TRM lists).
    rng: [0x3ff75144, 0x60035144],
    storageAddr: 0x320000,
  },
};
// ESP32-C3: same flash layout and network stack, a quarter of the JsVars (measured: 4095). Its 2v29 build
// leaves out TELNET (boards/ESP32C3_IDF4.py), so there is no TelnetServer module. RNG: ESP-IDF's
// soc/esp32c3 wdev_reg.h. No AP+STA from connect/startAP: jswrap_esp32_network.c under
// CONFIG_IDF_TARGET_ESP32C3 (commit c45ff321d, in 2v24) switches from one mode to the other.
boards.esp32c3 = Object.assign({}, boards.esp32, {
  name: 'ESP32C3',
  vars: 4095,
  modules: boards.esp32.modules.filter((m) => m !== 'TelnetServer'),
  apsta: false,
  rng: [0x600260b0],
});
// ESP32-S3: the ESP32 configuration (boards/ESP32S3_IDF4.py: same libraries, pool and flash layout); RNG:
// ESP-IDF's soc/esp32s3 wdev_reg.h.
boards.esp32s3 = Object.assign({}, boards.esp32, { name: 'ESP32S3', rng: [0x6003507c] });
// The desktop board profile runs what an ESP32 runs.
boards.emulator = boards.esp32;

/**
 * The board for a name or a partial override (`{ vars: 4000 }` is an ESP32 with fewer JsVars).
 * @param {string | Partial<Board> | undefined} b
 * @returns {Board}
 */
function resolveBoard(b) {
  if (b === undefined) return Object.assign({}, boards.esp32);
  if (typeof b === 'string') {
    const k = b.toLowerCase().replace(/[^a-z0-9]/g, '');
    const r = boards[k];
    if (!r) throw new Error('unknown board "' + b + '" (known: ' + Object.keys(boards).join(', ') + ')');
    return Object.assign({}, r);
  }
  return Object.assign({}, boards.esp32, b);
}

module.exports = { boards, resolveBoard };
