import { Mgr, Timer, sched } from "./net";

/** Run `fn` after `ms` milliseconds (every `ms` if `rep`), from the poll loop; returns an id for timerDel. */
export function timerAdd(m: Mgr, ms: number, rep: boolean, fn: () => void): number {
  const id = m.seq++;
  m.timers.push({ id: id, at: m.hal.clock.now() + ms, ms: ms, rep: rep, fn: fn });
  sched(m);
  return id;
}

/** Cancel a timer; false if there was none with this id. */
export function timerDel(m: Mgr, id: number): boolean {
  for (let i = 0; i < m.timers.length; i++) {
    if (m.timers[i].id === id) {
      m.timers.splice(i, 1);
      return true;
    }
  }
  return false;
}

/** Run the timers due at `now`; returns the earliest time one is due next (0: none). */
export function timersPoll(m: Mgr, now: number): number {
  let next = 0;
  let due: Timer[] | null = null;
  for (let i = 0; i < m.timers.length; i++) {
    const t = m.timers[i];
    if (t.at <= now) {
      if (t.rep) t.at = Math.max(t.at + t.ms, now);
      else m.timers.splice(i--, 1);
      (due || (due = [])).push(t);
    }
  }
  // Run after the scan: a callback may add or delete timers.
  for (let i = 0; due && i < due.length; i++) {
    try {
      due[i].fn();
    } catch (e) {
      m.hal.log("timer error: " + e);
    }
  }
  for (let i = 0; i < m.timers.length; i++) if (!next || m.timers[i].at < next) next = m.timers[i].at;
  return next;
}
