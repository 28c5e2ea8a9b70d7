// @ts-check
/**
 * The interpreter's idle loop, as Espruino 2v29 runs it (src/jsinteractive.c,
 * libs/network/socketserver.c, read, not copied): one *pass* runs the timers
 * that are due, then the network idle (per socket: send one chunk, receive one
 * chunk, close), then every queued event. Event listeners are looked up when
 * the event is queued, as `jsiQueueObjectCallbacks` does, so a listener added
 * later does not see an event already queued.
 *
 * On the host a pass is not tied to a libuv turn: one `setImmediate` turn runs
 * passes back to back while the network has work (up to `maxPasses`), then the
 * host writes what the passes sent in one write per socket. The firmware sees
 * the same sequence of events as on a fast device; only wall-clock spacing
 * differs, which is what keeps the per-chunk overhead near zero.
 */
'use strict';
const { performance } = require('perf_hooks');

/**
 * @typedef {object} Timer
 * @property {number} id
 * @property {number} due      ms on the loop clock
 * @property {number} every    interval period (ms)
 * @property {boolean} rep     setInterval (true) or setTimeout
 * @property {Function | string} fn
 * @property {unknown[]} args
 */

class Loop {
  /**
   * @param {{ report: (err: unknown) => void, maxPasses?: number }} o
   *   `report` prints an uncaught exception (or hands it to process.on('uncaughtException')).
   */
  constructor(o) {
    this.report = o.report;
    this.maxPasses = o.maxPasses || 64;
    /** Flat FIFO of [thisObj, fn | fn[], args] triples. @type {unknown[]} */
    this.events = [];
    /** In insertion order, as Espruino's timer array. @type {Map<number, Timer>} */
    this.timers = new Map();
    this.scheduled = false;
    this.running = false;
    this.stopped = false;
    /** @type {NodeJS.Timeout | null} */
    this.hostTimer = null;
    this.hostTimerDue = Infinity;
    /** The last clock reading, ms. */
    this.last = 0;
    /** The network idle: `idle()` runs one pass, `busy()` says another pass has something to do, `flush()` hands the passes' output to the host. @type {{ idle(): void, busy(): boolean, flush(): void } | null} */
    this.net = null;
    /** Evaluates a string callback (setTimeout("code")) in the sandbox. @type {(code: string) => void} */
    this.evalString = () => {};
    /**
     * Set while the chip's watchdog is on (E.enableWatchdog): runs a host turn so that one which does not return
     * to the idle loop in time is cut short, as the watchdog resets a device whose loop hangs.
     * @type {((turn: () => void) => void) | null}
     */
    this.guard = null;
    this.run = this.run.bind(this);
    this.passes = this.passes.bind(this);
    this.onHostTimer = this.onHostTimer.bind(this);
  }

  /** Milliseconds on the loop clock (monotonic); the reading is kept in `last`. */
  now() {
    return (this.last = performance.now());
  }

  /** Make sure a pass runs soon (next host turn). Safe to call from anywhere, any number of times. */
  kick() {
    if (this.scheduled || this.running || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  /**
   * Queue listeners to run after the current pass (jsiQueueEvents). `fns` is what the object holds for the
   * event at this moment: nothing, one function, or an array of them.
   * @param {unknown} self @param {unknown} fns @param {unknown[]} args
   */
  queue(self, fns, args) {
    if (!fns) return;
    this.events.push(self, fns, args);
    this.kick();
  }

  /** Call one listener or an array of listeners, reporting what they throw. @param {unknown} self @param {unknown} fns @param {unknown[]} args */
  call(self, fns, args) {
    if (Array.isArray(fns)) {
      if (fns.length === 1) return this.call(self, fns[0], args); // nothing later in the list for it to change
      const list = fns.slice();
      for (let i = 0; i < list.length; i++) this.call(self, list[i], args);
      return;
    }
    try {
      if (typeof fns === 'function') fns.apply(self, args);
      else if (typeof fns === 'string') this.evalString(fns);
    } catch (e) {
      this.report(e);
    }
  }

  /** Run every queued event, including the ones queued meanwhile. */
  executeEvents() {
    const q = this.events;
    for (let i = 0; i < q.length; i += 3) {
      if (this.stopped) break;
      this.call(q[i], q[i + 1], /** @type {unknown[]} */ (q[i + 2]));
    }
    q.length = 0;
  }

  /**
   * setTimeout/setInterval: the id is the last timer's id + 1, or 1 when none is pending, so ids are
   * reused once the timers before them are gone (a stale id can clear a newer timer, as on the device).
   * @param {Function | string} fn @param {number} ms @param {unknown[]} args @param {boolean} interval
   */
  addTimer(fn, ms, args, interval) {
    if (!(ms >= 0)) ms = 0; // NaN and negatives run as soon as possible
    let id = 1;
    for (const k of this.timers.keys()) id = k + 1;
    this.timers.set(id, { id, due: this.now() + ms, every: ms, rep: interval, fn, args });
    this.armHostTimer();
    if (ms <= 0) this.kick();
    return id;
  }

  /** @param {unknown} id */
  clearTimer(id) {
    this.timers.delete(/** @type {number} */ (id));
    this.armHostTimer();
  }

  clearAllTimers() {
    this.timers.clear();
    this.armHostTimer();
  }

  /** @param {unknown} id @param {number} ms */
  changeInterval(id, ms) {
    const t = this.timers.get(/** @type {number} */ (id));
    if (!t) return false;
    if (!(ms >= 0)) ms = 0;
    t.every = ms;
    t.due = this.now() + ms;
    this.armHostTimer();
    return true;
  }

  runDueTimers() {
    if (!this.timers.size) return;
    const now = this.now();
    /** @type {Timer[]} */
    const due = [];
    for (const t of this.timers.values()) if (t.due <= now) due.push(t);
    if (!due.length) return;
    due.sort((a, b) => a.due - b.due || a.id - b.id);
    for (const t of due) {
      if (this.stopped) return;
      if (this.timers.get(t.id) !== t) continue; // cleared by an earlier callback
      if (!t.rep) this.timers.delete(t.id);
      else {
        t.due += t.every;
        if (t.due <= now) t.due = now + Math.max(t.every, 1);
      }
      this.call(undefined, t.fn, t.args);
    }
  }

  hasDueTimer() {
    if (!this.timers.size) return false;
    // The clock only moves forward: a timer due by the last reading (a setTimeout(fn, 0) just added) is due now,
    // without reading the clock again.
    for (const t of this.timers.values()) if (t.due <= this.last) return true;
    const now = this.now();
    for (const t of this.timers.values()) if (t.due <= now) return true;
    return false;
  }

  armHostTimer() {
    // A host turn is running or queued: it re-arms when it ends, so timers added and cleared meanwhile
    // (the firmware's setTimeout(fn, 0) per socket event) cost no host timer each.
    if (this.stopped || this.running || this.scheduled) return;
    let next = Infinity;
    for (const t of this.timers.values()) if (t.due < next) next = t.due;
    if (next === this.hostTimerDue) return;
    if (this.hostTimer) clearTimeout(this.hostTimer);
    this.hostTimer = null;
    this.hostTimerDue = next;
    if (next === Infinity) return;
    this.hostTimer = setTimeout(this.onHostTimer, Math.max(0, Math.ceil(next - this.now())));
  }

  onHostTimer() {
    this.hostTimer = null;
    this.hostTimerDue = Infinity;
    if (!this.hasDueTimer()) this.armHostTimer(); // fired a little early
    else this.kick();
  }

  /** One host turn: passes while there is work, then the host-side flush (under the watchdog's `guard` once one is enabled). */
  run() {
    this.scheduled = false;
    if (this.stopped) return;
    this.running = true;
    try {
      if (this.guard) this.guard(this.passes);
      else this.passes();
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if ((this.net && this.net.busy()) || this.events.length || this.hasDueTimer()) this.kick();
    this.armHostTimer();
  }

  passes() {
    for (let pass = 0; pass < this.maxPasses; pass++) {
      this.runDueTimers();
      if (this.net) this.net.idle();
      this.executeEvents();
      if (this.stopped) return;
      if (!(this.net && this.net.busy()) && !this.events.length && !this.hasDueTimer()) break;
    }
    if (this.net) this.net.flush();
  }

  /** Stop for good: no pass, timer or event runs after this. */
  stop() {
    this.stopped = true;
    if (this.hostTimer) clearTimeout(this.hostTimer);
    this.hostTimer = null;
    this.timers.clear();
    this.events.length = 0;
  }
}

module.exports = { Loop };
