import type { Hal } from "../hal/hal";
import { Ev } from "./event";
import { ioDel } from "./iobuf";
import { Conn, F, Mgr, connFree, emit, sched } from "./net";
import { Limits } from "./opts";
import { timersPoll } from "./timer";

/** A manager with `lim.slots` slots whose buffers are all allocated now; it polls itself whenever the HAL reports something. */
export function mgrInit(hal: Hal, lim: Limits): Mgr {
  const m = new Mgr(hal, lim);
  for (let i = 0; i < lim.slots; i++) m.conns.push(new Conn(m, lim.rxSize, lim.txSize));
  m.pollFn = function () {
    m.pollSoon = false;
    mgrPoll(m);
  };
  return m;
}

/**
 * Stop a manager: its listeners closed, every connection freed (each gets Close; unsent output is dropped), its
 * timers and its wake-up timer cancelled. The slots stay allocated but unused (a pass already scheduled finds
 * nothing to do).
 */
export function mgrFree(m: Mgr): void {
  for (let i = 0; i < m.listenList.length; i++) m.listenList[i].close();
  m.listenList = [];
  for (let i = 0; i < m.conns.length; i++) connFree(m.conns[i], 0);
  m.timers = [];
  if (m.wakeTimer >= 0) m.hal.clock.cancel(m.wakeTimer);
  m.wakeTimer = -1;
}

/** Move queued bytes to the socket: first what fits of the pending source into tx, then tx into the HAL. Returns bytes sent. */
function flush(c: Conn): number {
  const tx = c.tx;
  let sent = 0;
  for (;;) {
    const src = c.src;
    if (src) {
      const k = Math.min(src.length - c.srcOff, tx.b.length - tx.n);
      if (k > 0) {
        tx.b.set(src.subarray(c.srcOff, c.srcOff + k), tx.n);
        tx.n += k;
        c.srcOff += k;
      }
      if (c.srcOff >= src.length && (!(c.f & F.SRCCRLF) || tx.b.length - tx.n >= 2)) {
        if (c.f & F.SRCCRLF) {
          tx.b[tx.n++] = 13;
          tx.b[tx.n++] = 10;
        }
        c.src = null;
        c.srcOff = 0;
        c.f &= ~F.SRCCRLF;
        sched(c.mgr, c); // let the protocol see the source is done
      }
    }
    if (!tx.n || !(c.f & F.WRITABLE) || !c.s) break;
    const n = tx.n;
    const k = c.s.write(tx.b, 0, n);
    if (k > 0) {
      ioDel(tx, 0, k);
      sent += k;
    }
    if (k < n) {
      c.f &= ~F.WRITABLE; // the HAL calls writable() when it takes more
      break;
    }
  }
  return sent;
}

/** A poll pass's visit to a connection with work: steps a-f of mgrPoll (a function of its own: a pass reads none of its text for the connections it does not visit). */
function visit(c: Conn, now: number): void {
  const m = c.mgr;
  c.f &= ~F.WORK;
  if (c.f & F.READABLE && !(c.f & F.ENDING) && c.s) {
    const rx = c.rx;
    let got = 0;
    while (rx.n < rx.b.length) {
      const k = c.s.read(rx.b, rx.n, rx.b.length - rx.n);
      if (k > 0) {
        rx.n += k;
        got += k;
      } else {
        c.f &= ~F.READABLE;
        if (k < 0) c.f |= F.EOF;
        if (k === -2) {
          c.f |= F.CUT;
          m.hal.log("conn " + c.id + ": the peer outran the board, its input is cut");
        }
        break;
      }
    }
    if (got) {
      c.lastIo = now;
      emit(c, Ev.Read, got);
    }
  }
  if ((c.f & (F.CLIENT | F.CONNECTED | F.WRITABLE)) === (F.CLIENT | F.WRITABLE)) {
    c.f |= F.CONNECTED;
    emit(c, Ev.Connect, null);
  }
  for (let w = c.wakeQueue; c.id && w; w = c.wakeQueue) {
    // In order; one queued by a handler meanwhile comes in this pass too.
    c.wakeQueue = null;
    for (let j = 0; c.id && j < w.length; j++) emit(c, Ev.Wakeup, w[j]);
  }
  if (c.id) emit(c, Ev.Poll, now);
  if (c.id && !(c.f & F.CLOSING)) {
    const was = c.tx.n || c.src;
    const sent = flush(c);
    if (sent) {
      c.lastIo = c.sendSince = now;
      emit(c, Ev.Write, sent);
      if (c.id && c.f & F.WRITABLE && (c.tx.n || c.src)) sched(m); // handler queued more: another pass
    } else if (!was && (c.tx.n || c.src)) c.sendSince = now;
  }
  if (!c.id) return;
  if (c.f & F.DRAINING && !c.tx.n && !c.src && !(c.f & F.CLOSING)) c.f |= F.CLOSING;
  if (c.f & F.DRAINING && c.drainDeadline && now >= c.drainDeadline) c.f |= F.CLOSING;
  if (c.f & F.CLOSING) connFree(c, 0);
}

/**
 * One pass of the cooperative loop. Order:
 * 1. timers due now;
 * 2. for each connection with work (input, a wakeup, a deadline due, a mark left by sched(m, c)), in slot order:
 *    a. read what the HAL has into rx (as far as rx has room) → Read;
 *    b. an outgoing connection that became writable → Connect;
 *    c. queued wakeups → Wakeup;
 *    d. Poll (the HTTP layer parses here, and enforces its deadlines);
 *    e. write: pending source into tx, tx into the socket → Write;
 *    f. close if CLOSING, or DRAINING with nothing left to send → Close, slot freed;
 * 3. arm one HAL timer for the earliest deadline or timer.
 * Handlers run only from here, from HAL socket callbacks (Close, and the HTTP fast path: a whole head delivered to
 * an idle connection, httpd.ts httpFast) and from timers: never re-entrantly.
 */
export function mgrPoll(m: Mgr): void {
  const clock = m.hal.clock;
  let now = clock.now();
  let next = m.timers.length ? timersPoll(m, now) : 0;
  for (let i = 0, k = m.nopen; k > 0 && i < m.conns.length; i++) {
    const c = m.conns[i];
    if (!c.id) continue;
    k--;
    // Only connections with work are visited: input, a Connect, a wakeup, a mark (sched), a deadline due.
    if (c.f & (F.READABLE | F.WORK) || c.wakeQueue || (c.deadline && now >= c.deadline) || (c.f & F.DRAINING && c.drainDeadline && now >= c.drainDeadline)) visit(c, now);
    if (!c.id) continue;
    if (c.deadline && (!next || c.deadline < next)) next = c.deadline;
    if (c.f & F.DRAINING && c.drainDeadline && (!next || c.drainDeadline < next)) next = c.drainDeadline;
  }
  // One HAL timer for the earliest thing that is due (the clock read again only to arm it: a read is ~6 µs on 2v29).
  if (next && (m.wakeTimer < 0 || next < m.wakeAt || m.wakeAt <= now)) {
    now = clock.now();
    if (m.wakeTimer >= 0) clock.cancel(m.wakeTimer);
    m.wakeAt = next;
    m.wakeTimer = clock.after(Math.max(0, next - now), function () {
      m.wakeTimer = -1;
      mgrPoll(m);
    });
  }
}
