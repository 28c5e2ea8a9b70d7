/**
 * The limits a manager runs under: pool size, buffer sizes, deadlines. Board
 * profiles (boards/) supply one of these; every number the runtime enforces
 * comes from here, none is hard-coded elsewhere.
 */
export interface Limits {
  /** Connection slots in the pool (listeners are not counted). */
  slots: number;
  /** Receive buffer per slot, bytes: the whole header section must fit, and a non-streamed body with it. */
  rxSize: number;
  /** Send buffer per slot, bytes: larger responses are streamed through it. */
  txSize: number;
  /** Longest request line, bytes (414 beyond). */
  maxLine: number;
  /** Largest request body a handler may stream (413 beyond). */
  maxBody: number;
  /** Header section deadline, ms from the request's first byte (408). */
  hdrMs: number;
  /** Body deadline, ms from the request's first byte (408). */
  bodyMs: number;
  /** Pending-response deadline, ms from the request's delivery (503, or close if already started). */
  respMs: number;
  /** Idle keep-alive connections close silently after this many ms. */
  idleMs: number;
  /** A closing connection that cannot flush within this many ms is dropped. */
  drainMs: number;
  /** Seconds advertised in `Retry-After` when every slot is busy. */
  retryAfter: number;
  /** A keep-alive connection may be evicted for a newcomer only after this many idle ms: a shorter idle may hide a request in flight, which the close would lose. */
  evictMs: number;
  /** A request head still arriving slower than this, bytes/s, makes room with a 408 when a newcomer finds every slot busy (a slow sender must not starve the pool). */
  minRate: number;
}

/** Defaults sized for an ESP32 with about 16 000 JsVars. */
export const defaultLimits: Limits = {
  slots: 4,
  rxSize: 2048,
  txSize: 2048,
  maxLine: 512,
  maxBody: 98304, // 96 KB: an app update is the largest body (the firmware with MQTT is ~67 KB)
  hdrMs: 10000,
  bodyMs: 60000,
  respMs: 30000,
  idleMs: 30000,
  drainMs: 10000,
  retryAfter: 2,
  evictMs: 2000,
  minRate: 100,
};

/** `base` with the fields of `over` replacing its own. */
export function limits(over?: Partial<Limits>): Limits {
  const r = {} as any;
  for (const k in defaultLimits) r[k] = over && (over as any)[k] !== undefined ? (over as any)[k] : (defaultLimits as any)[k];
  return r;
}
