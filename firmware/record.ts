/**
 * A small JSON document kept so that a power cut at any instant leaves a whole
 * copy: Storage writes are not atomic (the old copy of a file is marked deleted
 * before the new one is written, ESPRUINO.md), so a record alternates between
 * two files, each "<seq> <checksum>\n<json>". A write goes to the file the
 * newest valid copy is NOT in and is read back; a read takes the valid copy
 * with the higher sequence number. The settings (cfg.0/cfg.1) and the boot
 * loader's record (load.0/load.1) are kept this way; the loader runs this same
 * code, so the format cannot drift between them.
 */
import type { Codec, Crypto, Storage } from "../hal/hal";

/** What a record needs of the platform: files as strings of char codes 0-255, and a checksum. */
export interface RecIO {
  /** The file's text, or null if there is none. */
  read(name: string): string | null;
  /** Write the whole file; false if the flash refused. */
  write(name: string, text: string): boolean;
  erase(name: string): void;
  /** A hex checksum of `text` (the first 8 bytes of its SHA-256). */
  sum(text: string): string;
}

/** Bytes as lowercase hex. */
export function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}

/** A record: its two files and the newest sequence number read or written. */
export interface Rec {
  io: RecIO;
  files: string[];
  seq: number;
}

/** The document of one file if it is a whole, valid copy: [seq, doc]; else null. */
function copy(r: Rec, name: string): [number, any] | null {
  const t = r.io.read(name);
  if (t === null) return null;
  const nl = t.indexOf("\n");
  const m = /^(\d+) ([0-9a-f]+)$/.exec(nl > 0 ? t.substr(0, nl) : "");
  if (!m) return null;
  const body = t.substr(nl + 1);
  if (r.io.sum(body) !== m[2]) return null;
  try {
    const o = JSON.parse(body);
    return o !== null && typeof o === "object" ? [+m[1], o] : null;
  } catch (e) {
    return null;
  }
}

/** The newest valid document (null if neither file holds one); sets `r.seq`. */
export function recRead(r: Rec): any {
  let best: [number, any] | null = null;
  for (let i = 0; i < 2; i++) {
    const c = copy(r, r.files[i]);
    if (c && (!best || c[0] > best[0])) best = c;
  }
  r.seq = best ? best[0] : 0;
  return best ? best[1] : null;
}

/** Is there a file of this record that holds no valid copy (a damaged one)? */
export function recDamaged(r: Rec): boolean {
  for (let i = 0; i < 2; i++) if (r.io.read(r.files[i]) !== null && !copy(r, r.files[i])) return true;
  return false;
}

/** Write `body` (JSON text, ASCII) as the next copy; false if the flash did not take it. The previous copy is untouched either way. */
export function recWrite(r: Rec, body: string): boolean {
  const seq = r.seq + 1;
  const text = seq + " " + r.io.sum(body) + "\n" + body;
  const name = r.files[seq % 2];
  if (!r.io.write(name, text) || r.io.read(name) !== text) return false;
  r.seq = seq;
  return true;
}

/** Erase both files. */
export function recWipe(r: Rec): void {
  r.io.erase(r.files[0]);
  r.io.erase(r.files[1]);
  r.seq = 0;
}

/** A record's files through the HAL: its Storage, its SHA-256 and its codec. */
export function halIO(st: Storage, crypto: Crypto, codec: Codec): RecIO {
  return {
    read: function (name) {
      const b = st.read(name);
      return b ? codec.str(b, 0, b.length) : null;
    },
    write: function (name, text) {
      const d = codec.bytes(text);
      return st.write(name, d, 0, d.length);
    },
    erase: function (name) {
      st.erase(name);
    },
    sum: function (text) {
      return hex(crypto.sha256(text).subarray(0, 8));
    },
  };
}
