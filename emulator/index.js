// @ts-check
/**
 * The desktop emulator: runs a built firmware bundle in a V8 context that
 * looks like Espruino 2v29 on an ESP32 (see README.md for what is faithful and
 * what is estimated). `startEmulator(options)` boots it and resolves once its
 * listeners are bound on the host.
 *
 * Boot mirrors the device: by default the bundle is written to Storage as
 * `.bootcde` (what `make flash` does) and the interpreter boots from Storage,
 * so reset()/load()/E.reboot() and a restart with the same data folder run the
 * very same file.
 */
'use strict';
const path = require('path');
const vm = require('vm');
const { nameField, strBytes } = require('./flash');
const { Device } = require('./device');

/**
 * Boot the emulator; resolves once the listeners the boot code opened are bound on the host.
 * @param {import('./index').EmulatorOptions} [options]
 * @returns {Promise<import('./index').Emulator>}
 */
async function startEmulator(options) {
  const opts = Object.assign({}, options || {});
  if (opts.port === undefined && !opts.portMap) opts.port = 0;
  const dev = new Device(opts);
  try {
    await dev.start();
  } catch (e) {
    await dev.stop();
    throw e;
  }
  const host = opts.host || '127.0.0.1';
  /** @type {import('./index').Emulator} */
  const api = {
    get port() { return dev.mainPort(); },
    get ports() { return dev.net.portTable(); },
    get udpPorts() { return dev.net.udp.portTable(); },
    get url() { return 'http://' + host + ':' + dev.mainPort(); },
    get context() { return /** @type {import('./runtime').Runtime} */ (dev.rt).global; },
    board: dev.board,
    logs: dev.logs,
    errors: dev.errors,
    async stop() { await dev.stop(); },
    async reboot() {
      dev.flash.uncut();
      dev.boot('power');
      await dev.settled();
    },
    async reset() {
      dev.boot('reset');
      await dev.settled();
    },
    async ready() { await dev.settled(); },
    telnet() { return dev.telnet(); },
    eval(code) {
      return vm.runInContext(code, /** @type {import('./runtime').Runtime} */ (dev.rt).ctx, { filename: 'console' });
    },
    memory() {
      const m = /** @type {import('./runtime').Runtime} */ (dev.rt).memoryFields(true);
      return { free: m[0], usage: m[1], total: m[2], history: m[3], gc: m[4], gctime: m[5], blocksize: m[6] };
    },
    storage: {
      read: (name) => dev.flash.read(nameField(name)),
      readString: (name) => dev.file(name),
      write: (name, data) => dev.flash.write(nameField(name), typeof data === 'string' ? strBytes(data) : Buffer.from(data), 0, 0, 0),
      erase: (name) => dev.flash.erase(nameField(name)),
      list: () => dev.flash.list(),
      getFree: () => dev.flash.free(),
      stats: () => dev.flash.stats(),
      programmed: () => dev.flash.programmed,
      cutPowerAfter: (bytes) => new Promise((res) => dev.flash.cutAfter(bytes, () => res())),
      file: opts.data ? path.join(opts.data, 'storage.bin') : null,
    },
    wifi: {
      joinAP: (mac) => dev.wifi.joinAP(mac),
      leaveAP: (mac) => dev.wifi.leaveAP(mac),
      setNetworks: (list) => dev.wifi.setNetworks(list),
      dropStation: (reason) => dev.wifi.dropStation(reason === undefined ? 200 : reason),
      networkGone: (ssid) => dev.wifi.networkGone(ssid),
      networkBack: (ssid) => dev.wifi.networkBack(ssid),
      hangScan: () => dev.wifi.hangScan(),
      state: () => dev.wifi.state(),
    },
  };
  return api;
}

module.exports = { startEmulator, Device };
