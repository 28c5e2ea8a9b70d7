/**
 * The settings: one schema (FIELDS) from which everything else derives — the
 * defaults at first boot, validation on the device (one message per field),
 * persistence that survives a power cut, `GET /api/schema`, the UI's form,
 * and export/import. An application adds a setting by adding one entry to
 * FIELDS; nothing else changes.
 *
 * Persistence: a record (firmware/record.ts) in `cfg.0`/`cfg.1`, so a power
 * cut at any instant leaves the previous copy whole.
 */
import { Rec, RecIO, recDamaged, recRead, recWipe, recWrite } from "./record";

/** False in a bundle that leaves MQTT out (tools/build.mjs); undefined outside a build. */
declare const __MQTT__: boolean | undefined;

export type FieldType = "string" | "secret" | "int" | "bool" | "choice";
export type Value = string | number | boolean;

/** One setting. For string and secret `min`/`max` are lengths in bytes (a secret's `min` applies when it is not empty: "" means not set). */
export interface Field {
  name: string;
  type: FieldType;
  default: Value;
  min?: number;
  max?: number;
  choices?: string[];
  label: string;
  help: string;
  group: string;
  /** Strings: what a value must match, and what to tell the person otherwise. */
  pattern?: RegExp;
  patternHelp?: string;
}

/** Bumped when a field is renamed or its meaning changes; an export names it, and `migrate` brings an older one up to date. */
export const SCHEMA_VERSION = 1;

/**
 * The settings, in the order the UI shows them; groups in order of first
 * appearance. A function, not a constant: its labels and help texts would
 * otherwise sit in RAM for the board's whole life (~300 variables on a board
 * that has 4 095); made when a request needs them, they live in flash.
 */
export function fields(): Field[] {
  // Built by push, not returned as one literal: a one-expression function is copied into every caller by the minifier.
  const f: Field[] = [];
  f.push(
    {
      name: "name", type: "string", default: "espweb", min: 1, max: 32, label: "Device name", group: "Device",
      help: "How this board is called on the status page, in exports and on the network.",
      pattern: /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, patternHelp: "use letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit",
    },
    { name: "staSsid", type: "string", default: "", min: 0, max: 32, label: "Network name (SSID)", group: "Wi-Fi", help: "The Wi-Fi network the board joins. Empty: it only runs its own access point." },
    { name: "staPass", type: "secret", default: "", min: 8, max: 63, label: "Network password", group: "Wi-Fi", help: "8 to 63 characters; empty for an open network." },
    { name: "apSsid", type: "string", default: "", min: 0, max: 32, label: "Access point name", group: "Access point", help: "The board's own network for setup. Empty: espweb-XXXX from the chip's address." },
    { name: "apPass", type: "secret", default: "", min: 8, max: 63, label: "Access point password", group: "Access point", help: "8 to 63 characters (WPA2); empty for an open access point." },
    { name: "apGrace", type: "int", default: 60, min: 10, max: 600, label: "Access point stays after joining (s)", group: "Access point", help: "Once the board has joined a network, its access point stays this long, so the page that joined can show the new address." },
    { name: "fallback", type: "int", default: 60, min: 10, max: 3600, label: "Access point returns after (s)", group: "Access point", help: "When the joined network has been gone this long, the access point comes back (the board keeps trying the network)." },
    { name: "updateKey", type: "secret", default: "", min: 16, max: 64, label: "Update signing key", group: "Security", help: "When set, the board takes only app updates signed with this key (make update UPDATE_KEY=...). Empty: a SHA-256 checksum is enough." },
    { name: "sessionHours", type: "int", default: 24, min: 1, max: 720, label: "Stay signed in (hours)", group: "Security", help: "How long a browser stays signed in before it must sign in again." },
  );
  // The MQTT group, unless the board's bundle leaves MQTT out (its profile's `mqtt: false`).
  if (typeof __MQTT__ === "undefined" || __MQTT__) f.push(
    { name: "mqtt", type: "bool", default: false, label: "Connect to an MQTT broker", group: "MQTT", help: "Publish this board's state to a broker (Mosquitto, EMQX, Home Assistant's), take settings from it, and appear in Home Assistant. Plain TCP: a broker on a network you trust." },
    {
      name: "mqttHost", type: "string", default: "", min: 0, max: 64, label: "Broker address", group: "MQTT", help: "The broker's host name or IP address.",
      pattern: /^[A-Za-z0-9._-]+$/, patternHelp: "use a host name or an IPv4 address: letters, digits, dots and dashes",
    },
    { name: "mqttPort", type: "int", default: 1883, min: 1, max: 65535, label: "Broker port", group: "MQTT", help: "1883 for plain MQTT." },
    { name: "mqttUser", type: "string", default: "", min: 0, max: 64, label: "Broker username", group: "MQTT", help: "Empty: connect without credentials." },
    { name: "mqttPass", type: "secret", default: "", min: 1, max: 64, label: "Broker password", group: "MQTT", help: "Sent in clear (plain TCP)." },
    {
      name: "mqttBase", type: "string", default: "", min: 0, max: 64, label: "Base topic", group: "MQTT",
      help: "This board's topics start here. Empty: espweb/<device name>. Every board also takes settings from <first level>/all/config/set.",
      pattern: /^[A-Za-z0-9._-][A-Za-z0-9._\/-]*$/, patternHelp: "use letters, digits, dots, dashes and underscores, levels separated by slashes (no + or #)",
    },
    { name: "mqttInterval", type: "int", default: 60, min: 5, max: 3600, label: "State published every (s)", group: "MQTT", help: "The board also publishes its state whenever its settings change." },
  );
  f.push(
    { name: "interval", type: "int", default: 60, min: 1, max: 3600, label: "Measurement interval (s)", group: "Application", help: "Example setting: how often the application measures." },
    { name: "units", type: "choice", default: "metric", choices: ["metric", "imperial"], label: "Units", group: "Application", help: "Example setting: the units readings are shown in." },
    { name: "led", type: "bool", default: true, label: "Status LED", group: "Application", help: "Example setting: blink the LED while the board is busy." },
  );
  return f;
}

/** Values by field name, plus `admin` (the admin password's "iterations$salt$hash", hex; "" while none is set), which no route returns. */
export interface Values {
  [name: string]: Value;
}

/** The field called `name` (among `fs`, default: all of them), or null. */
export function field(name: string, fs?: Field[]): Field | null {
  const all = fs || fields();
  for (let i = 0; i < all.length; i++) if (all[i].name === name) return all[i];
  return null;
}

/** Every field at its default. */
export function defaults(): Values {
  const v: Values = { admin: "" };
  const fs = fields();
  for (let i = 0; i < fs.length; i++) v[fs[i].name] = fs[i].default;
  return v;
}

/** `GET /api/schema`: the fields without keys that do not apply. */
export function schemaJson(): string {
  const out: any[] = [];
  const fs = fields();
  for (let i = 0; i < fs.length; i++) {
    const f = fs[i];
    const o: any = { name: f.name, type: f.type, default: f.type === "secret" ? "" : f.default };
    if (f.min !== undefined) o.min = f.min;
    if (f.max !== undefined) o.max = f.max;
    if (f.choices) o.choices = f.choices;
    o.label = f.label;
    o.help = f.help;
    o.group = f.group;
    out.push(o);
  }
  return JSON.stringify({ version: SCHEMA_VERSION, fields: out });
}

/**
 * JSON text `j` in ASCII: characters above 126 as \uXXXX escapes. 2v29's JSON.stringify already writes them so
 * (and its JSON.parse reads UTF-8 into such characters); a standard engine writes them raw, and a string of char
 * codes 0-255 cannot carry them to the flash or the wire.
 */
export function ascii(j: string): string {
  if (!/[^\x00-\x7e]/.test(j)) return j;
  return j.replace(/[^\x00-\x7e]/g, function (c) {
    return "\\u" + ("000" + c.charCodeAt(0).toString(16).toUpperCase()).slice(-4);
  });
}

/** Bytes of `s` in UTF-8 (a string of char codes 0-255 counts 1 per char below 128, 2 above). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? 4 : c >= 0xdc00 && c < 0xe000 ? 0 : 3;
  }
  return n;
}

/** Why `v` is not a valid value of `f`, or "" if it is. */
export function check(f: Field, v: unknown): string {
  if (f.type === "int") {
    if (typeof v !== "number" || v !== Math.floor(v) || !isFinite(v)) return "must be a whole number from " + f.min + " to " + f.max;
    if (v < (f.min as number) || v > (f.max as number)) return "must be from " + f.min + " to " + f.max;
    return "";
  }
  if (f.type === "bool") return typeof v === "boolean" ? "" : "must be true or false";
  if (typeof v !== "string") return f.type === "choice" ? "must be one of: " + (f.choices as string[]).join(", ") : "must be text";
  if (f.type === "choice") return (f.choices as string[]).indexOf(v) < 0 ? "must be one of: " + (f.choices as string[]).join(", ") : "";
  if (/[\x00-\x1f\x7f]/.test(v)) return "must not contain control characters";
  if (f.type === "secret" && v === "") return "";
  // Secrets (WPA passphrases: IEEE 802.11i allows 8-63 printable ASCII characters) are ASCII, so they are the same
  // bytes on every platform; other text is measured in UTF-8 bytes, as the radio counts an SSID.
  if (f.type === "secret" && !/^[\x20-\x7e]+$/.test(v)) return "must be printable ASCII characters (letters, digits, punctuation, spaces)";
  const n = utf8Length(v);
  if (f.max !== undefined && n > f.max) return "must be at most " + f.max + " bytes" + (n > v.length ? " (accented letters and symbols take 2 to 4)" : "");
  if (f.min !== undefined && n < f.min) return f.min === 1 ? "must not be empty" : "must be at least " + f.min + " characters" + (f.type === "secret" ? " (or empty)" : "");
  if (f.pattern && v !== "" && !f.pattern.test(v)) return f.patternHelp || "has an invalid format";
  return "";
}

/**
 * Validate a partial update against `cur`: the new values, or the message for
 * every bad field (unknown names included). Nothing is applied when one is bad.
 */
export function apply(cur: Values, patch: any): { values: Values | null; errors: { [name: string]: string } | null } {
  const errors: { [name: string]: string } = {};
  let bad = false;
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return { values: null, errors: { "": "expected a JSON object of settings" } };
  const next: Values = {};
  const fs = fields();
  for (const k in cur) next[k] = cur[k];
  for (const k in patch) {
    const f = field(k, fs);
    const why = f ? check(f, patch[k]) : "is not a setting of this device";
    if (why) {
      errors[k] = why;
      bad = true;
    } else next[k] = patch[k];
  }
  return bad ? { values: null, errors: errors } : { values: next, errors: null };
}

/** `GET /api/config`: every field's value, secrets as `{"set": bool}` only. */
export function publicJson(v: Values): string {
  const o: any = {};
  const fs = fields();
  for (let i = 0; i < fs.length; i++) {
    const f = fs[i];
    o[f.name] = f.type === "secret" ? { set: v[f.name] !== "" } : v[f.name];
  }
  return JSON.stringify(o);
}

/** The export document: readable JSON with its format and schema version; secrets left out. */
export function exportJson(v: Values): string {
  const s: any = {};
  const fs = fields();
  for (let i = 0; i < fs.length; i++) if (fs[i].type !== "secret") s[fs[i].name] = v[fs[i].name];
  return JSON.stringify({ format: "espweb-config", version: SCHEMA_VERSION, settings: s }, null, 2);
}

/** The settings of an export document, brought to SCHEMA_VERSION; or why it cannot be imported. */
export function importDoc(doc: any): { settings: any; error: string } {
  if (!doc || typeof doc !== "object" || doc.format !== "espweb-config") return { settings: null, error: 'not an espweb settings export (its "format" must be "espweb-config")' };
  const ver = doc.version;
  if (typeof ver !== "number" || ver < 1 || ver !== Math.floor(ver)) return { settings: null, error: 'the export has no valid "version"' };
  if (ver > SCHEMA_VERSION) return { settings: null, error: "the export was made by newer firmware (settings version " + ver + "); this one reads up to version " + SCHEMA_VERSION };
  if (!doc.settings || typeof doc.settings !== "object" || Array.isArray(doc.settings)) return { settings: null, error: 'the export has no "settings" object' };
  return { settings: migrate(doc.settings, ver), error: "" };
}

/** Bring settings saved or exported under schema version `from` up to SCHEMA_VERSION (one step per version; none yet). */
function migrate(s: any, from: number): any {
  for (let v = from; v < SCHEMA_VERSION; v++) {
    /* version v -> v+1: rename or convert fields here */
  }
  return s;
}

/** Where the settings live: their record (cfg.0/cfg.1) and where to report damaged copies. */
export interface Store extends Rec {
  log: (line: string) => void;
}

/** The settings' store on `io` (firmware/record.ts). */
export function settingsStore(io: RecIO, log: (line: string) => void): Store {
  return { io: io, files: ["cfg.0", "cfg.1"], seq: 0, log: log };
}

/** A stored admin hash as auth.ts writes it: "iterations$salt$hash" in hex ("" while none is set). */
function adminOk(a: unknown): boolean {
  if (a === "") return true;
  const p = typeof a === "string" ? a.split("$") : [];
  return p.length === 3 && /^[0-9]+$/.test(p[0]) && +p[0] > 0 && /^[0-9a-f]+$/.test(p[1]) && p[1].length === 32 && /^[0-9a-f]+$/.test(p[2]) && p[2].length === 64;
}

/** Load the newest valid copy over the defaults (fields it does not have keep their defaults; invalid stored values too). */
export function load(s: Store): Values {
  const v = defaults();
  const doc = recRead(s);
  if (doc === null && recDamaged(s)) s.log("settings: both copies are damaged: starting from the defaults (no admin password: set one at once)");
  if (doc && typeof doc.s === "object") {
    const stored = migrate(doc.s, doc.v || 1);
    const fs = fields();
    for (const k in stored) {
      const f = field(k, fs);
      if (k === "admin" ? adminOk(stored[k]) : f && !check(f, stored[k])) v[k] = stored[k];
    }
  }
  return v;
}

/** Save `v` as the next copy; false if the flash did not take it (full, or what was read back differs). The previous copy is untouched either way. */
export function save(s: Store, v: Values): boolean {
  return recWrite(s, ascii(JSON.stringify({ v: SCHEMA_VERSION, s: v })));
}

/** Erase both copies (factory reset): the next boot starts from the defaults. */
export function wipe(s: Store): void {
  recWipe(s);
}
