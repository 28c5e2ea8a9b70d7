/**
 * A simulated radio for targets without Wi-Fi (the Linux build, the
 * emulator): a fixed list of demo networks, a scan that takes as long as a
 * real one, and joins that check the password. Portable (runs in the bundle
 * on the device and on Node); all time comes from the HAL Clock.
 */
import type { Clock, Wifi, WifiNet } from './hal';

/** How long a scan takes, ms (an ESP32 active scan of all channels takes 1-2 s). */
export const SCAN_MS = 1500;
/** How long joining a network takes, ms. */
export const JOIN_MS = 800;
/** How long starting the access point takes, ms. */
export const AP_MS = 100;

/** The demo networks: [ssid, rssi, channel, auth, password]. Made when a simulated radio starts: a board with a real radio holds none of it in RAM. */
function demoNets(): [string, number, number, string, string][] {
  const n: [string, number, number, string, string][] = [];
  n.push(['espweb-lab', -41, 6, 'wpa2', 'espruino'], ['Cafe Guest', -63, 1, 'open', ''], ['Workshop 2.4', -72, 11, 'wpa_wpa2', 'soldering'], ['FRITZ!Box 7530', -85, 3, 'wpa2', 'not-this-one']);
  return n;
}

/** The address the simulated station gets, and the access point's own. */
const STA_IP = '192.168.1.77';
const AP_IP = '192.168.4.1';

/** A radio over `clock`: one scan at a time, joins by password, an access point that always starts. */
export function simRadio(clock: Clock): Wifi {
  const nets = demoNets();
  let scanning = false;
  let sta = 'off';
  let ssid = '';
  let ip = '0.0.0.0';
  let apIp = '0.0.0.0';
  /** Bumped by each connect/disconnect, so a join that completes after a newer request is ignored. */
  let gen = 0;
  let listener: (ev: 'lost' | 'up', info: string) => void = () => {};

  return {
    scan(done) {
      if (scanning) {
        clock.soon(() => done('busy', null));
        return;
      }
      scanning = true;
      clock.after(SCAN_MS, () => {
        scanning = false;
        const list: WifiNet[] = [];
        for (let i = 0; i < nets.length; i++) list.push({ ssid: nets[i][0], rssi: nets[i][1], channel: nets[i][2], auth: nets[i][3] });
        done(null, list);
      });
    },
    connect(name, password, done) {
      const g = ++gen;
      sta = 'connecting';
      ssid = name;
      ip = '0.0.0.0';
      clock.after(JOIN_MS, () => {
        if (g !== gen) {
          done('cancelled');
          return;
        }
        let net: [string, number, number, string, string] | null = null;
        for (let i = 0; i < nets.length; i++) if (nets[i][0] === name) net = nets[i];
        if (!net) sta = 'no_ap_found';
        else if (net[3] !== 'open' && net[4] !== password) sta = 'bad_password';
        else {
          sta = 'connected';
          ip = STA_IP;
        }
        done(sta === 'connected' ? null : sta);
        if (sta === 'connected') listener('up', ip);
      });
    },
    disconnect() {
      gen++;
      sta = 'off';
      ssid = '';
      ip = '0.0.0.0';
    },
    startAP(name, password, done) {
      // WPA2 needs 8 to 63 characters; an empty password means an open AP.
      if (password.length > 0 && (password.length < 8 || password.length > 63)) {
        clock.soon(() => done('bad_password'));
        return;
      }
      clock.after(AP_MS, () => {
        if (!name) {
          done('bad_ssid');
          return;
        }
        apIp = AP_IP;
        done(null);
      });
    },
    stopAP() {
      apIp = '0.0.0.0';
    },
    status() {
      let rssi = 0;
      for (let i = 0; i < nets.length; i++) if (sta === 'connected' && nets[i][0] === ssid) rssi = nets[i][1];
      return { sta: sta, ssid: ssid, ip: ip, apIp: apIp, rssi: rssi };
    },
    on(fn) {
      listener = fn;
    },
    hostname() {},
    mac() {
      return '02:00:00:5e:1a:b0';
    },
    forget() {},
  };
}
