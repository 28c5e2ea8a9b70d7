// @ts-check
/**
 * The Storage area as bytes, laid out the way Espruino 2v29 lays out its flash
 * file system (src/jsflash.c, read, not copied): a log of files, each a 32-byte
 * header (uint32 little-endian size with flags in the top byte, 28-byte name)
 * followed by its data, the next header at the following 4-byte boundary.
 * Erasing a file zeroes the first 4 bytes of its name (it becomes trash); trash
 * is reclaimed only by compaction, which runs when a new file does not fit at
 * the end but would fit with the trash removed. `getFree()` is the space after
 * the last file, trash excluded, exactly as on the device.
 *
 * The image lives in memory and every change is written through to one file
 * (`storage.bin` in the data folder), so it survives restarts.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const HDR = 32; // sizeof(JsfFileHeader)
const NAME = 28; // sizeof(JsfFileName)
const ALIGN = 4; // JSF_ALIGNMENT on ESP32
const FLAG_STORAGEFILE = 64;
const FLAG_COMPRESSED = 128;

/** An exception Espruino itself would throw (jsExceptionHere): the sandbox rethrows it as its own error type. */
class EspError extends Error {
  /** @param {string} message @param {string} [type] */
  constructor(message, type) {
    super(message);
    this.espType = type || 'Error';
  }
}

/**
 * A Buffer typed as the Uint8Array Node's APIs take (@types/node 20.9 Buffers do not match TypeScript 5.9's typed arrays).
 * @param {Buffer} b @returns {Uint8Array}
 */
const u8 = (b) => /** @type {any} */ (b);

/** @param {number} a */
function align(a) {
  return (a + ALIGN - 1) & ~(ALIGN - 1);
}

/**
 * A JS string as the bytes Espruino stores for it: one byte per char when every
 * char is below 256 (Espruino's plain strings), UTF-8 otherwise (its UTF-8 strings).
 * @param {string} s
 */
function strBytes(s) {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\xff]/.test(s) ? Buffer.from(s, 'utf8') : Buffer.from(s, 'latin1');
}

/**
 * A file name as the 28-byte field of the header: longer names are cut silently.
 * @param {unknown} name
 */
function nameField(name) {
  const b = Buffer.alloc(NAME, 0);
  strBytes(String(name)).copy(u8(b), 0, 0, NAME);
  return b;
}

/** @param {Buffer} field */
function nameString(field) {
  let n = field.indexOf(0);
  if (n < 0) n = NAME;
  return field.toString('latin1', 0, n);
}

/**
 * @typedef {object} Hdr
 * @property {number} addr   address of the header
 * @property {number} size   file size in bytes
 * @property {number} flags  top byte of the size word
 * @property {boolean} trash erased (name zeroed)
 * @property {Buffer} name   28-byte name field
 */

class Flash {
  /**
   * @param {{ file?: string, size: number, pageSize: number }} o
   *   `file` absent: memory only (nothing persists).
   */
  constructor(o) {
    this.size = o.size;
    this.pageSize = o.pageSize;
    this.file = o.file || null;
    /** @type {number | null} */
    this.fd = null;
    this.img = Buffer.alloc(this.size, 0xff);
    /** Bytes programmed since start (erasures included): how long a write is, for power-cut tests. */
    this.programmed = 0;
    /** An armed power cut: bytes still allowed, the flash's real contents, whether it fired. @type {{ left: number, shadow: Buffer, fired: boolean, done: () => void } | null} */
    this.cut = null;
    if (this.file) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      if (fs.existsSync(this.file)) {
        const cur = fs.readFileSync(this.file);
        if (cur.length !== this.size)
          throw new Error(this.file + ' holds a ' + cur.length + '-byte Storage image, the board has ' + this.size + ' bytes: use another data folder or delete it');
        cur.copy(u8(this.img));
        this.fd = fs.openSync(this.file, 'r+');
      } else {
        this.fd = fs.openSync(this.file, 'w+');
        fs.writeSync(this.fd, u8(this.img), 0, this.size, 0);
      }
    }
  }

  /** Release the backing file. */
  close() {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  /**
   * Program `img[from..to)` into the flash (and its backing file). Every change to the image goes through here,
   * so this is where a power cut (`cutAfter`) takes effect.
   * @param {number} from @param {number} to
   */
  persist(from, to) {
    if (to <= from) return;
    this.programmed += to - from;
    const c = this.cut;
    if (c) {
      // Whole 32-bit words reach the flash before the power fails (NOR flash programs by word); the rest of
      // this write, and every later one, never happens: the image goes back to what the flash holds.
      const n = c.fired ? 0 : Math.min(to - from, c.left - (c.left % 4));
      c.left -= n;
      if (n) this.img.copy(u8(c.shadow), from, from, from + n);
      if (n < to - from) {
        c.shadow.copy(u8(this.img), from + n, from + n, to);
        if (!c.fired) {
          c.fired = true;
          c.done();
        }
      }
      to = from + n;
      if (to <= from) return;
    }
    if (this.fd !== null) fs.writeSync(this.fd, u8(this.img), from, to - from, from);
  }

  /**
   * Cut the power once `bytes` more bytes have been programmed (rounded down to whole words): that write is
   * torn, later ones never happen. `done` is called when it fires; the host then reboots (`uncut` first).
   * @param {number} bytes @param {() => void} done
   */
  cutAfter(bytes, done) {
    this.cut = { left: bytes, shadow: Buffer.from(u8(this.img)), fired: false, done };
  }

  /** The power is back: writes reach the flash again. */
  uncut() {
    this.cut = null;
  }

  /** @param {number} addr @returns {Hdr | null} */
  header(addr) {
    if (addr + HDR > this.size) return null;
    const word = this.img.readUInt32LE(addr);
    if (word === 0xffffffff || word === 0) return null;
    const size = word & 0xffffff;
    if (addr + HDR + size > this.size) return null;
    const name = this.img.subarray(addr + 4, addr + 4 + NAME);
    return { addr, size, flags: word >>> 24, trash: name.readUInt32LE(0) === 0, name };
  }

  /** Every header in address order, trash included (a blank slot ends a page's run; the next page may start another). */
  headers() {
    /** @type {Hdr[]} */
    const out = [];
    let addr = 0;
    let h = this.header(0);
    while (h) {
      out.push(h);
      addr = align(h.addr + HDR + h.size);
      h = this.header(addr);
      if (!h) {
        // Files used to be pushed to page boundaries: a blank slot may be followed by a file on the next page.
        const next = (Math.floor(addr / this.pageSize) + 1) * this.pageSize;
        if (next > addr && next < this.size) h = this.header(next);
      }
    }
    return out;
  }

  /** @param {Hdr} h */
  static real(h) {
    return !h.trash && (h.flags === 0 || h.flags === FLAG_STORAGEFILE || h.flags === FLAG_COMPRESSED);
  }

  /** @param {Buffer} name @returns {Hdr | null} */
  find(name) {
    const hs = this.headers();
    for (let i = 0; i < hs.length; i++) if (!hs[i].trash && hs[i].name.equals(u8(name))) return hs[i];
    return null;
  }

  /** The address just past the last file, trash included. */
  end() {
    const hs = this.headers();
    if (!hs.length) return 0;
    const l = hs[hs.length - 1];
    return l.addr + HDR + align(l.size);
  }

  /** `{ totalBytes, freeBytes, fileBytes, fileCount, trashBytes, trashCount }` as `Storage.getStats()`. */
  stats() {
    let fileBytes = 0, fileCount = 0, trashBytes = 0, trashCount = 0;
    for (const h of this.headers()) {
      const b = align(h.size) + HDR;
      if (h.trash) { trashBytes += b; trashCount++; } else { fileBytes += b; fileCount++; }
    }
    return { totalBytes: this.size, freeBytes: this.size - this.end(), fileBytes, fileCount, trashBytes, trashCount };
  }

  /** Free bytes at the end of the log (`Storage.getFree()`): trash is not counted until compaction. */
  free() {
    return this.size - this.end();
  }

  /** Remove trash, moving live files down so they are contiguous again (`Storage.compact()`). */
  compact() {
    const live = this.headers().filter(Flash.real).map((h) => Buffer.from(u8(this.img.subarray(h.addr, h.addr + HDR + h.size))));
    const old = this.end();
    this.img.fill(0xff, 0, old);
    let addr = 0;
    for (const f of live) {
      f.copy(u8(this.img), addr);
      addr = align(addr + f.length);
    }
    this.persist(0, old);
  }

  /** Erase everything (`Storage.eraseAll()`). */
  eraseAll() {
    const old = this.end();
    this.img.fill(0xff);
    this.persist(0, Math.max(old, 0));
  }

  /** @param {Buffer} name @returns {boolean} whether a file was erased */
  erase(name) {
    const h = this.find(name);
    if (!h) return false;
    this.img.writeUInt32LE(0, h.addr + 4);
    this.persist(h.addr + 4, h.addr + 8);
    return true;
  }

  /**
   * Make room for a file of `size` bytes at the end of the log, compacting first if only trash stands in the way.
   * @param {Buffer} name @param {number} size @param {number} flags
   * @returns {Hdr | null} null: the Storage area is full
   */
  create(name, size, flags) {
    const need = align(size) + HDR;
    let at = this.end();
    if (this.size - at < need) {
      let trash = 0;
      for (const h of this.headers()) if (h.trash) trash += h.size;
      if (!(need < this.size - at + trash)) return null;
      this.compact();
      at = this.end();
      if (this.size - at < need) return null;
    }
    this.img.writeUInt32LE(((size & 0xffffff) | (flags << 24)) >>> 0, at);
    name.copy(u8(this.img), at + 4);
    this.persist(at, at + HDR);
    return this.header(at);
  }

  /** @param {number} addr @param {number} len */
  erased(addr, len) {
    for (let i = addr; i < addr + len; i++) if (this.img[i] !== 0xff) return false;
    return true;
  }

  /**
   * `Storage.write` semantics: offset 0 (re)creates the file unless the same-sized file is still blank there
   * (or already holds exactly this data); a later offset writes into the existing file, only over erased bytes.
   * Throws EspError where Espruino throws.
   * @param {Buffer} name @param {Buffer} data @param {number} flags @param {number} offset @param {number} size
   * @returns {boolean}
   */
  write(name, data, flags, offset, size) {
    if (offset < 0 || size < 0) return false;
    if (!size) size = data.length;
    if (!size) throw new EspError("Can't create zero length file");
    let h = this.find(name);
    if ((!h && offset === 0) || (h && offset === 0 && (flags !== h.flags || size !== h.size || !this.erased(h.addr + HDR, size)))) {
      if (h && offset === 0 && size === h.size && flags === h.flags && data.length === size &&
          this.img.subarray(h.addr + HDR, h.addr + HDR + size).equals(u8(data))) return true;
      if (h) this.erase(name);
      h = this.create(name, size, flags);
    }
    if (!h) throw new EspError('Unable to find or create file');
    if (offset + data.length > h.size) throw new EspError('Too much data for file size');
    const at = h.addr + HDR + offset;
    if (!this.erased(at, data.length)) throw new EspError('File already written with different data');
    data.copy(u8(this.img), at);
    this.persist(at, at + data.length);
    return true;
  }

  /**
   * `Storage.read` semantics: null if absent; offset/length clipped to the file.
   * @param {Buffer} name @param {number} [offset] @param {number} [length]
   * @returns {Buffer | null}
   */
  read(name, offset, length) {
    const h = this.find(name);
    if (!h) return null;
    let o = offset && offset > 0 ? offset : 0;
    let l = length && length > 0 ? length : h.size;
    if (o > h.size) o = h.size;
    if (o + l > h.size) l = h.size - o;
    if (l <= 0) return Buffer.alloc(0);
    return Buffer.from(u8(this.img.subarray(h.addr + HDR + o, h.addr + HDR + o + l)));
  }

  /** Names of live files in flash order; `sf` true/false keeps only StorageFile chunks / only plain files. @param {boolean} [sf] */
  list(sf) {
    const out = [];
    for (const h of this.headers()) {
      if (!Flash.real(h)) continue;
      const isSf = (h.flags & FLAG_STORAGEFILE) !== 0;
      if (sf === true && !isSf) continue;
      if (sf === false && isSf) continue;
      out.push(nameString(h.name));
    }
    return out;
  }
}

module.exports = { Flash, EspError, nameField, nameString, strBytes, u8, FLAG_STORAGEFILE, HDR, NAME };
