/**
 * The Wi-Fi state machine: the board's own access point (with the captive
 * portal's DNS) at first boot and whenever the joined network has been gone
 * too long; the station joined from the UI or from the settings, with the
 * app's own deadline (the platform's `connect` never reports failure by
 * itself) and retries with backoff.
 *
 * | state      | radio                          | event                         | action                                                     | next       |
 * |------------|--------------------------------|-------------------------------|------------------------------------------------------------|------------|
 * | (boot)     |                                | no station settings           | forget the platform's saved config; start AP + DNS          | `ap`       |
 * | (boot)     |                                | station settings              | forget the platform's saved config; stop AP; join; arm fallback | `retry` |
 * | `ap`       | AP                             | join asked (UI)               | join (AP stays; on a board without AP+STA: AP off first)    | `joining`  |
 * | `joining`  | AP (+ station)                 | joined                        | save the network; arm the grace timer if the AP runs        | `grace` / `sta` |
 * | `joining`  |                                | failed (reason, or deadline)  | report why; AP back if it was stopped; a saved network is retried | `fallback` / `retry` (saved network), else `ap` |
 * | `grace`    | AP + station                   | grace over                    | stop AP + DNS                                               | `sta`      |
 * | `sta`      | station                        | network lost                  | arm fallback; retry in 2 s                                  | `retry`    |
 * | `grace`    | AP + station                   | network lost                  | the AP stays; retry in 2 s                                  | `fallback` |
 * | `retry`    | station trying                 | retry due                     | join (deadline)                                             | `retry`    |
 * | `retry`    |                                | failed                        | next retry after twice the wait (2 s … 60 s)                | `retry`    |
 * | `retry`    |                                | fallback due                  | start AP + DNS                                              | `fallback` |
 * | `retry`    |                                | joined                        |                                                             | `sta`      |
 * | `fallback` | AP (+ station trying)          | joined                        | arm the grace timer                                         | `grace`    |
 * | `fallback` |                                | retry due                     | join (without AP+STA: AP off during the try, back on failure; tries at least 5 min apart) | `fallback` |
 * | any        |                                | join asked (UI)               | as from `ap`                                                | `joining`  |
 *
 * The AP's name is the `apSsid` setting, or espweb-XXXX from the chip's MAC
 * address; open or WPA2 per `apPass`. Grace and fallback times are settings.
 */
import type { Hal, Udp } from "../hal/hal";
import type { Board } from "../boards/types";
import type { Values } from "./settings";
import { Dns, dnsStart, dnsStop } from "../src/dns";

/** How long one join may take before it counts as failed, ms. */
export const JOIN_MS = 20000;
/** Retry waits after a failed join, ms: the first, and the cap (doubling in between). */
export const RETRY_FIRST = 2000;
export const RETRY_CAP = 60000;
/** Without AP+STA (the C3), the least wait between tries while the AP is up, ms. */
export const RETRY_SWAP = 300000;
/** The DNS port the captive portal answers on. */
export const DNS_PORT = 53;

export type State = "ap" | "joining" | "grace" | "sta" | "retry" | "fallback";

/** The state machine of one board's radio. */
export interface Net {
  hal: Hal;
  board: Board;
  /** The settings in force (read at each step: a change applies at the next start of the AP or the next join). */
  cfg: () => Values;
  state: State;
  /** The access point runs (and the captive portal with it). */
  ap: boolean;
  apSsid: string;
  dns: Dns | null;
  /** Timer handles (0: none): grace, fallback, retry, the deadline of the join under way, the next try of an AP that did not start. */
  tAp: number;
  tGrace: number;
  tFallback: number;
  tRetry: number;
  tJoin: number;
  /** When the grace period ends, ms (0: none). */
  graceEnd: number;
  /** The next retry wait, ms. */
  wait: number;
  /** Bumped by each join: the outcome of a superseded join is ignored. */
  gen: number;
  /** Why the last join failed ("" after a success). */
  lastError: string;
  log: (line: string) => void;
}

function cancel(n: Net, t: number): number {
  if (t) n.hal.clock.cancel(t);
  return 0;
}

/** The device name as a hostname (RFC 1123: letters, digits, inner dashes): what routers list and `<name>.local` answers. */
export function hostName(name: string): string {
  const h = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+/, "").replace(/-+$/, "").substr(0, 32);
  return h || "espweb";
}

/** The AP's name: the setting, or espweb-XXXX from the last two bytes of the MAC. */
function apName(n: Net): string {
  const s = n.cfg().apSsid as string;
  if (s) return s;
  const mac = n.hal.wifi ? n.hal.wifi.mac().replace(/:/g, "") : "";
  return "espweb-" + (mac.length >= 4 ? mac.substr(mac.length - 4).toUpperCase() : "0000");
}

function startAp(n: Net): void {
  const w = n.hal.wifi;
  if (!w || n.ap) return;
  n.ap = true;
  n.apSsid = apName(n);
  w.startAP(n.apSsid, n.cfg().apPass as string, function (err) {
    const ip = w.status().apIp;
    // An AP already up may never report its start (2v29 calls back on AP_START only): the radio's state decides.
    if (err && ip === "0.0.0.0") {
      n.log("wifi: the access point " + JSON.stringify(n.apSsid) + " did not start (" + err + "): trying again in 5 s");
      n.tAp = cancel(n, n.tAp);
      n.tAp = n.hal.clock.after(5000, function () {
        n.tAp = 0;
        if (!n.ap) return;
        n.ap = false; // still wanted: start it again
        startAp(n);
      });
      return;
    }
    n.log("wifi: access point " + JSON.stringify(n.apSsid) + " up at " + ip);
    if (n.ap && n.hal.udp && !n.dns) {
      n.dns = dnsStart(n.hal.udp as Udp, DNS_PORT, ip);
      if (!n.dns) n.log("wifi: the captive portal's DNS could not bind port " + DNS_PORT);
    }
  });
}

function stopAp(n: Net): void {
  n.tAp = cancel(n, n.tAp);
  if (n.dns) dnsStop(n.dns);
  n.dns = null;
  n.graceEnd = 0;
  n.tGrace = cancel(n, n.tGrace);
  if (n.hal.wifi) n.hal.wifi.stopAP();
  if (n.ap) n.log("wifi: access point off");
  n.ap = false;
}

/** Join `ssid`; `done(err, ip)` once, within JOIN_MS. A later join supersedes this one (its outcome is then ignored). */
function join(n: Net, ssid: string, pass: string, done: (err: string | null, ip: string) => void): void {
  const w = n.hal.wifi;
  if (!w) return done("this board has no radio", "");
  const g = ++n.gen;
  const fin = function (err: string | null) {
    if (g !== n.gen) return;
    n.gen++;
    n.tJoin = cancel(n, n.tJoin);
    done(err, err ? "" : w.status().ip);
  };
  // A join still in flight (a retry, say) is called off first: its late failure must not end this one.
  if (n.tJoin) w.disconnect();
  n.tJoin = cancel(n, n.tJoin);
  n.tJoin = n.hal.clock.after(JOIN_MS, function () {
    n.tJoin = 0;
    fin("timeout");
    w.disconnect(); // the radio would otherwise go on trying, and might join behind the app's back
  });
  w.connect(ssid, pass, fin);
}

/** The station is up: leave the AP for the grace period (the page that asked shows the new address meanwhile), or go on without it. */
function joined(n: Net): void {
  n.lastError = "";
  n.wait = RETRY_FIRST;
  n.tRetry = cancel(n, n.tRetry);
  n.tFallback = cancel(n, n.tFallback);
  if (n.ap) {
    n.state = "grace";
    const ms = (n.cfg().apGrace as number) * 1000;
    n.graceEnd = n.hal.clock.now() + ms;
    n.tGrace = cancel(n, n.tGrace);
    n.tGrace = n.hal.clock.after(ms, function () {
      n.tGrace = 0;
      if (n.state !== "grace") return;
      stopAp(n);
      n.state = "sta";
    });
  } else n.state = "sta";
}

/** Try the saved network again after the current wait (doubling, capped). */
function retryLater(n: Net): void {
  n.tRetry = cancel(n, n.tRetry);
  // Without AP+STA each try takes the AP down for up to JOIN_MS: at most one every RETRY_SWAP, so a person can set the board up meanwhile.
  if (n.ap && !n.board.apsta) n.wait = Math.max(n.wait, RETRY_SWAP);
  n.tRetry = n.hal.clock.after(n.wait, function () {
    n.tRetry = 0;
    retry(n);
  });
  n.wait = Math.min(n.wait * 2, RETRY_CAP);
}

function retry(n: Net): void {
  const c = n.cfg();
  if (!c.staSsid) return;
  // Without AP+STA the access point must make way for the try, and comes back if it fails.
  const swap = n.ap && !n.board.apsta;
  if (swap) stopAp(n);
  join(n, c.staSsid as string, c.staPass as string, function (err) {
    if (!err) return joined(n);
    n.lastError = err;
    if (swap) startAp(n);
    retryLater(n);
  });
}

/** The AP comes back if the saved network is still not joined after the fallback time. */
function armFallback(n: Net): void {
  n.tFallback = cancel(n, n.tFallback);
  n.tFallback = n.hal.clock.after((n.cfg().fallback as number) * 1000, function () {
    n.tFallback = 0;
    if (n.state !== "retry") return;
    n.log("wifi: " + JSON.stringify(n.cfg().staSsid) + " still not joined: the access point comes back");
    n.state = "fallback";
    startAp(n);
    if (!n.board.apsta) retryLater(n); // a board that switches: with the AP up, tries now wait RETRY_SWAP
  });
}

/** The saved network went away: retry with backoff; the AP comes back after the fallback time. */
function lost(n: Net): void {
  n.wait = RETRY_FIRST;
  n.graceEnd = 0;
  n.tGrace = cancel(n, n.tGrace);
  // Lost during the grace period, the AP is still up: it stays, as in fallback.
  n.state = n.ap ? "fallback" : "retry";
  retryLater(n);
  if (!n.ap) armFallback(n);
}

/** Start the radio per the settings (see the table). */
export function netStart(hal: Hal, board: Board, cfg: () => Values, log: (line: string) => void): Net {
  const n: Net = {
    hal: hal, board: board, cfg: cfg, state: "ap", ap: false, apSsid: "", dns: null,
    tAp: 0, tGrace: 0, tFallback: 0, tRetry: 0, tJoin: 0, graceEnd: 0, wait: RETRY_FIRST, gen: 0, lastError: "", log: log,
  };
  const w = hal.wifi;
  if (!w) return n;
  w.forget();
  w.hostname(hostName(cfg().name as string));
  w.on(function (ev, info) {
    // The radio joined the saved network on its own (a try the app had given up on): take it.
    if (ev === "up" && (n.state === "retry" || n.state === "fallback") && !n.tJoin && w.status().ssid === cfg().staSsid) return joined(n);
    if (ev === "lost" && (n.state === "sta" || n.state === "grace")) {
      n.log("wifi: lost " + JSON.stringify(cfg().staSsid) + ": " + info);
      n.lastError = info;
      lost(n);
    }
  });
  const c = cfg();
  if (!c.staSsid) {
    startAp(n);
    return n;
  }
  // The interpreter may have started its own default access point: the board's is started only when needed.
  w.stopAP();
  n.state = "retry";
  armFallback(n);
  retry(n);
  return n;
}

/**
 * The Wi-Fi settings changed (Settings page, import): a new saved network is
 * tried now; with none saved, the board stops trying and its AP runs. The AP's
 * own name and password apply the next time it starts.
 */
export function netSettings(n: Net): void {
  if (!n.hal.wifi || n.state === "joining") return;
  const c = n.cfg();
  n.tRetry = cancel(n, n.tRetry);
  n.wait = RETRY_FIRST;
  if (!c.staSsid) {
    n.tFallback = cancel(n, n.tFallback);
    n.gen++; // a try in flight no longer counts
    if (n.state !== "ap") n.hal.wifi.disconnect();
    n.state = "ap";
    startAp(n);
    return;
  }
  if (n.state === "sta" || n.state === "grace") n.hal.wifi.disconnect();
  n.state = n.ap ? "fallback" : "retry";
  if (!n.ap) armFallback(n);
  retry(n);
}

/**
 * A join asked through the UI. With AP+STA (or no AP running) `done` gets the
 * outcome; without, the AP has to go first, so `done` is called at once with
 * "switch" and the join starts after `delayMs` (time for that answer to leave).
 */
export function netJoin(n: Net, ssid: string, pass: string, delayMs: number, done: (err: string | null, ip: string) => void): void {
  n.state = "joining";
  n.tRetry = cancel(n, n.tRetry);
  n.tFallback = cancel(n, n.tFallback);
  // The AP a grace period was counting down for stays while this join runs (the person may be on it).
  n.tGrace = cancel(n, n.tGrace);
  n.graceEnd = 0;
  const swap = n.ap && !n.board.apsta;
  const go = function () {
    if (swap) stopAp(n);
    join(n, ssid, pass, function (err, ip) {
      if (!err) {
        joined(n);
        if (!swap) done(null, ip);
        return;
      }
      n.lastError = err;
      n.log("wifi: join " + JSON.stringify(ssid) + " failed: " + err);
      if (swap) startAp(n);
      // The radio left whatever it had joined for this try: a saved network is tried again (the AP comes back
      // after the fallback time if it is not running); with none, the AP is where the person is.
      if (n.cfg().staSsid) {
        n.state = n.ap ? "fallback" : "retry";
        n.wait = RETRY_FIRST;
        retryLater(n);
        if (!n.ap) armFallback(n);
      } else {
        n.state = "ap";
        startAp(n);
      }
      if (!swap) done(err, "");
    });
  };
  if (!swap) return go();
  done("switch", "");
  n.hal.clock.after(delayMs, go);
}

/** For /api/status: the state, what runs, and the seconds left before the AP goes off (during the grace period). */
export function netStatus(n: Net): any {
  const w = n.hal.wifi;
  const s = w ? w.status() : { sta: "off", ssid: "", ip: "0.0.0.0", apIp: "0.0.0.0", rssi: 0 };
  const up = s.sta === "connected";
  return {
    state: n.state,
    mode: up ? (n.ap ? "ap+sta" : "sta") : n.ap ? "ap" : "off",
    station: s.sta,
    ssid: up ? s.ssid : "",
    ip: up ? s.ip : "",
    rssi: up ? s.rssi : 0,
    apSsid: n.ap ? n.apSsid : "",
    apIp: n.ap && s.apIp !== "0.0.0.0" ? s.apIp : "",
    apOffIn: n.graceEnd ? Math.max(0, Math.ceil((n.graceEnd - n.hal.clock.now()) / 1000)) : 0,
    apsta: n.board.apsta,
    lastError: n.lastError,
  };
}
