/**
 * The web UI's files: built at bundle time (tools/ui.mjs), gzip-compressed,
 * written to Storage next to the app, and listed in a manifest compiled into
 * the bundle (`__UI__`). Served straight from flash: on the board
 * `Storage.readArrayBuffer` is a view of the flash, and the runtime streams a
 * body larger than the send buffer piece by piece, so a file is never whole
 * in RAM. Strong ETags (a hash of the bytes) make a revalidation a 304.
 */
import type { Storage } from "../hal/hal";
import { Conn, HttpMsg, httpHeader, httpReply } from "../src/index";

/** One file of the UI, as tools/ui.mjs describes it. */
export interface UiFile {
  /** URL path ("/", "/app.js"). */
  path: string;
  /** Storage file holding the gzipped bytes. */
  file: string;
  /** Content-Type. */
  type: string;
  /** Strong ETag, quoted. */
  etag: string;
  /** Gzipped bytes. */
  size: number;
  /** Bytes once decompressed. */
  raw: number;
}

/** Does `If-None-Match` name `etag` (or "*")? RFC 9110 §13.1.2 (weak comparison). */
function matches(inm: string, etag: string): boolean {
  const tags = inm.split(",");
  for (let i = 0; i < tags.length; i++) {
    let t = tags[i].trim();
    if (t === "*") return true;
    if (t.substr(0, 2) === "W/") t = t.substr(2);
    if (t === etag) return true;
  }
  return false;
}

/** The UI file for `path` ("/index.html" is "/"), or null. */
export function uiFile(files: UiFile[], path: string): UiFile | null {
  if (path === "/index.html") path = "/";
  for (let i = 0; i < files.length; i++) if (files[i].path === path) return files[i];
  return null;
}

/** Answer a GET/HEAD for UI file `f`: 304 when the client has it, else the gzipped bytes from flash; 503 if the file is missing from Storage. */
export function serveFile(c: Conn, hm: HttpMsg, st: Storage | undefined, f: UiFile): void {
  // no-cache: the names are not versioned, so a browser revalidates (a 304) instead of keeping a stale copy.
  // The page may not be framed by another site (its buttons reboot and erase the board), nor its files sniffed.
  const cache = "ETag: " + f.etag + "\r\nCache-Control: no-cache\r\nVary: Accept-Encoding\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n";
  const inm = httpHeader(hm, "if-none-match");
  if (inm !== null && matches(inm, f.etag)) {
    httpReply(c, 304, cache, "");
    return;
  }
  // Stored gzipped only: a client that cannot take gzip is told so (every browser can; curl needs --compressed).
  if (!/gzip/i.test(httpHeader(hm, "accept-encoding") || "")) {
    httpReply(c, 406, "Content-Type: text/plain\r\nVary: Accept-Encoding\r\n", "this file is stored gzip-compressed: ask with Accept-Encoding: gzip (curl --compressed)\n");
    return;
  }
  const data = st ? st.read(f.file) : null;
  if (!data || data.length !== f.size) {
    httpReply(c, 503, "Content-Type: text/plain\r\nRetry-After: 10\r\n", "the web UI is not in this board's flash (" + f.file + "): flash it again with make flash\n");
    return;
  }
  httpReply(c, 200, "Content-Type: " + f.type + "\r\nContent-Encoding: gzip\r\n" + cache, data);
}
