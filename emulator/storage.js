// @ts-check
/**
 * The natives behind `require("Storage")` and `StorageFile` (src/jswrap_storage.c
 * semantics): names cut to 28 bytes, `write` returning true or throwing where
 * Espruino throws ("Unable to find or create file" when the area is full, "Too
 * much data for file size", "File already written with different data",
 * "Can't create zero length file"), `read` giving a string or undefined,
 * `writeJSON` writing Espruino's dialect (unquoted field names) that only
 * `readJSON` reads back. StorageFile keeps its state in visible `name`,
 * `chunk`, `offset` and `mode` fields and stores numbered 4064-byte chunks
 * ("name\x01", "name\x02", …), the end of data being the first 0xFF byte.
 */
'use strict';
const { EspError, nameField, strBytes, u8, FLAG_STORAGEFILE, HDR, NAME } = require('./flash');
const { argBytes, espJSON, liberalParse, tag } = require('./convert');

/**
 * @param {import('./flash').Flash} flash
 * @param {() => any} P   the prelude's handles (mkErr, Uint8Array, JSON…) of the running sandbox
 * @param {(b: ArrayBuffer) => void} [mapped]   told of each buffer `readArrayBuffer` returns: on the device a view
 *   of the flash, not RAM (memory.js prices it so)
 */
function storageNatives(flash, P, mapped) {
  const CHUNK = Math.min(flash.pageSize, 4096) - HDR;

  /** @param {() => any} f */
  const guard = (f) => {
    try {
      return f();
    } catch (e) {
      if (e instanceof EspError) throw P().mkErr(e.espType, e.message);
      throw e;
    }
  };

  /** @param {unknown} data @returns {Buffer} */
  const dataBytes = (data) => {
    if (typeof data === 'string') return strBytes(data);
    if (data === undefined || data === null) throw new EspError("Can't get pointer to data to write");
    if (Array.isArray(data) || ArrayBuffer.isView(data) || tag(data) === 'ArrayBuffer') return argBytes([data]);
    return strBytes(String(data));
  };

  /** @param {any} f */
  const sfName = (f) => {
    const field = nameField(f.name);
    let i = NAME - 1;
    while (i && field[i - 1] === 0) i--;
    return { field, i };
  };
  /** @param {{field: Buffer, i: number}} n @param {number} chunk */
  const chunkName = (n, chunk) => {
    const b = Buffer.from(u8(n.field));
    b[n.i] = chunk;
    return b;
  };
  /** Offset of the first 0xFF byte in a chunk (its data length). @param {Buffer} b */
  const dataEnd = (b) => {
    const k = b.indexOf(0xff);
    return k < 0 ? b.length : k;
  };

  return {
    /** @param {unknown} name @param {number} offset @param {number} length */
    stRead(name, offset, length) {
      const b = flash.read(nameField(name), offset, length);
      return b ? b.toString('latin1') : undefined;
    },
    /** @param {unknown} name */
    stReadU8(name) {
      const b = flash.read(nameField(name));
      if (!b) return undefined;
      const u = new (P().Uint8Array)(b.length);
      u.set(b);
      if (mapped) mapped(u.buffer);
      return u;
    },
    /** @param {unknown} name @param {boolean} noExceptions */
    stReadJSON(name, noExceptions) {
      const b = flash.read(nameField(name));
      if (!b) return undefined;
      let v;
      try {
        v = liberalParse(b.toString('latin1'));
      } catch (e) {
        if (noExceptions) return undefined;
        throw P().mkErr('SyntaxError', /** @type {Error} */ (e).message);
      }
      return v === undefined ? undefined : JSON.stringify(v);
    },
    /** @param {unknown} name @param {unknown} data @param {number} offset @param {number} size */
    stWrite(name, data, offset, size) {
      return guard(() => {
        if (data !== null && typeof data === 'object' && !Array.isArray(data) && !ArrayBuffer.isView(data) && tag(data) !== 'ArrayBuffer') {
          data = JSON.stringify(data);
          offset = 0;
          size = 0;
        }
        return flash.write(nameField(name), dataBytes(data), 0, offset, size);
      });
    },
    /** @param {unknown} name @param {unknown} data */
    stWriteJSON(name, data) {
      return guard(() => flash.write(nameField(name), strBytes(espJSON(data, false) || ''), 0, 0, 0));
    },
    /** @param {any} regex @param {boolean | undefined} sf */
    stList(regex, sf) {
      const names = flash.list(sf);
      return regex === undefined ? names : names.filter((n) => n.match(regex));
    },
    /** @param {any} regex */
    stHash(regex) {
      let h = 0;
      for (const hd of flash.headers()) {
        if (hd.trash || (hd.flags & FLAG_STORAGEFILE)) continue;
        const n = hd.name.toString('latin1').replace(/\0+$/, '');
        if (regex !== undefined && !n.match(regex)) continue;
        for (let i = 0; i < n.length; i++) h = (Math.imul(h, 31) + n.charCodeAt(i)) | 0;
        h = (Math.imul(h, 31) + hd.addr) | 0;
      }
      return h >>> 0;
    },
    /** @param {unknown} name */
    stErase(name) {
      flash.erase(nameField(name));
    },
    stEraseAll() {
      flash.eraseAll();
    },
    stFree() {
      return flash.free();
    },
    stStats() {
      return JSON.stringify(flash.stats());
    },
    stCompact() {
      flash.compact();
    },

    /** @param {any} f @param {string} name @param {string} mode */
    sfOpen(f, name, mode) {
      f.name = name.slice(0, NAME);
      const n = sfName(f);
      let chunk = 1;
      let offset = 0;
      let cur = flash.read(chunkName(n, 1));
      if (mode === 'w' && cur) {
        this.sfErase(f);
        cur = null;
      }
      if (mode === 'a') {
        while (cur && cur[cur.length - 1] !== 0xff && chunk < 255) {
          chunk++;
          cur = flash.read(chunkName(n, chunk));
        }
        if (cur) offset = dataEnd(cur);
      }
      f.chunk = chunk;
      f.offset = offset;
      f.mode = mode.charCodeAt(0);
    },
    /** @param {any} f @param {number} len negative: readLine */
    sfRead(f, len) {
      if (f.mode !== 114) throw P().mkErr('Error', "Can't read in this mode");
      const line = len < 0;
      const n = sfName(f);
      let chunk = f.chunk;
      let offset = f.offset;
      let cur = flash.read(chunkName(n, chunk));
      if (!cur) return undefined;
      let out = '';
      let want = line ? Infinity : len;
      while (want > 0) {
        if (offset >= cur.length) {
          offset = 0;
          if (chunk === 255) break;
          chunk++;
          f.chunk = chunk;
          f.offset = 0;
          const next = flash.read(chunkName(n, chunk));
          if (!next) return out || undefined;
          cur = next;
        }
        const end = dataEnd(cur);
        if (offset >= end) break;
        let take = Math.min(end - offset, want);
        if (line) {
          const nl = cur.indexOf(10, offset);
          if (nl >= 0 && nl < offset + take) {
            take = nl + 1 - offset;
            want = 0;
          }
        }
        out += cur.toString('latin1', offset, offset + take);
        offset += take;
        if (!line) want -= take;
        if (take === 0) break;
      }
      f.offset = offset;
      return out.length ? out : undefined;
    },
    /** @param {any} f @param {string} data */
    sfWrite(f, data) {
      if (f.mode !== 119 && f.mode !== 97) throw P().mkErr('Error', "Can't write in this mode");
      const d = strBytes(data);
      if (!d.length) return;
      const n = sfName(f);
      const name = chunkName(n, f.chunk);
      const cur = flash.read(name);
      guard(() => {
        if (!cur) {
          try {
            flash.write(name, d, FLAG_STORAGEFILE, 0, CHUNK);
            f.offset = d.length;
          } catch (e) {
            f.mode = 0;
            throw e;
          }
          return;
        }
        const remaining = cur.length - f.offset;
        if (d.length < remaining) {
          flash.write(name, d, FLAG_STORAGEFILE, f.offset, 0);
          f.offset += d.length;
          return;
        }
        flash.write(name, d.subarray(0, remaining), FLAG_STORAGEFILE, f.offset, 0);
        f.offset += remaining;
        if (f.chunk === 255) throw new EspError('File too big!');
        f.chunk++;
        try {
          flash.write(chunkName(n, f.chunk), d.subarray(remaining), FLAG_STORAGEFILE, 0, CHUNK);
          f.offset = d.length - remaining;
        } catch (e) {
          f.mode = 0;
          throw e;
        }
      });
    },
    /** @param {any} f */
    sfErase(f) {
      const n = sfName(f);
      for (let c = 1; c < 256 && flash.erase(chunkName(n, c)); c++);
      f.chunk = 1;
      f.offset = 0;
      f.mode = 0;
    },
    /** @param {any} f */
    sfLength(f) {
      const n = sfName(f);
      let len = 0;
      for (let c = 1; c < 256; c++) {
        const b = flash.read(chunkName(n, c));
        if (!b) break;
        const e = dataEnd(b);
        len += e;
        if (e < b.length) break;
      }
      return len;
    },
  };
}

module.exports = { storageNatives };
