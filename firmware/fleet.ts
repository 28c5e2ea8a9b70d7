/**
 * The board on an MQTT broker (src/mqtt.ts), for people with many boards:
 *
 *   <base>/status          "online" (retained); the last will says "offline"
 *   <base>/state           the signed-in /api/status document plus "config" (the
 *                          Application settings), retained: on connecting, after
 *                          every change of settings, and every `mqttInterval` s
 *   <base>/config/set      a partial configuration as JSON, validated and applied
 *                          exactly as PUT /api/config; the outcome on
 *   <base>/config/result   {"applied":true} or {"errors":{field: why}}
 *   <base>/cmd/reboot      restart
 *   <group>/all/config/set the same as config/set, for every board at once
 *                          (<group>: the base topic's first level, "espweb")
 *
 * and Home Assistant's MQTT discovery (homeassistant/<component>/<node>/<key>/config,
 * retained): an uptime and a signal sensor, and each Application setting as a
 * number (int), a select (choice) or a switch (bool) that Home Assistant can
 * change, all under one device. The base topic is `mqttBase`, or
 * espweb/<the device's host name>.
 *
 * Settings come from the schema (settings.ts, group "MQTT"); a change of the
 * broker's settings restarts the client, which reports its state on the
 * status page. Plain TCP with credentials: a broker on a trusted network.
 * As in src/mqtt.ts, what runs only while connected is made when the client
 * starts (fleetOn): a board with MQTT off pays three functions for it.
 */
import type { Hal } from "../hal/hal";
import type { Board } from "../boards/types";
import { Mgr, timerAdd, timerDel } from "../src/index";
import { Mqtt, MqttEv, mqttStart } from "../src/mqtt";
import { Field, Values, ascii, fields } from "./settings";
import { hostName } from "./wifi";
import { VERSION } from "./version";

/** What the fleet needs of the app. */
export interface FleetHooks {
  /** The settings in force. */
  cfg(): Values;
  /** Validate and apply a partial configuration as PUT /api/config does: null once applied (and saved), else why not, by field. */
  change(patch: any): { [field: string]: string } | null;
  /** The signed-in /api/status document. */
  status(): string;
  /** Restart the board (after a moment). */
  reboot(why: string): void;
  /** The board's address on its network ("" none). */
  ip(): string;
}

/** The client and what it was started with. */
export interface Fleet {
  mgr: Mgr;
  hal: Hal;
  board: Board;
  h: FleetHooks;
  /** The MQTT client id and Home Assistant node id: "espweb-" and the end of the radio's MAC. */
  id: string;
  /** The broker settings the client runs with (a change restarts it), and its base topic. */
  key: string;
  base: string;
  /** The running client (null: off), and what the settings change: a new state interval, a state to publish. */
  q: Mqtt | null;
  every: (() => void) | null;
  publish: (() => void) | null;
  /** Stop the client: "offline" first, or (`moved`: the base topic changes) its retained messages there cleared; `done` once its connection is gone. */
  stop: ((moved: boolean, done: () => void) => void) | null;
  /** The previous client is still ending: the next one starts when it has (with the settings in force then). */
  waiting: boolean;
  /** The base topic the board moved from, cleared by the next client once connected ("" none): the old client clears it only if it is connected when the settings change. */
  stale: string;
}

/** Start (or not, when off in the settings) the board's MQTT client. */
export function fleetStart(mgr: Mgr, hal: Hal, board: Board, h: FleetHooks): Fleet {
  const mac = hal.wifi ? hal.wifi.mac().split(":").join("").toLowerCase() : "";
  const f: Fleet = { mgr: mgr, hal: hal, board: board, h: h, id: "espweb-" + (mac ? mac.substr(-6) : hostName(h.cfg().name as string)), key: "", base: "", q: null, every: null, publish: null, stop: null, waiting: false, stale: "" };
  fleetSettings(f);
  return f;
}

/** The settings changed: restart the client if its own did; else a new interval, and the state published. */
export function fleetSettings(f: Fleet): void {
  const v = f.h.cfg();
  const base = (v.mqttBase as string) || "espweb/" + hostName(v.name as string);
  const key = v.mqtt && v.mqttHost ? [v.mqttHost, v.mqttPort, v.mqttUser, v.mqttPass, base].join("\n") : "";
  if (key === f.key) {
    if (f.every) f.every();
    if (f.publish) f.publish();
    return;
  }
  const stop = f.stop;
  f.q = f.every = f.publish = f.stop = null;
  const moved = base !== f.base;
  if (moved && f.base) f.stale = f.base;
  f.key = key;
  f.base = base;
  if (!stop) {
    if (key && !f.waiting) fleetOn(f, v);
    return;
  }
  // The old client ends after this event (a config/set that made the change still gets its result out on it), and
  // the new one connects once the old connection is gone: they share a client id, and the broker would drop the old
  // one, with what it has not read yet, when the new one arrives.
  f.waiting = true;
  f.hal.clock.soon(function () {
    stop(moved, function () {
      f.waiting = false;
      if (f.key) fleetOn(f, f.h.cfg());
    });
  });
}

/** The client's state for /api/status: off, connecting, connected or waiting (with why, and the seconds until the next try). */
export function fleetStatus(f: Fleet): string {
  const q = f.q;
  const v = f.h.cfg();
  if (!f.key) return v.mqtt ? '{"state":"off","why":"turned on, but no broker address is set"}' : '{"state":"off"}';
  // (No client yet: the previous one is still saying goodbye.)
  const wait = q && q.state === "waiting" ? Math.max(0, Math.ceil((q.retryAt - f.hal.clock.now()) / 1000)) : 0;
  return ascii(JSON.stringify({ state: !q ? "connecting" : q.state === "up" ? "connected" : q.state, broker: v.mqttHost + ":" + v.mqttPort, base: f.base, why: q ? q.why : "", retryIn: wait }));
}

/** Start the client with settings `v`. */
function fleetOn(f: Fleet, v: Values): void {
  const mgr = f.mgr;
  const base = f.base;
  // The group topic for every board: the base topic's first level, then /all/config/set.
  const group = base.split("/")[0] + "/all/config/set";
  /** The state interval (s), its timer (every 5 s: a change of address is published then), the address and time of the last state; the discovery pump's timer and the next message's index (-1: done). */
  let secs = 0;
  let tick = 0;
  let ip = "";
  let at = 0;
  /** A state publish asked for (a timer 50 ms away: a burst of changes publishes once). */
  let pending = 0;
  let pump = 0;
  let disc = -1;

  /** The state document, retained. */
  function publish(): void {
    if (q.state !== "up") return;
    ip = f.h.ip();
    at = f.hal.clock.now();
    const s = f.h.status();
    const cfg = f.h.cfg();
    const app: any = {};
    const fs = fields();
    for (let i = 0; i < fs.length; i++) if (fs[i].group === "Application") app[fs[i].name] = cfg[fs[i].name];
    q.publish(base + "/state", s.substr(0, s.length - 1) + ',"config":' + ascii(JSON.stringify(app)) + "}", 0, true);
  }

  /** Take the state interval from the settings. */
  function every(): void {
    secs = f.h.cfg().mqttInterval as number;
    if (!tick) {
      tick = timerAdd(mgr, 5000, true, function () {
        if (f.h.ip() !== ip || f.hal.clock.now() - at >= secs * 1000) publish();
      });
    }
  }

  /** A publish on one of our topics. */
  function message(topic: string, payload: string): void {
    if (topic === base + "/cmd/reboot") return f.h.reboot("rebooting: asked over MQTT");
    if (topic !== base + "/config/set" && topic !== group) return;
    let patch: any;
    try {
      patch = JSON.parse(payload);
    } catch (e) {
      patch = undefined;
    }
    const errors = patch === null || typeof patch !== "object" || Array.isArray(patch) ? { "": "expected a JSON object of settings, as PUT /api/config takes" } : f.h.change(patch);
    f.hal.log("mqtt: settings from " + topic + (errors ? " refused: " + JSON.stringify(errors) : " applied"));
    // On this client, at this base, even when the change restarts MQTT: the old client ends after this event.
    q.publish(base + "/config/result", ascii(JSON.stringify(errors ? { errors: errors } : { applied: true })), 1, false);
  }

  /** The next Home Assistant discovery message, once the client has nothing waiting; the pump stops after the last. */
  function discover(): void {
    if (q.state !== "up" || disc < 0) {
      if (pump) timerDel(mgr, pump);
      pump = 0;
      return;
    }
    if (q.out.length) return;
    const d = discovery(disc);
    if (!d) disc = -1;
    else if (q.publish(d[0], d[1], 0, true) || d[1].length > mgr.lim.txSize) disc++;
  }

  /** Discovery message `i` (topic, payload), or null after the last: the two sensors, then each Application setting HA can show. */
  function discovery(i: number): string[] | null {
    const cfg = f.h.cfg();
    const ip = f.h.ip();
    const o: any = { avty_t: base + "/status", stat_t: base + "/state", ent_cat: "diagnostic" };
    let comp = "sensor";
    let key: string;
    if (i < 2) {
      key = i ? "rssi" : "uptime";
      o.name = i ? "Wi-Fi signal" : "Uptime";
      o.val_tpl = i ? "{{ value_json.wifi.rssi }}" : "{{ value_json.uptime }}";
      o.unit_of_meas = i ? "dBm" : "s";
      o.dev_cla = i ? "signal_strength" : "duration";
      o.stat_cla = i ? "measurement" : "total_increasing";
    } else {
      const fs = fields();
      const app: Field[] = [];
      for (let k = 0; k < fs.length; k++) if (fs[k].group === "Application" && fs[k].type !== "string" && fs[k].type !== "secret") app.push(fs[k]);
      const fd = app[i - 2];
      if (!fd) return null;
      key = fd.name;
      delete o.ent_cat;
      o.name = fd.label;
      o.cmd_t = base + "/config/set";
      const set = '{"' + fd.name + '": ';
      o.val_tpl = "{{ value_json.config." + fd.name + " }}";
      if (fd.type === "int") {
        comp = "number";
        o.cmd_tpl = set + "{{ value | int }}}";
        o.min = fd.min;
        o.max = fd.max;
        o.mode = "box";
      } else if (fd.type === "choice") {
        comp = "select";
        o.cmd_tpl = set + '"{{ value }}"}';
        o.options = fd.choices;
      } else {
        comp = "switch";
        o.pl_on = set + "true}";
        o.pl_off = set + "false}";
        o.val_tpl = "{{ 'ON' if value_json.config." + fd.name + " else 'OFF' }}";
      }
    }
    o.uniq_id = f.id + "_" + key;
    o.obj_id = hostName(cfg.name as string) + "_" + key;
    o.dev = { ids: [f.id], name: cfg.name, mdl: f.board.title, mf: "espweb", sw: VERSION };
    if (ip) o.dev.cu = "http://" + ip + "/";
    return ["homeassistant/" + comp + "/" + f.id + "/" + key + "/config", ascii(JSON.stringify(o))];
  }

  const q = mqttStart(
    mgr,
    { host: v.mqttHost as string, port: v.mqttPort as number, id: f.id, user: v.mqttUser as string, pass: v.mqttPass as string, keepAlive: 30, willTopic: base + "/status", willMsg: "offline" },
    function (ev, topic, payload) {
      if (ev === MqttEv.Msg) return message(topic, payload);
      if (ev !== MqttEv.Up) return;
      // Connected (the client has renewed the subscriptions): the retained messages left where the board was before
      // it moved cleared, availability, the state, then discovery.
      if (f.stale && f.stale !== base) {
        q.publish(f.stale + "/status", "", 1, true);
        q.publish(f.stale + "/state", "", 1, true);
      }
      f.stale = "";
      q.publish(base + "/status", "online", 1, true);
      publish();
      disc = 0;
      if (!pump) pump = timerAdd(mgr, 100, true, discover);
    },
  );
  q.subscribe(base + "/config/set", 1);
  q.subscribe(base + "/cmd/reboot", 1);
  q.subscribe(group, 1);
  f.q = q;
  f.every = every;
  f.publish = function () {
    if (!pending) {
      pending = timerAdd(mgr, 50, false, function () {
        pending = 0;
        publish();
      });
    }
  };
  f.stop = function (moved, done) {
    // An empty retained message deletes the retained one (MQTT 3.1.1 §3.3.1.3): a renamed board leaves no stale topics.
    if (q.state === "up") q.publish(base + "/status", moved ? "" : "offline", 0, true);
    if (q.state === "up" && moved) q.publish(base + "/state", "", 0, true);
    q.stop(done);
    if (pending) timerDel(mgr, pending);
    if (tick) timerDel(mgr, tick);
    if (pump) timerDel(mgr, pump);
  };
  every();
  f.hal.log("mqtt: connecting to " + v.mqttHost + ":" + v.mqttPort + " as " + f.id + ", base topic " + base);
}
