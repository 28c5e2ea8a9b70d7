/**
 * App updates over HTTP (README, "Updates"), with the boot loader
 * (firmware/loader.ts) and its record (firmware/slots.ts):
 * - POST /api/update: the new bundle streamed into the free slot as it
 *   arrives (the file preallocated from Content-Length, then filled piece by
 *   piece from the connection's receive buffer: never whole in RAM), checked
 *   over the stored file (SHA-256 from X-Update-SHA256; an HMAC-SHA256 in
 *   X-Update-Signature when the board holds an update key; the bundle's
 *   identity line names this board), then put on trial and the board
 *   restarted once the answer has left. Nothing changes before every check has
 *   passed; a cut upload (client gone, reset, deadline) discards the slot.
 * - The app on trial confirms itself after the board's `trialMs` of healthy
 *   running; the loader sends back a trial that fails.
 * - GET /api/update: the state; POST /api/update/rollback: the previous app.
 */
import type { BootInfo, Hal, Storage } from "../hal/hal";
import type { Board } from "../boards/types";
import { Conn, F, HttpMsg, httpBodyStream, httpHeader } from "../src/index";
import { APPS, BootDoc, HEAD, LOAD, TRIES, freshDoc, identity } from "./slots";
import { Rec, RecIO, hex, recRead, recWrite } from "./record";
import { hmacOuter, hmacPads } from "./hmac";
import { VERSION } from "./version";

/** The update state of the running app. */
export interface Updates {
  hal: Hal;
  st: Storage;
  /** The loader's record and its newest document. */
  rec: Rec;
  doc: BootDoc;
  /** What the loader ran. */
  boot: BootInfo;
  /** The board the bundle must be built for (its identity line). */
  board: string;
  /** Clock reading at which the trial confirms itself (0: not on trial). */
  confirmAt: number;
  /** The upload under way (made per upload: no memory held between them). */
  up: Upload | null;
}

/** An upload: its connection and request, slot, sizes, expected digests. */
interface Upload {
  c: Conn;
  id: number;
  req: number;
  slot: number;
  len: number;
  got: number;
  sha: string;
  sig: string;
  opad: string;
}

/** Why a request cannot update: [status, message], from the checks that need no body. */
export type Refusal = [number, string];

/** What `updates` is asked to do. */
export const enum Op {
  /** `GET /api/update`: [200, JSON]. */
  Json,
  /** POST /api/update's head (data: the HttpMsg): null, streaming into the free slot; or a refusal. */
  Start,
  /** A piece of the body (data: its bytes): null, or a refusal (the upload is discarded). */
  Piece,
  /** The connection closed: an upload it carried is discarded. */
  Gone,
  /** The whole body arrived: [status, JSON]; 200 means the caller restarts the board once the answer has left. */
  End,
  /** `POST /api/update/rollback`: null (the caller restarts the board), or a refusal. */
  Rollback,
  /** The trial app has run healthy for its board's trial time (data: the log function). */
  Confirm,
}

/** The update state, or null where the app was not started by the boot loader or the platform lacks Storage or crypto (updates are off). */
export function updatesInit(hal: Hal, io: RecIO | null, board: Board, build: string, log: (line: string) => void): Updates | null {
  const boot = hal.sys && hal.sys.boot;
  if (!boot || !hal.storage || !io) return null;
  const rec: Rec = { io: io, files: LOAD, seq: 0 };
  const u: Updates = { hal: hal, st: hal.storage, rec: rec, doc: recRead(rec) || freshDoc(), boot: boot, board: build, confirmAt: 0, up: null };
  const other = 1 - boot.slot;
  // A slot that holds neither a kept app nor the trial (a cut upload, a failed trial) is reclaimed.
  if (!boot.trial && u.doc.prev !== other && u.doc.trial !== other && u.st.erase(APPS[other])) log("update: reclaimed " + APPS[other]);
  if (boot.trial) {
    u.confirmAt = hal.clock.now() + board.trialMs;
    hal.clock.after(board.trialMs, function () {
      updates(u, Op.Confirm, null, log);
    });
  }
  return u;
}

/**
 * Everything an update does after boot, in one function: its helpers are
 * made when it is called, not held in RAM between updates (RAM is what binds
 * on the smaller boards, and updates are rare). `key` is the board's update
 * key ("" for none), `maxBody` the largest body the board streams.
 */
export function updates(u: Updates, op: Op, c: Conn | null, data: any, key?: string, maxBody?: number): [number, string] | null {
  /** The trial app has run healthy for its time: it becomes the current app, the one before it is kept as the previous. */
  function confirm(u: Updates, log: (line: string) => void): void {
    const d = recRead(u.rec) || freshDoc();
    if (d.trial !== u.boot.slot) return;
    d.prev = d.current;
    d.current = d.trial;
    d.trial = -1;
    d.tries = 0;
    delete d.why;
    delete d.back;
    delete d.fell;
    u.doc = d;
    if (!store(u)) {
      log("update: the flash did not take the confirmation: trying again in 5 s");
      u.hal.clock.after(5000, function () {
        confirm(u, log);
      });
      return;
    }
    u.boot.trial = false;
    u.confirmAt = 0;
    log("update: " + VERSION + " confirmed itself");
  }

  /** The version in slot `i`, or null if it holds no app. */
  function version(u: Updates, i: number): string | null {
    const t = i >= 0 ? u.st.text(APPS[i], HEAD) : null;
    const id = t ? identity(t.substr(0, 80)) : null;
    return id ? id.version : null;
  }

  /** Bytes an app may have here: what the flash can hold for it and what one request may stream. */
  function room(u: Updates, maxBody: number): number {
    const old = u.st.read(APPS[1 - u.boot.slot]);
    const r = u.st.free() + (old ? old.length : 0) - HEAD - 64;
    return r < maxBody ? r : maxBody;
  }

  /** The upload being received, if any: on `c` if given. */
  function receiving(u: Updates, c?: Conn): Upload | null {
    const p = u.up;
    return p && (!c || p.c === c) && p.c.id === p.id && p.c.reqId === p.req ? p : null;
  }

  /** Forget the upload and its slot. */
  function discard(u: Updates, p: Upload, why: string): void {
    u.up = null;
    u.st.erase(APPS[p.slot]);
    u.hal.log("update: discarded " + APPS[p.slot] + ": " + why);
  }

  /** Write the record as `u.doc` now says; false if the flash did not take it (`u.doc` is then read back: what is in force). */
  function store(u: Updates): boolean {
    if (recWrite(u.rec, JSON.stringify(u.doc))) return true;
    u.doc = recRead(u.rec) || freshDoc();
    return false;
  }

  /** Compare two hex strings in constant time. */
  function same(a: string, b: string): boolean {
    let x = a.length ^ b.length;
    for (let i = 0; i < a.length && i < b.length; i++) x |= a.charCodeAt(i) ^ b.charCodeAt(i);
    return !x;
  }

  /** `GET /api/update`. */
  function updateJson(u: Updates, key: boolean, maxBody: number): string {
    const now = u.hal.clock.now();
    const prevSlot = u.boot.trial ? u.doc.current : u.doc.prev;
    const pv = prevSlot >= 0 && prevSlot !== u.boot.slot ? version(u, prevSlot) : null;
    return JSON.stringify({
      running: { version: VERSION, slot: u.boot.slot },
      state: u.boot.trial ? "trial" : "confirmed",
      confirmIn: u.boot.trial ? Math.max(0, Math.ceil((u.confirmAt - now) / 1000)) : null,
      previous: pv ? { version: pv, slot: prevSlot } : null,
      back: u.doc.back || null,
      receiving: u.up && receiving(u) ? { bytes: u.up.got, of: u.up.len } : null,
      signed: key,
      room: room(u, maxBody),
    });
  }

  /** Check an update request's head; on success reserve the slot and stream the body into it (HttpBody pieces go to updatePiece). */
  function updateStart(u: Updates, c: Conn, hm: HttpMsg, key: string, maxBody: number): Refusal | null {
    if (receiving(u)) return [409, "another update is being received: wait for it to finish"];
    if (u.boot.trial) return [409, "the running app is on trial: wait until it confirms itself (" + Math.ceil((u.confirmAt - u.hal.clock.now()) / 1000) + " s) or return to the previous app"];
    if (hm.fl & F.CHUNKED || httpHeader(hm, "content-length") === null) return [411, "send the app with a Content-Length: the board reserves its room in flash first"];
    const len = hm.cl;
    const sha = (httpHeader(hm, "x-update-sha256") || "").toLowerCase();
    if (sha.length !== 64 || !/^[0-9a-f]+$/.test(sha)) return [400, "send the SHA-256 of the file, 64 hex digits, in X-Update-SHA256"];
    const sig = (httpHeader(hm, "x-update-signature") || "").toLowerCase();
    if (key && (sig.length !== 64 || !/^[0-9a-f]+$/.test(sig))) return [403, "this board takes only signed updates: send the HMAC-SHA256 of the file under its update key, 64 hex digits, in X-Update-Signature"];
    if (len < 32) return [400, "a file of " + len + " bytes is not an app bundle"];
    const max = room(u, maxBody);
    if (len > max) return [413, "the app is " + len + " bytes; this board has room for " + max];
    const slot = 1 - u.boot.slot;
    const d = u.doc;
    // The slot is about to be overwritten: the record stops naming it before a byte of it changes.
    if (d.prev === slot || d.back) {
      d.prev = -1;
      delete d.back;
      if (!store(u)) return [507, "the flash did not take the boot record: nothing was changed"];
    }
    u.st.erase(APPS[slot]);
    const pads = key ? hmacPads(u.hal.crypto as any, key) : null;
    let head = pads ? pads[0] : "";
    while (head.length < HEAD) head += " ";
    const hb = u.hal.codec.bytes(head);
    if (!u.st.write(APPS[slot], hb, 0, HEAD + len)) return [507, "the flash has no room for " + (HEAD + len) + " bytes: nothing was changed"];
    u.up = { c: c, id: c.id, req: c.reqId, slot: slot, len: len, got: 0, sha: sha, sig: sig, opad: pads ? pads[1] : "" };
    httpBodyStream(c);
    u.hal.log("update: receiving " + len + " bytes into " + APPS[slot]);
    return null;
  }

  /** A piece of the upload: into the flash at its place. A refusal if the flash would not take it (the upload is discarded). */
  function updatePiece(u: Updates, c: Conn, data: Uint8Array): Refusal | null {
    const p = receiving(u, c);
    if (!p) return null;
    if (!u.st.write(APPS[p.slot], data, HEAD + p.got, 0)) {
      discard(u, p, "the flash did not take a piece");
      return [507, "the flash did not take the update at byte " + p.got + ": nothing was changed"];
    }
    p.got += data.length;
    return null;
  }

  /** The connection closed: an upload it carried is discarded. */
  function updateGone(u: Updates, c: Conn): void {
    const p = receiving(u, c);
    if (p) discard(u, p, "the upload was cut after " + p.got + " of " + p.len + " bytes");
  }

  /** The whole body has arrived: check the stored file; put it on trial. [status, JSON body]; 200 means the caller restarts the board once the answer has left. */
  function updateEnd(u: Updates, c: Conn): [number, string] {
    const p = receiving(u, c);
    if (!p) return [409, JSON.stringify({ error: "this upload was discarded" })];
    u.up = null;
    const name = APPS[p.slot];
    const crypto = u.hal.crypto as any;
    const app = u.st.text(name, HEAD);
    const actual = app === null ? "" : hex(crypto.sha256(app));
    let code = 400;
    let err: any;
    if (actual !== p.sha) err = { error: "the file's SHA-256 does not match X-Update-SHA256: it was damaged on the way, or the checksum is of another file", expected: p.sha, actual: actual };
    else if (p.opad && !same(hex(hmacOuter(crypto, p.opad, crypto.sha256(u.st.text(name, 0) as string))), p.sig)) {
      code = 403;
      err = { error: "the signature does not match: this file was not signed with this board's update key" };
    } else {
      const id = identity((app as string).substr(0, 80));
      if (!id) err = { error: "this file is not an espweb app: its first line is not the /*espweb <version> <board>*/ the build writes" };
      else if (id.board !== u.board) err = { error: "this app was built for " + id.board + "; this board runs the " + u.board + " build" };
      else {
        const d = u.doc;
        d.trial = p.slot;
        d.tries = TRIES;
        d.prev = -1;
        delete d.why;
        delete d.back;
        if (store(u)) {
          u.hal.log("update: " + id.version + " in " + name + " goes on trial after the restart");
          return [200, JSON.stringify({ ok: true, version: id.version, bytes: p.len, sha256: actual, restarting: true })];
        }
        code = 507;
        err = { error: "the flash did not take the boot record: nothing was changed" };
      }
    }
    discard(u, p, err.error);
    return [code, JSON.stringify(err)];
  }

  /** `POST /api/update/rollback`: back to the app kept before (or, during a trial, to the confirmed one). Null if done (the caller restarts), else why not. */
  function rollback(u: Updates): Refusal | null {
    if (receiving(u)) return [409, "an update is being received: wait for it to finish"];
    const d = u.doc;
    const to = u.boot.trial ? d.current : d.prev;
    const tv = to >= 0 && to !== u.boot.slot ? version(u, to) : null;
    if (!tv) return [409, "there is no previous app on this board"];
    d.back = { from: VERSION, to: tv, why: "asked through the API" };
    if (u.boot.trial) d.trial = -1;
    else {
      d.prev = d.current;
      d.current = to;
    }
    d.tries = 0;
    if (!store(u)) return [507, "the flash did not take the boot record: nothing was changed"];
    return null;
  }

  if (op === Op.Json) return [200, updateJson(u, !!key, maxBody as number)];
  if (op === Op.Start) return updateStart(u, c as Conn, data, key as string, maxBody as number);
  if (op === Op.Piece) return updatePiece(u, c as Conn, data);
  if (op === Op.Gone) return updateGone(u, c as Conn), null;
  if (op === Op.End) return updateEnd(u, c as Conn);
  if (op === Op.Rollback) return rollback(u);
  return confirm(u, data), null;
}
