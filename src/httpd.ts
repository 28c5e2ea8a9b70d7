/**
 * The HTTP/1.1 server: request framing inside the slot's fixed receive
 * buffer, responses through its fixed send buffer, and the response lifecycle
 * the runtime owns (DESIGN.md, "Guarantees"):
 * - a request is answered only when its whole response is queued;
 * - while a response is pending, later requests wait unparsed in the buffer;
 * - a closing request's connection flushes, then closes; bytes after it are ignored;
 * - a pending response may complete later through a Resp handle, which goes
 *   stale (writes return false) when its request is done or its connection gone;
 * - every pending response has a deadline (503 if nothing was sent, else close);
 * - errors are answered with a status and a close, never silence.
 */
import { Ev, Handler } from "./event";
import { ioAdd, ioDel, ioFree } from "./iobuf";
import { Conn, F, Mgr, SLOW, connDrain, emit, listen, sched } from "./net";
import { EMPTY, FIELD, HttpMsg, chunkSize, connTokens, headEnd, headLines, parseHead, reason } from "./http";

const RESP_BITS = F.RESP | F.STARTED | F.RCHUNK | F.RLAST | F.RNOLEN | F.DELIV;
const REQ_BITS = F.HDRS | F.CHUNKED | F.STREAM | F.CLOSE | F.HEAD | F.V10 | F.CONT;

/** Listen for HTTP on `port`; `fn` gets HttpHdrs/HttpMsg/HttpBody (and every other event). A client that finds every slot busy gets 503 with Retry-After. False if the port cannot be bound. */
export function httpListen(m: Mgr, port: number, fn: Handler): boolean {
  const body = "all slots busy\n";
  const busy = m.hal.codec.bytes(
    "HTTP/1.1 503 " + reason(503) + "\r\n" + textHdrs(m, 503) + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n" + body,
  );
  // The HTTP handler acts on Error, Open and Poll alone.
  return listen(m, port, fn, httpProto as Handler, F.HTTP, busy, httpFast, (1 << Ev.Error) | (1 << Ev.Open) | (1 << Ev.Poll));
}

/** The protocol handler: parses on Poll (after reads), enforces deadlines. */
function httpProto(c: Conn, ev: Ev, now: any): void {
  if (ev === Ev.Poll) {
    // While serve() runs, what its handlers queue and finish is seen by its own loop and this pass's flush.
    c.mgr.cur = c;
    serve(c, now);
    c.mgr.cur = null;
    if (c.id) deadlines(c, now);
  } else if (ev === Ev.Open && !c.hm) c.hm = new HttpMsg(); // once per slot, reused
  else if (ev === Ev.Error) {
    if (now === SLOW) reject(c, 408, SLOW); // evicted for a newcomer (net.ts takeSlot)
    else if (c.s && (c.f & (F.RESP | F.STARTED)) === F.RESP) reject(c, 500, "handler failed");
  }
}

/** The response to the current request is complete: go on with the next one, or close. */
function respDone(c: Conn): void {
  c.f &= ~RESP_BITS;
  c.respDeadline = 0;
  if (c.f & F.CLOSE) connDrain(c);
  sched(c.mgr, c);
}


/** Put bytes (or a string of char codes 0-255) on the send side: what fits into tx, the rest referenced as the pending source (never copied whole). */
function queue(c: Conn, d: Uint8Array | string): boolean {
  if (c.src) return false;
  const tx = c.tx;
  if (!tx.n) c.sendSince = c.mgr.hal.clock.now();
  const codec = c.mgr.hal.codec;
  if (typeof d === "string" && d.length <= ioFree(tx)) {
    // The usual response: written into tx as it is, no bytes made for it.
    codec.put(tx.b, tx.n, d);
    tx.n += d.length;
  } else {
    const b = typeof d === "string" ? codec.bytes(d) : d;
    const k = ioAdd(tx, b, 0, b.length);
    if (k < b.length) {
      c.src = b;
      c.srcOff = k;
    }
  }
  sched(c.mgr, c);
  return true;
}

/** Queue the status line and headers (and `body`, if given, whole); false if no response is pending or one was started. */
function start(c: Conn, code: number, hdrs: string, len: number, body: Uint8Array | string | null): boolean {
  if (!c.id || (c.f & (F.RESP | F.STARTED | F.DRAINING | F.CLOSING)) !== F.RESP) return false;
  // The handler's own Connection field, if any: handlers mostly pass the same headers again, not searched again.
  const m = c.mgr;
  if (hdrs !== m.hdrsSeen) {
    m.hdrsSeen = hdrs;
    m.hdrsConn = connTokens(hdrs);
  }
  const own = m.hdrsConn;
  if (own && own.indexOf("close") >= 0) c.f |= F.CLOSE;
  m.codes[(code / 100) | 0]++;
  let h = (code === 200 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 " + code + " " + reason(code) + "\r\n") + hdrs;
  // RFC 9110 §6.4.1: 1xx, 204 and 304 responses have no content.
  const none = code < 200 || code === 204 || code === 304;
  if (none) len = 0;
  else if (len >= 0) h += "Content-Length: " + len + "\r\n";
  else if (c.f & F.V10) c.f |= F.RNOLEN | F.CLOSE; // RFC 9112 §6.3: no chunked for HTTP/1.0: the close ends the body
  else {
    h += "Transfer-Encoding: chunked\r\n";
    c.f |= F.RCHUNK;
  }
  if (own) {
    /* the handler wrote its own Connection field */
  } else if (c.f & F.CLOSE) h += "Connection: close\r\n";
  else if (c.f & F.V10) h += "Connection: keep-alive\r\n";
  h += "\r\n";
  const send = body !== null && len > 0 && !(c.f & F.HEAD);
  const done = body !== null || !len; // every byte of the response is given now
  c.f |= F.STARTED | (done ? F.RLAST : 0);
  c.respLeft = done ? 0 : len;
  if (!send || typeof body === "string") {
    // The usual case first, and returning: the interpreter reads through the text of any block it skips.
    const all = send ? h + body : h; // a string body goes with the head: one piece
    // A whole response on an empty send side goes to the socket as the string it is, when the socket takes it
    // whole now (no bytes made, none converted back); otherwise through tx as usual.
    const s = c.s;
    if (!done || c.tx.n || c.src || !(c.f & F.WRITABLE) || !s || !s.send || !s.send(all)) queue(c, all);
    if (done && !c.src) respDone(c);
    return true;
  }
  if (ioFree(c.tx) >= h.length) {
    queue(c, h);
    queue(c, body as Uint8Array);
  } else {
    // Rare: the previous response's tail still fills tx. One joined copy keeps a single pending source.
    const all = new Uint8Array(h.length + (body as Uint8Array).length);
    c.mgr.hal.codec.put(all, 0, h);
    all.set(body as Uint8Array, h.length);
    queue(c, all);
  }
  if (done && !c.src) respDone(c);
  return true;
}

/**
 * Answer the pending request with a whole response: status, `hdrs` (each
 * "Name: value\r\n"), Content-Length and `body` (a string of char codes
 * 0-255, or bytes — not copied if larger than the send buffer: keep them
 * unchanged until sent). False if this connection has no pending response.
 */
export function httpReply(c: Conn, code: number, hdrs: string, body: string | Uint8Array): boolean {
  return start(c, code, hdrs, body.length, body);
}

/** Start a response whose body follows through httpWrite: `len` >= 0 is its Content-Length, -1 means chunked (close-delimited for HTTP/1.0). */
export function httpStart(c: Conn, code: number, hdrs: string, len: number): boolean {
  return start(c, code, hdrs, len, null);
}

/** Can httpWrite take data now? (false while a previous piece is still being queued: wait for the Write event). */
export function httpCanWrite(c: Conn): boolean {
  return !!c.id && (c.f & (F.RESP | F.STARTED | F.RLAST)) === (F.RESP | F.STARTED) && !c.src && ioFree(c.tx) >= 12;
}

const CRLF = [13, 10];

/** Add body bytes to a started response (as a chunk if chunked); the response completes when a Content-Length is reached. False if it cannot take them now (see httpCanWrite) or they exceed the Content-Length. */
export function httpWrite(c: Conn, data: string | Uint8Array): boolean {
  if (!httpCanWrite(c)) return false;
  const b = typeof data === "string" ? c.mgr.hal.codec.bytes(data) : data;
  if (!b.length) return true;
  if (c.f & F.RCHUNK) {
    if (c.f & F.HEAD) return true;
    queue(c, b.length.toString(16) + "\r\n");
    const tx = c.tx;
    if (ioFree(tx) >= b.length + 2) {
      ioAdd(tx, b, 0, b.length);
      tx.b.set(CRLF, tx.n);
      tx.n += 2;
    } else {
      queue(c, b);
      c.f |= F.SRCCRLF;
    }
    return true;
  }
  if (!(c.f & F.RNOLEN)) {
    if (b.length > c.respLeft) return false;
    c.respLeft -= b.length;
    if (!c.respLeft) c.f |= F.RLAST;
  }
  if (!(c.f & F.HEAD)) queue(c, b);
  if ((c.f & (F.RESP | F.RLAST)) === (F.RESP | F.RLAST) && !c.src) respDone(c);
  return true;
}

/** Finish a chunked or close-delimited response (the final chunk); false if one cannot be finished now (a piece still queuing, or a Content-Length not reached). */
export function httpEnd(c: Conn): boolean {
  if (!c.id || (c.f & (F.RESP | F.STARTED | F.RLAST)) !== (F.RESP | F.STARTED) || c.src) return false;
  if (c.f & F.RCHUNK) {
    if (!(c.f & F.HEAD)) queue(c, "0\r\n\r\n");
  } else if (!(c.f & F.RNOLEN)) return false;
  c.f |= F.RLAST;
  if ((c.f & (F.RESP | F.RLAST)) === (F.RESP | F.RLAST) && !c.src) respDone(c);
  return true;
}

/** During HttpHdrs: deliver this request's body as HttpBody pieces (up to lim.maxBody) instead of buffering it whole. */
export function httpBodyStream(c: Conn): void {
  if (c.f & F.HDRS) c.f |= F.STREAM;
}

/** A handle to the pending response of connection `c`'s current request, to complete it later from any callback. */
export class Resp {
  /** The connection id and request id it was issued for. */
  id: number;
  reqId: number;
  constructor(public c: Conn) {
    this.id = c.id;
    this.reqId = c.reqId;
  }
  /** The connection, while this response is still pending on it; null once it is done or the connection is gone (the slot may belong to another connection by then). Stream a deferred response with httpStart/httpWrite/httpEnd on it. */
  conn(): Conn | null {
    const c = this.c;
    return c.id === this.id && c.reqId === this.reqId && c.f & F.RESP ? c : null;
  }
  /** httpReply through the handle; false if stale. */
  reply(code: number, hdrs: string, body: string | Uint8Array): boolean {
    const c = this.conn();
    return !!c && httpReply(c, code, hdrs, body);
  }
}

/** A handle to `c`'s pending response (call from the HttpHdrs or HttpMsg handler); null if none is pending. */
export function httpResp(c: Conn): Resp | null {
  return c.id && c.f & F.RESP ? new Resp(c) : null;
}

/** The headers of the runtime's own answers: plain text, and when to retry a 503. */
function textHdrs(m: Mgr, code: number): string {
  return "Content-Type: text/plain\r\n" + (code === 503 ? "Retry-After: " + m.lim.retryAfter + "\r\n" : "");
}

/** The runtime answers for itself: an error or a deadline. `close` ends the connection after it. */
function runtimeReply(c: Conn, code: number, why: string, close: boolean): void {
  if (c.f & F.STARTED) {
    // The response is under way: its framing cannot be finished for it, so the connection ends after what is queued.
    connDrain(c);
    return;
  }
  c.f |= F.RESP | (close ? F.CLOSE : 0);
  c.f &= ~(F.RCHUNK | F.RNOLEN | F.HEAD);
  httpReply(c, code, textHdrs(c.mgr, code), reason(code) + ": " + why + "\n");
}

/** Reject the current request: status, close; input after it is ignored. */
function reject(c: Conn, code: number, why: string): void {
  c.mgr.hal.log("http " + code + " conn " + c.id + ": " + why);
  runtimeReply(c, code, why, true);
  connDrain(c);
}

const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

/**
 * The fast path: a string the socket delivered to an idle connection (nothing unread, pending or queued) that is
 * exactly one whole head with no body is parsed where it arrived and delivered at once, from the socket's event: no
 * copy into rx, no poll pass; a whole response then leaves as one string (start()). Anything else returns false and
 * is queued for the ordinary path, under the same limits (a head the parse refused is parsed there again and
 * refused the same way); a response not complete when the handlers return is left to the ordinary machinery.
 */
function httpFast(c: Conn, s: string): boolean {
  const n = s.length;
  const m = c.mgr;
  // 2v29's indexOf takes a tail that begins the needle for a match: the last char is checked as well.
  if (c.f & (F.READABLE | F.WORK | F.INREQ | F.ENDING | F.EOF) || c.rx.n || c.tx.n || c.src || n > c.rx.b.length || s.indexOf("\r\n\r\n") !== n - 4 || s.charCodeAt(n - 1) !== 10 || (n > m.lim.maxLine && s.indexOf("\n") > m.lim.maxLine + 1))
    return false;
  const hm = c.hm as HttpMsg;
  if (parseHead(hm, s) || hm.cl > 0 || hm.fl & (F.CHUNKED | F.CONT)) return false;
  const now = m.hal.clock.now();
  c.lastIo = now;
  // (headLen and bodyGot are 0 between requests; bodyLen and chunkState are set by the next parse that reads a body.)
  c.f = (c.f & ~REQ_BITS) | F.HDRS | F.RESP | hm.fl;
  c.reqId = m.seq++;
  c.respDeadline = now + m.lim.respMs;
  m.cur = c;
  emit(c, Ev.HttpHdrs, hm);
  if (c.id && !(c.f & F.ENDING)) {
    c.f &= ~F.HDRS;
    if (c.f & F.STARTED || !(c.f & F.RESP)) {
      // Answered at the head, as serve() does.
      c.f |= F.CLOSE;
      if (!(c.f & F.RESP)) connDrain(c);
    } else {
      hm.body = EMPTY;
      c.f |= F.DELIV;
      emit(c, Ev.HttpMsg, hm);
    }
  }
  m.cur = null;
  if (c.id) {
    // Done and idle: nothing for a pass to do (the idle deadline set at the last visit only comes early).
    if (c.f & (F.INREQ | F.ENDING) || c.tx.n || c.src) sched(m, c);
    else c.f &= ~F.WORK;
  }
  return true;
}

/** A poll pass's visit to the connection: its requests parsed and delivered (requests()), or, with nothing unparsed, a finished response closed off. */
function serve(c: Conn, now: number): void {
  // The usual visit has nothing unparsed (a response going out, an idle keep-alive connection): it does not read
  // through the text of requests() (the interpreter reads every line of a function it runs, those after a return too).
  if (c.rx.n || c.f & (F.HDRS | F.ENDING)) requests(c, now);
  if (!c.id || c.rx.n || c.f & (F.HDRS | F.ENDING)) return;
  // Everything received is answered or being answered: a finished response closed off, the request state reset.
  if ((c.f & (F.RESP | F.RLAST)) === (F.RESP | F.RLAST) && !c.src) respDone(c);
  if (!(c.f & F.RESP)) {
    c.reqStart = -1;
    c.headScan = 0;
    if (c.f & F.EOF) connDrain(c); // the peer is done and everything is answered
  }
  if (c.id && c.f & F.READABLE) sched(c.mgr);
}

/** Parse and deliver as many requests as the buffer and the lifecycle allow (serve() closes off once it is empty). */
function requests(c: Conn, now: number): void {
  const rx = c.rx;
  const hm = c.hm as HttpMsg;
  const lim = c.mgr.lim;
  while (c.id && !(c.f & F.ENDING)) {
    if ((c.f & (F.RESP | F.RLAST)) === (F.RESP | F.RLAST) && !c.src) respDone(c);
    if (!(c.f & F.HDRS)) {
      if (c.f & F.RESP) break; // guarantee 2: the next request waits, unparsed
      // RFC 9112 §2.2: empty lines before a request line are ignored.
      let k = 0;
      const b = rx.b;
      while (k < rx.n && (b[k] === 10 || (b[k] === 13 && k + 1 < rx.n && b[k + 1] === 10))) k += b[k] === 13 ? 2 : 1;
      if (k) ioDel(rx, 0, k);
      if (!rx.n) break;
      if (c.reqStart < 0) c.reqStart = now;
      const end = headEnd(b, rx.n, c.headScan);
      // RFC 9112 §3: the request line alone may not exceed maxLine (CR excluded).
      let lf = b.indexOf(10);
      if (lf < 0 || lf > rx.n) lf = rx.n;
      const line = lf - (b[lf - 1] === 13 ? 1 : 0);
      if (line > lim.maxLine) return reject(c, 414, "request line over " + lim.maxLine + " bytes");
      if (end < 0) {
        // Lines completed since the last pass are checked now: a bad one is refused at once, not when the
        // head ends or its deadline fires (RFC 9112 §3: a server responds 400 to an invalid request line).
        const done = -1 - end;
        if (done > c.headScan) {
          const st = headLines(hm, c.mgr.hal.codec.str(b, c.headScan, done), !c.headScan);
          if (st) return reject(c, st, hm.err);
        }
        c.headScan = done;
        if (rx.n >= rx.b.length) return reject(c, 431, "headers over " + rx.b.length + " bytes");
        // Input the HAL cut (a peer that outran the board) is not the client's error, as a half-close here is: every
        // response due is queued, the connection closes after them, the client retries the rest (RFC 9112 §9.3.2).
        if (c.f & F.EOF) return c.f & F.CUT ? connDrain(c) : reject(c, 400, "truncated request");
        break;
      }
      c.headScan = 0;
      const st = parseHead(hm, c.mgr.hal.codec.str(b, 0, end));
      if (st) return reject(c, st, hm.err);
      c.headLen = end;
      c.f = (c.f & ~REQ_BITS) | F.HDRS | F.RESP | hm.fl;
      c.reqId = c.mgr.seq++;
      c.bodyLen = hm.cl > 0 ? hm.cl : 0;
      c.bodyGot = c.chunkState = 0;
      c.respDeadline = now + lim.respMs;
      emit(c, Ev.HttpHdrs, hm);
      if (!c.id || c.f & F.ENDING) break;
      if (c.f & F.STREAM) {
        if (!(c.f & F.CHUNKED) && c.bodyLen > lim.maxBody) return reject(c, 413, "body over " + lim.maxBody + " bytes");
        ioDel(rx, 0, c.headLen); // the head is parsed into strings: give its room to the body
        c.headLen = 0;
      } else if (c.f & F.STARTED || !(c.f & F.RESP)) {
        // Answered before the body was read: RFC 9110 §10.1.1 lets us close instead of reading it.
        c.f = (c.f | F.CLOSE) & ~F.CONT;
        if (!(c.f & F.RESP)) connDrain(c);
        break;
      } else if (!(c.f & F.CHUNKED) && c.headLen + c.bodyLen > rx.b.length)
        return reject(c, 413, "body over " + (rx.b.length - c.headLen) + " bytes");
    }
    if (c.f & F.CONT) {
      // RFC 9110 §10.1.1: the client may wait for this before sending the body.
      if (c.src) break; // (what does not fit in tx becomes the pending source)
      queue(c, CONTINUE);
      c.f &= ~F.CONT;
    }
    const r = c.f & F.CHUNKED ? chunked(c) : plain(c);
    if (!c.id) return;
    if (r < 0) return reject(c, -r, r === -413 ? "body too large" : r === -431 ? "trailers too large" : "bad chunked framing");
    if (!r) {
      if (c.f & F.EOF && !(c.f & F.READABLE)) return c.f & F.CUT ? connDrain(c) : reject(c, 400, "truncated body");
      break;
    }
    c.f &= ~F.HDRS;
    const stream = c.f & F.STREAM;
    if (c.f & F.RESP) {
      hm.body = stream ? EMPTY : rx.b.subarray(c.headLen, c.headLen + c.bodyGot);
      hm.len = c.bodyGot;
      c.respDeadline = now + lim.respMs;
      c.f |= F.DELIV;
      emit(c, Ev.HttpMsg, hm);
      hm.body = EMPTY;
      if (!c.id) return;
    }
    ioDel(rx, 0, c.headLen + (stream ? 0 : c.bodyGot));
    c.headLen = c.bodyGot = 0;
    c.reqStart = -1;
  }
  // Room was made in rx while the HAL still holds input: read it on another pass.
  if (c.id && c.f & F.READABLE && rx.n < rx.b.length) sched(c.mgr);
}

/** Hand `k` body bytes at `at` in rx to the handler (HttpBody) and drop them; false if the connection went away meanwhile. */
function piece(c: Conn, at: number, k: number): boolean {
  c.bodyGot += k;
  emit(c, Ev.HttpBody, c.rx.b.subarray(at, at + k));
  if (!c.id) return false;
  ioDel(c.rx, at, k);
  return true;
}

/** A Content-Length body: 1 complete, 0 need more. Streamed pieces go to the handler as they come. */
function plain(c: Conn): number {
  const rx = c.rx;
  const need = c.bodyLen - c.bodyGot;
  if (need <= 0) return 1;
  const avail = rx.n - c.headLen;
  if (c.f & F.STREAM) {
    const k = avail < need ? avail : need;
    if (k > 0 && !piece(c, c.headLen, k)) return 0;
    return c.bodyGot >= c.bodyLen ? 1 : 0;
  }
  if (avail < need) return 0;
  c.bodyGot = c.bodyLen;
  return 1;
}

/**
 * A chunked body (RFC 9112 §7.1), decoded in place: chunk framing is removed
 * from rx as it is parsed, so the decoded body lies contiguous after the head.
 * c.chunkState is the state: 0 size line, 1 data (c.bodyLen left), 2 CRLF after data, 3 trailers.
 * Returns 1 complete, 0 need more, or -status.
 */
function chunked(c: Conn): number {
  const rx = c.rx;
  const b = rx.b;
  const stream = c.f & F.STREAM;
  const lim = c.mgr.lim;
  for (;;) {
    const r = c.headLen + (stream ? 0 : c.bodyGot);
    if (c.chunkState === 0 || c.chunkState === 3) {
      const lf = b.indexOf(10, r);
      if (lf < 0 || lf >= rx.n) {
        if (rx.n >= b.length) return c.chunkState ? -431 : -413;
        return 0;
      }
      // Inside chunked framing only CRLF ends a line: a bare LF here is a smuggling vector.
      if (lf === r || b[lf - 1] !== 13) return -400;
      const line = c.mgr.hal.codec.str(b, r, lf - 1);
      ioDel(rx, r, lf + 1 - r);
      if (c.chunkState === 3) {
        if (!line) return 1; // the empty line after the trailers
        if (!FIELD.test(line)) return -400;
        continue;
      }
      const size = chunkSize(line);
      if (size === -1) return -400;
      if (size === -2) return -413;
      if (!size) {
        c.chunkState = 3;
        continue;
      }
      // Unstreamed, the decoded body must fit with room (3 bytes) left for the last-chunk line.
      if (stream ? c.bodyGot + size > lim.maxBody : r + size + 3 > b.length) return -413;
      c.bodyLen = size;
      c.chunkState = 1;
    } else if (c.chunkState === 1) {
      const avail = rx.n - r;
      const k = avail < c.bodyLen ? avail : c.bodyLen;
      if (k <= 0) return 0;
      c.bodyLen -= k;
      if (!stream) c.bodyGot += k;
      else if (!piece(c, r, k)) return 0;
      if (c.bodyLen) return 0;
      c.chunkState = 2;
    } else {
      if (rx.n - r < 2) return rx.n > r && b[r] !== 13 ? -400 : 0;
      if (b[r] !== 13 || b[r + 1] !== 10) return -400;
      ioDel(rx, r, 2);
      c.chunkState = 0;
    }
  }
}

/** Deadlines: header/body (408, fixed from the request's first byte), pending response (503 or close), stalled send, idle. Sets c.deadline to the next one. */
function deadlines(c: Conn, now: number): void {
  const lim = c.mgr.lim;
  let dl = 0;
  let d: number;
  c.deadline = 0;
  if (c.f & F.ENDING) return;
  // Not while a delivered request waits for its response: that has its own deadline.
  if (c.reqStart >= 0 && (c.f & F.INREQ) !== F.RESP) {
    const hdr = !(c.f & F.HDRS);
    dl = c.reqStart + (hdr ? lim.hdrMs : lim.bodyMs);
    if (now >= dl) return reject(c, 408, hdr ? "headers timeout" : "body timeout");
  }
  if (c.f & F.DELIV) {
    if (now >= c.respDeadline) {
      runtimeReply(c, 503, "no response in time", false);
      if (c.f & F.ENDING) return;
    } else if (!dl || c.respDeadline < dl) dl = c.respDeadline;
  }
  if (c.tx.n || c.src) d = c.sendSince + lim.drainMs; // a peer that stopped reading
  else if (!(c.f & F.INREQ) && !c.rx.n) d = c.lastIo + lim.idleMs; // idle keep-alive: closed silently
  else d = 0;
  if (d && now >= d) c.f |= F.CLOSING;
  else c.deadline = d && (!dl || d < dl) ? d : dl;
}
