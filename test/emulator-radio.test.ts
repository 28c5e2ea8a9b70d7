/**
 * The emulated radio for the provisioning flow, held to libs/network/esp32/jswrap_esp32_network.c at the 2v29
 * release (6106910b8): access point and station at once on ESP32 and S3, the C3 build switching from one to
 * the other (CONFIG_IDF_TARGET_ESP32C3), and a home network that goes away and comes back (host control).
 */
import { Emulator } from '../emulator';
import { start, until } from './e2e/emulators';

const wifi = { scanMs: 30, connectMs: 20, dhcpMs: 10, apMs: 5, networks: [{ ssid: 'home', password: 'secret123', rssi: -40, channel: 6 }, { ssid: 'cafe', rssi: -70 }] };

/** Device code recording every radio event. */
const EVENTS = `
var W = require('Wifi');
var ev = [];
['associated', 'connected', 'disconnected'].forEach(function (n) { W.on(n, function (d) { ev.push(n + (d.reason ? ' ' + d.reason : '')); }); });
var cbs = [];
`;

const events = (e: Emulator): string[] => e.eval('ev') as string[];
const join = (e: Emulator, ssid = 'home', password = 'secret123') => e.eval(`W.connect(${JSON.stringify(ssid)}, { password: ${JSON.stringify(password)} }, function (err) { cbs.push(err); })`);
const startAP = async (e: Emulator) => {
  e.eval('var apUp = 0; W.startAP("espweb-setup", {}, function () { apUp++; })');
  await until(() => e.eval('apUp') === 1);
};
const mode = (e: Emulator): string => e.eval('W.getStatus().mode') as string;

describe('access point and station at once', () => {
  test('ESP32: connect() keeps the access point running (APSTA), startAP() keeps the station', async () => {
    const e = await start({ code: EVENTS, wifi, board: 'esp32' });
    await startAP(e);
    expect(mode(e)).toBe('AP');
    join(e);
    await until(() => events(e).includes('connected'));
    expect(mode(e)).toBe('APSTA');
    expect(e.wifi.state()).toMatchObject({ mode: 'APSTA', station: 'connected', ap: 'espweb-setup' });
    await startAP(e);
    expect(e.wifi.state()).toMatchObject({ mode: 'APSTA', station: 'connected', ap: 'espweb-setup' });
    expect(events(e)).toEqual(['associated', 'connected']);
  });

  test('ESP32-C3: nothing is refused, the build switches: connect() stops the access point, startAP() from STA stops the station', async () => {
    const e = await start({ code: EVENTS, wifi, board: 'esp32c3' });
    expect(e.board.apsta).toBe(false);
    await startAP(e);
    join(e);
    // At once, silently: the access point is gone (no event for it on 2v29).
    expect(e.wifi.state()).toMatchObject({ mode: 'STA', ap: null });
    await until(() => events(e).includes('connected'));
    expect(e.eval('cbs')).toEqual([null]);
    expect(mode(e)).toBe('STA');
    // startAP from STA: mode AP; the joined station leaves (ASSOC_LEAVE).
    await startAP(e);
    expect(e.wifi.state()).toMatchObject({ mode: 'AP', station: 'idle', ap: 'espweb-setup', ip: '0.0.0.0' });
    expect(events(e)).toEqual(['associated', 'connected', 'disconnected 8']);
    expect(e.eval('W.getIP().ip')).toBe('0.0.0.0');
  });

  test('ESP32-C3: a join under way is abandoned by startAP(); scan() has no such guard (AP → APSTA), and startAP() then keeps APSTA', async () => {
    const e = await start({ code: EVENTS, wifi, board: 'esp32c3' });
    join(e);
    await startAP(e);
    await new Promise((r) => setTimeout(r, 80));
    expect(events(e)).toEqual([]);
    expect(e.eval('cbs')).toEqual([]);
    expect(e.wifi.state()).toMatchObject({ mode: 'AP', station: 'idle' });
    e.eval('var found = null; W.scan(function (l) { found = l; })');
    expect(mode(e)).toBe('APSTA');
    await until(() => e.eval('found'));
    await startAP(e);
    expect(mode(e)).toBe('APSTA');
    expect(e.wifi.state().ap).toBe('espweb-setup');
  });
});

describe('the home network goes away and comes back (host control)', () => {
  test('networkGone: the joined station is dropped (200), scans leave it out, joins fail with 201 and no callback; networkBack: found and joined again', async () => {
    const e = await start({ code: EVENTS, wifi });
    join(e);
    await until(() => events(e).includes('connected'));
    e.wifi.networkGone('home');
    expect(e.wifi.state()).toMatchObject({ station: 'idle', ip: '0.0.0.0', gone: ['home'] });
    await until(() => events(e).length === 3);
    expect(events(e)[2]).toBe('disconnected 200');
    e.eval('var found = null; W.scan(function (l) { found = l.map(function (n) { return n.ssid; }); })');
    await until(() => e.eval('found'));
    expect(e.eval('found')).toEqual(['cafe']);
    // 2v29 does not rejoin by itself; the firmware's retry fails while the network is away.
    join(e);
    await until(() => events(e).length === 4);
    expect(events(e)[3]).toBe('disconnected 201');
    expect(e.eval('cbs')).toEqual([null]);
    e.wifi.networkBack('home');
    expect(e.wifi.state().gone).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(events(e)).toHaveLength(4); // nothing happens by itself
    e.eval('found = null; W.scan(function (l) { found = l.map(function (n) { return n.ssid; }); })');
    await until(() => e.eval('found'));
    expect(e.eval('found')).toEqual(['home', 'cafe']);
    join(e);
    await until(() => (e.eval('cbs') as unknown[]).length === 2);
    expect(e.wifi.state()).toMatchObject({ station: 'connected', ssid: 'home' });
  });

  test('a network that goes away during a join: the join fails (201); gone survives a reboot of the device', async () => {
    const e = await start({ code: EVENTS, wifi });
    join(e);
    e.wifi.networkGone('home');
    await until(() => events(e).length === 1);
    expect(events(e)).toEqual(['disconnected 201']);
    await e.reboot();
    expect(e.wifi.state().gone).toEqual(['home']);
  });
});

test('ESP32-C3: a saved APSTA configuration is restored as saved at power-on (restore sets the mode itself)', async () => {
  const e = await start({ code: EVENTS, wifi, board: 'esp32c3' });
  e.eval('W.scan(function () {});'); // AP → APSTA, unguarded
  join(e); // → STA on the C3
  await until(() => events(e).includes('connected'));
  expect(mode(e)).toBe('STA');
  e.eval('W.startAP("espweb-setup", {}); W.save();');
  await e.reboot();
  expect(e.wifi.state().mode).toBe('AP');
  e.storage.write('.wificfg', JSON.stringify({ ssid: 'home', password: 'secret123', mode: 3, ssidAP: 'x', passwordAP: '', authmodeAP: 0, hiddenAP: 0, channelAP: 1, hostname: 'espressif' }));
  await e.reboot();
  expect(e.wifi.state()).toMatchObject({ mode: 'APSTA', ap: expect.any(String) });
  await until(() => e.wifi.state().station === 'connected');
  expect(e.wifi.state().mode).toBe('APSTA');
});
