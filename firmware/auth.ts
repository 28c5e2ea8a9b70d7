/**
 * Sign-in: the admin password (only a salted PBKDF2-SHA256 hash is kept),
 * sessions (random tokens in an HttpOnly, SameSite=Strict cookie), HTTP Basic
 * for scripts, the same-origin check for state changes, and the rate limit on
 * failed sign-ins. Randomness comes from the HAL's `random` (the chip's
 * hardware RNG), never Math.random, which repeats after every boot on ESP32.
 */
import type { Codec, Crypto } from "../hal/hal";
import { HttpMsg, httpHeader } from "../src/index";
import { hex } from "./record";

declare function atob(s: string): string;

/** PBKDF2 iterations for a new hash (stored with it, so it can be raised later). Each sign-in costs this many HMACs on the chip. */
const ITERATIONS = 2048;
/** Shortest admin password. */
export const MIN_PASSWORD = 8;
/** Sessions kept at once; a new one replaces the oldest. */
const MAX_SESSIONS = 4;
/** Failed sign-ins allowed before the lockout, the first lockout and its cap, s. */
const FREE_FAILS = 5;
const LOCK_FIRST = 2;
const LOCK_CAP = 60;
/** Failures older than this (with none since) are forgotten, ms. */
const FORGET_MS = 2 * LOCK_CAP * 1000;
/** Client addresses whose failures are tracked (the least recent is forgotten first). */
const MAX_CLIENTS = 8;


function unhex(s: string): Uint8Array {
  const b = new Uint8Array(s.length >> 1);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.substr(i * 2, 2), 16);
  return b;
}

/** Equal strings, in time that depends only on their lengths. */
export function same(a: string, b: string): boolean {
  let d = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i % (b.length || 1));
  return d === 0;
}

interface Session {
  /** key() of its token. */
  key: string;
  expires: number;
}

interface Client {
  addr: string;
  fails: number;
  /** Locked out until this time, ms. */
  until: number;
  lock: number;
  seen: number;
}

/** The sign-in state of a running app (sessions and failures live in RAM: a reboot signs everyone out). */
export class Auth {
  sessions: Session[] = [];
  clients: Client[] = [];
  /** key() of the last Authorization header that verified, and the stored hash it verified against: a script's repeated Basic requests do not pay PBKDF2 each time. */
  basicOk = "";
  basicFor = "";
  constructor(public crypto: Crypto, public random: (n: number) => Uint8Array, public now: () => number, public codec: Codec) {}
}

/**
 * What a secret the board holds (a session token, a verified Authorization header) is compared by: its SHA-256, as a
 * string. Digests compared with === tell a timing attacker nothing about the secret, and a hash is native: comparing
 * the secrets themselves in constant time (same()) is a loop the interpreter runs at ~80 µs a request on 2v29.
 */
function key(a: Auth, secret: string): string {
  const d = a.crypto.sha256(secret);
  return a.codec.str(d, 0, d.length);
}

/** A new stored hash "iterations$salt$hash" of `password`. */
export function hashPassword(a: Auth, password: string): string {
  const salt = a.random(16);
  return ITERATIONS + "$" + hex(salt) + "$" + hex(a.crypto.pbkdf2(password, salt, ITERATIONS, 32));
}

/** Does `password` match the stored hash? (false when none is stored). */
export function verifyPassword(a: Auth, stored: string, password: string): boolean {
  const p = stored.split("$");
  if (p.length !== 3 || !password) return false;
  return same(hex(a.crypto.pbkdf2(password, unhex(p[1]), +p[0], 32)), p[2]);
}

/** Start a session valid for `hours`: the Set-Cookie header line. */
export function newSession(a: Auth, hours: number): string {
  const token = hex(a.random(16));
  if (a.sessions.length >= MAX_SESSIONS) a.sessions.shift();
  a.sessions.push({ key: key(a, token), expires: a.now() + hours * 3600000 });
  return "Set-Cookie: sid=" + token + "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + hours * 3600 + "\r\n";
}

/** End every session and forget verified credentials (password changed, factory reset). */
export function endSessions(a: Auth): void {
  a.sessions = [];
  a.basicOk = a.basicFor = "";
}

/** The request's session cookie value, or "". */
function cookie(hm: HttpMsg): string {
  const c = httpHeader(hm, "cookie");
  if (!c) return "";
  const parts = c.split(";");
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i].trim();
    if (p.substr(0, 4) === "sid=" && /^[0-9a-f]+$/.test(p.substr(4))) return p.substr(4);
  }
  return "";
}

/** End the request's session (sign out): the Set-Cookie line that clears the cookie. */
export function endSession(a: Auth, hm: HttpMsg): string {
  const t = cookie(hm);
  const k = t ? key(a, t) : "";
  for (let i = 0; i < a.sessions.length; i++) if (a.sessions[i].key === k) a.sessions.splice(i--, 1);
  return "Set-Cookie: sid=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0\r\n";
}

/**
 * Who is asking: "session" or "basic" with valid credentials, "" with none,
 * or "bad" with credentials that are wrong or malformed (an empty,
 * wrong-scheme or prefix-only Authorization header, or a wrong password).
 */
export function credentials(a: Auth, hm: HttpMsg, stored: string): string {
  const t = cookie(hm);
  const now = a.now();
  if (t) {
    const k = key(a, t);
    for (let i = 0; i < a.sessions.length; i++) {
      const s = a.sessions[i];
      if (s.expires <= now) a.sessions.splice(i--, 1);
      else if (s.key === k) return "session";
    }
  }
  const h = httpHeader(hm, "authorization");
  if (h === null) return t ? "bad" : "";
  // RFC 7617: "Basic" (any case), one space, a base64 token of "admin:password".
  const m = /^[Bb][Aa][Ss][Ii][Cc] ([A-Za-z0-9+\/]+=*)$/.exec(h);
  if (!m || m[1].length % 4 || !stored) return "bad";
  if (knownBasic(a, hm, stored)) return "basic";
  let up = "";
  try {
    up = atob(m[1]);
  } catch (e) {
    return "bad";
  }
  const colon = up.indexOf(":");
  if (colon < 0 || up.substr(0, colon) !== "admin" || !verifyPassword(a, stored, up.substr(colon + 1))) return "bad";
  a.basicOk = key(a, h);
  a.basicFor = stored;
  return "basic";
}

/** Is the request's Authorization header the one last verified against `stored`? (Such a script is not held up by a lockout.) */
export function knownBasic(a: Auth, hm: HttpMsg, stored: string): boolean {
  const h = httpHeader(hm, "authorization");
  return h !== null && !!stored && a.basicFor === stored && a.basicOk === key(a, h);
}

function client(a: Auth, addr: string): Client {
  let old: Client | null = null;
  for (let i = 0; i < a.clients.length; i++) {
    const c = a.clients[i];
    if (c.addr === addr) return c;
    if (!old || c.seen < old.seen) old = c;
  }
  const n: Client = { addr: addr, fails: 0, until: 0, lock: 0, seen: 0 };
  if (a.clients.length >= MAX_CLIENTS && old) a.clients.splice(a.clients.indexOf(old), 1);
  a.clients.push(n);
  return n;
}

/** Seconds `addr` must still wait before it may try a password again (0: it may). */
export function lockedFor(a: Auth, addr: string): number {
  const c = client(a, addr);
  const left = c.until - a.now();
  return left > 0 ? Math.ceil(left / 1000) : 0;
}

/**
 * Record a failed sign-in from `addr`: after FREE_FAILS the lockout starts at
 * LOCK_FIRST s and doubles with each failure, up to LOCK_CAP. On 2v29 sockets
 * have no peer address, so every client shares one counter there: a stranger
 * can slow sign-in to one try a minute, never stop it for longer, and open
 * sessions and already-verified scripts are not held up.
 */
export function failed(a: Auth, addr: string): void {
  const c = client(a, addr);
  // Failures are forgotten after a quiet while, so an old series does not keep a new lockout going.
  if (a.now() - c.seen > FORGET_MS) c.fails = c.lock = 0;
  c.seen = a.now();
  if (++c.fails < FREE_FAILS) return;
  c.lock = c.lock ? Math.min(c.lock * 2, LOCK_CAP) : LOCK_FIRST;
  c.until = a.now() + c.lock * 1000;
}

/** A sign-in from `addr` succeeded: its failures are forgotten. */
export function succeeded(a: Auth, addr: string): void {
  const c = client(a, addr);
  c.fails = c.lock = c.until = 0;
}

/** The origin part ("scheme://host[:port]") of a URL, lowercased, or "" if it has none. */
function originOf(u: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.\-]*:\/\/[^\/?#]*)/.exec(u);
  return m ? m[1].toLowerCase() : "";
}

/**
 * Is a state-changing request same-origin? Its Origin (or, absent it, its
 * Referer) must name this device as the request's Host does; a request with
 * neither (a script) passes here and must still bring credentials.
 */
export function sameOrigin(hm: HttpMsg): boolean {
  const host = (httpHeader(hm, "host") || "").toLowerCase();
  const o = httpHeader(hm, "origin");
  const r = httpHeader(hm, "referer");
  if (o === null && r === null) return true;
  const from = o !== null ? (o === "null" ? "" : originOf(o)) : originOf(r as string);
  return from === "http://" + host;
}

/**
 * Can this Host be trusted to be the device itself? Used before an admin
 * password exists, when setting one needs no credentials: a page on another
 * site that rebinds its DNS name to the board's address (DNS rebinding) sends
 * its own name as Host, so only an IP address, `localhost` or a `.local` name
 * may set the first password.
 */
export function deviceHost(hm: HttpMsg): boolean {
  let h = httpHeader(hm, "host") || "";
  // The usual case first, in one test: an IPv4 address, with or without a port.
  if (/^[0-9.:]+$/.test(h)) return true;
  h = h.toLowerCase();
  if (!h) return true; // HTTP/1.0 without Host: the client addressed the board directly (browsers always send Host)
  if (h.charAt(0) === "[") return /^\[[0-9a-f:.]+\]/.test(h);
  const colon = h.indexOf(":");
  if (colon >= 0) h = h.substr(0, colon);
  return /^[0-9.]+$/.test(h) || h === "localhost" || /^[a-z0-9-]+\.local$/.test(h);
}
