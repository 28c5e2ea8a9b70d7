import { F } from "./net";

/**
 * HTTP/1.1 message parsing (RFC 9110, RFC 9112): the request head, chunk-size
 * lines, header and query lookup. Pure functions over strings; the server
 * lifecycle is in httpd.ts.
 */

/** A zero-length byte array. */
export const EMPTY = new Uint8Array(0);

/** A parsed request. One per pool slot, reused: every field is valid until the handler returns, and read-only (a later request with the same head reuses them). */
export class HttpMsg {
  /** Method, case as sent ("GET"). */
  method!: string;
  /** Request-target exactly as sent ("/a?b=1"). */
  target!: string;
  /** The target's path, before any "?" ("/a"; of an absolute-form target, its path: "http://h/a?b" gives "/a"). Not percent-decoded. */
  uri!: string;
  /** The target's query, after the first "?" ("b=1"; "" when none). */
  query!: string;
  /** 10 for HTTP/1.0, 11 for HTTP/1.1 (and 1.2-1.9, RFC 9110 §6.2). */
  v!: number;
  /** Header field names (lowercased) and values (trimmed), in order. */
  hn!: string[];
  hv!: string[];
  /** The body: a view into the receive buffer (empty while streamed, or with HttpHdrs). */
  body!: Uint8Array;
  /** Body length: Content-Length, or the decoded length of a chunked body once complete. */
  len!: number;
  /** Framing found by the parser: Content-Length (-1 none), and connection flags (net.ts F: CHUNKED, CLOSE, CONT, HEAD, V10). */
  cl!: number;
  fl!: number;
  /** Why the request was rejected (for the error response body); meaningful only when parseHead returned a status. */
  err!: string;
  /** The head these fields were parsed from ("" when they are not a whole valid parse): the same head again is not parsed again. */
  h!: string;
  /** Its field lines (from the request line's CRLF on), and what they held for the framing checks (see lines()): another request line before the same field lines parses only that line. */
  fb!: string;
  fx!: (number | string | string[] | null)[];
  constructor() {
    // The interpreter finds a property by a linear search in creation order: what every request reads comes first
    // (the same-head check, the framing, the route), what a full parse alone touches last. Made at a slot's first
    // connection, not at boot.
    this.h = "";
    this.len = 0;
    this.cl = -1;
    this.fl = 0;
    this.method = this.uri = this.target = this.query = this.err = this.fb = "";
    this.body = EMPTY;
    this.v = 11;
    this.hn = [];
    this.hv = [];
    this.fx = [];
  }
}


// RFC 9110 §5.6.2 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9112 §3: method (a token) SP request-target SP HTTP-version. The target has no whitespace or controls
// (RFC 9112 §3.2); we also refuse bytes >= 0x80 (not in RFC 3986).
const REQLINE = /^([!#-'*+\-.0-9A-Z^-z|~]+) ([!-~]+) HTTP\/(\d)\.(\d)$/;
// RFC 9112 §5: field-name ":" OWS field-value OWS; RFC 9110 §5.5: values are VCHAR, obs-text, SP, HTAB (no NUL,
// CR, LF, other CTL, DEL). Trailing OWS stays in the value group: the regex engine has no lazy quantifier.
// Trailer fields are checked with it too (RFC 9112 §7.1.2: validated, then dropped).
export const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*)$/;
// FIELD for the usual field: a name of letters, digits and dashes, a value of printable ASCII that is not empty.
// 2v29's engine tries the rest of a pattern after every character a `*` takes, so FIELD reads a value once per
// leading OWS character and once more: this value begins with a visible character, read once; and its classes are
// shorter (the engine parses a class again for every character it tests). Anything else falls back to FIELD.
const VALUED = /^([-0-9A-Za-z]+):[ \t]*([!-~][\t -~]*)$/;
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.\-]*:\/\/[^\/?#]*/;
const AUTHORITY = /^[^\/?#@]+:\d+$/;
const DIGITS = /^\d+$/;
// Espruino 2v29's RegExp has no alternation under anchors, no \b, no {n}, no `?`, no lazy or quantified groups
// (measured): every pattern here is groups of class runs, and the rest is done by hand.
const LEAD_OWS = /^[ \t]+/;
const TRAIL_OWS = /[ \t]+$/;

/** `s` without leading and trailing SP/HTAB (RFC 9110 §5.6.3 OWS; not String.trim, which also eats obs-text 0xA0). */
function ows(s: string): string {
  return s.replace(LEAD_OWS, "").replace(TRAIL_OWS, "");
}

/** Record why the request is refused; the status is 400 unless given. */
function fail(hm: HttpMsg, why: string, code?: number): number {
  hm.err = why;
  return code || 400;
}

/** Why field line `l` is invalid (it did not match FIELD). */
function fieldErr(l: string): string {
  const f = l.charCodeAt(0);
  // RFC 9112 §5.2: obs-fold is rejected in requests.
  if (f === 32 || f === 9) return "obs-fold";
  const colon = l.indexOf(":");
  if (colon < 0) return "field without colon";
  // RFC 9112 §5.1: no whitespace between the field name and the colon.
  const w = l.charCodeAt(colon - 1);
  if (!TOKEN.test(l.substr(0, colon))) return w === 32 || w === 9 ? "space before colon" : "bad field name";
  return "control char in field";
}

/** Split a comma-separated list, trim and lowercase each non-empty member (RFC 9110 §5.6.1). */
function list(s: string): string[] {
  const a = s.split(",");
  const r: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const t = ows(a[i]).toLowerCase();
    if (t) r.push(t);
  }
  return r;
}

/**
 * Parse a complete request head (request line, fields, final empty line; LF or
 * CRLF line ends) into `hm`. Returns 0 if it is a valid request, else the
 * status to answer with (hm.err says why).
 *
 * Written for the interpreter, where every native call costs microseconds:
 * the whole head is split in one pass, and each line is checked and cut by
 * one RegExp match; the precise reason is worked out only for a bad line.
 */
export function parseHead(hm: HttpMsg, head: string): number {
  hm.len = 0;
  // The head hm was last parsed from, again (a client polling a URL): its fields are all still there.
  if (head === hm.h) return 0;
  // The same field lines as the last head, after another request line (a page asking for several routes, a HEAD
  // after a GET): only the request line is new. (If that fails, the full parse below says why.)
  const e = head.indexOf("\r\n");
  const rest = e > 0 && head.length - e === hm.fb.length ? head.substr(e) : "";
  if (rest && rest === hm.fb && !lines(hm, [head.substr(0, e)])) {
    hm.h = head;
    return 0;
  }
  // Lines end in CRLF, as a rule: split on that alone. If a line then fails (its regex refuses CR and LF),
  // the head may have bare LF line ends, which RFC 9112 §2.2 lets a server take: again, every line end as LF.
  // (By a RegExp: 2v29 splits by one twice as fast as by the string, 18 against 35 µs for a browser's head.)
  const crlf = head.split(/\r\n/);
  let st = lines(hm, crlf);
  if (st) {
    const h = crlf.join("\n");
    // RFC 9112 §2.2: a bare CR is invalid.
    st = h.indexOf("\r") < 0 ? lines(hm, h.split("\n")) : fail(hm, "bare CR");
  }
  hm.h = st ? "" : head;
  hm.fb = st || e < 0 ? "" : rest || head.substr(e);
  return st;
}

/**
 * parseHead of a head cut into lines (the last two: the empty line and what follows its line end, both ""); or of
 * its request line alone (`ls` of one), before the field lines parsed last time (their findings in hm.fx).
 * One function for all of it: on the esp32c3 every function the bundle defines costs vars for good.
 */
function lines(hm: HttpMsg, ls: string[]): number {
  const n = ls.length - 2;
  const again = n < 0; // (a flag parameter would cost the esp32c3 a var of its own)
  if (!again && (ls[n] || ls[n + 1])) return 400;
  // RFC 9112 §3: the request line.
  const rl = REQLINE.exec(ls[0]);
  if (!rl) return fail(hm, "malformed request line");
  if (rl[3] !== "1") return fail(hm, "HTTP/1.x only", 505);
  const method = rl[1];
  const target = rl[2];
  // RFC 9112 §3.2: origin-form, absolute-form, authority-form (CONNECT only), asterisk-form (OPTIONS only).
  let pq = target;
  if (target.charAt(0) !== "/") {
    const abs = ABSOLUTE.exec(target);
    if (abs) {
      // RFC 9112 §3.2.2: a server MUST accept the absolute-form; its path and query are the request's (an empty path is "/").
      pq = target.substr(abs[0].length);
      if (pq.charAt(0) !== "/") pq = "/" + pq;
    } else if (target === "*" ? method !== "OPTIONS" : method !== "CONNECT" || !AUTHORITY.test(target)) return fail(hm, "bad target form");
  }
  hm.method = method;
  hm.target = target;
  const q = pq.indexOf("?");
  hm.uri = q < 0 ? pq : pq.substr(0, q);
  hm.query = q < 0 ? "" : pq.substr(q + 1);
  hm.v = rl[4] === "0" ? 10 : 11;
  // The field lines, unless they are the last head's: the fields to hn/hv, then what the framing checks need of them
  // to hm.fx: [Host count (2: more than one), Content-Length (-1 none), Transfer-Encoding (null none), Connection's
  // tokens, Expect (the last; null none)]. The loop does no more than collect: the interpreter reads every line of
  // a loop's body on every turn, the lines it skips too.
  if (!again) {
    const hn: string[] = (hm.hn = []);
    const hv: string[] = (hm.hv = []);
    for (let i = 1; i < n; i++) {
      const m = VALUED.exec(ls[i]) || FIELD.exec(ls[i]);
      if (!m) return fail(hm, fieldErr(ls[i]));
      let value = m[2];
      if (value.charCodeAt(value.length - 1) < 33) value = ows(value); // trailing OWS: the only codes < 33 a value holds are HTAB and SP
      hn.push(m[1].toLowerCase());
      hv.push(value);
    }
    // Each name the framing acts on found by a native search of the names: most heads hold Host and Connection alone.
    const h = hn.indexOf("host");
    let i = hn.indexOf("content-length");
    let cl = -1;
    if (i >= 0) {
      // RFC 9112 §6.3, RFC 9110 §8.6: a list or repeated field is an unrecoverable framing error here.
      const v = hv[i];
      if (!DIGITS.test(v)) return fail(hm, "bad Content-Length");
      if (v.length > 9) return fail(hm, "Content-Length too large", 413);
      if (hn.indexOf("content-length", i + 1) >= 0) return fail(hm, "duplicate Content-Length");
      cl = parseInt(v, 10);
    }
    let expect: string | null = null;
    for (i = hn.indexOf("expect"); i >= 0; i = hn.indexOf("expect", i + 1)) expect = hv[i];
    // Connection's tokens (a single value, the usual, is trimmed already), found once for these field lines.
    const conn = values(hm, "connection") || "";
    hm.fx = [h < 0 ? 0 : hn.indexOf("host", h + 1) < 0 ? 1 : 2, cl, values(hm, "transfer-encoding"), conn.indexOf(",") < 0 ? (conn ? [conn.toLowerCase()] : []) : list(conn), expect];
  }
  // The framing: the fields' findings against this request line's method and version.
  const x = hm.fx;
  const te = x[2] as string | null;
  const tokens = x[3] as string[];
  const expect = x[4] as string | null;
  hm.cl = x[1] as number;
  let fl = (method === "HEAD" ? F.HEAD : 0) | (hm.v === 10 ? F.V10 : 0);
  // RFC 9112 §3.2: more than one Host in any request, or none in HTTP/1.1, is a 400.
  if ((x[0] as number) > 1) return fail(hm, "duplicate Host");
  if (hm.v === 11 && !x[0]) return fail(hm, "missing Host");
  if (te !== null) {
    // RFC 9112 §6.1/§6.3: Transfer-Encoding with Content-Length, or in HTTP/1.0, is a framing error.
    if (hm.cl >= 0) return fail(hm, "Content-Length with Transfer-Encoding");
    if (hm.v === 10) return fail(hm, "Transfer-Encoding in HTTP/1.0");
    const cs = list(te);
    const last = cs.length - 1;
    // RFC 9112 §6.1: chunked must be final (else the length is unknowable: 400) and applied once.
    if (last < 0 || cs[last] !== "chunked") return fail(hm, "chunked not last");
    if (cs.indexOf("chunked") !== last) return fail(hm, "chunked twice");
    // RFC 9112 §6.1: a transfer coding we do not implement gets 501.
    if (last > 0) return fail(hm, "unknown coding " + cs[0], 501);
    fl |= F.CHUNKED;
  }
  // RFC 9112 §9.3/§9.6: "close" ends the connection; HTTP/1.0 closes unless "keep-alive".
  if (tokens.indexOf("close") >= 0 || (hm.v === 10 && tokens.indexOf("keep-alive") < 0)) fl |= F.CLOSE;
  if (expect !== null && hm.v === 11) {
    // RFC 9110 §10.1.1: 100-continue is the only expectation; others get 417.
    if (expect.toLowerCase() !== "100-continue") return fail(hm, "unknown expectation", 417);
    if (fl & F.CHUNKED || hm.cl > 0) fl |= F.CONT;
  }
  hm.fl = fl;
  return 0;
}

/** The values of the fields named `name` (lowercase) joined by "," (RFC 9110 §5.3), or null if the head has none. */
function values(hm: HttpMsg, name: string): string | null {
  let r: string | null = null;
  for (let i = hm.hn.indexOf(name); i >= 0; i = hm.hn.indexOf(name, i + 1)) r = r === null ? hm.hv[i] : r + "," + hm.hv[i];
  return r;
}

/** Where the head starting at `b[0]` ends: the index after the LF of its empty line; if it is not complete in `b[0..n)`, -1 - (the start of its last, unfinished line), a place to resume from. `from` is a line start. */
/**
 * The complete lines of a head still arriving (`text`: whole lines, each ending in LF; `first`: it begins with
 * the request line): the status to refuse the request with at once if one of them is already invalid
 * (RFC 9112 §2.2 bare CR, §3 request line, §5 field line), else 0; hm.err says why. The same checks as
 * parseHead's, so a head refused early gets the answer it would get whole.
 */
export function headLines(hm: HttpMsg, text: string, first: boolean): number {
  const ls = text.split("\n");
  for (let i = 0; i < ls.length - 1; i++) {
    let l = ls[i];
    if (l.charCodeAt(l.length - 1) === 13) l = l.substr(0, l.length - 1);
    if (l.indexOf("\r") >= 0) return fail(hm, "bare CR");
    if (first && !i) {
      const rl = REQLINE.exec(l);
      if (!rl) return fail(hm, "malformed request line");
      if (rl[3] !== "1") return fail(hm, "HTTP/1.x only", 505);
    } else if (!FIELD.test(l)) return fail(hm, fieldErr(l));
  }
  return 0;
}

export function headEnd(b: Uint8Array, n: number, from: number): number {
  let i = from;
  for (;;) {
    const lf = b.indexOf(10, i);
    if (lf < 0 || lf >= n) return -1 - i;
    if (lf === i || (lf === i + 1 && b[i] === 13)) return lf + 1;
    i = lf + 1;
  }
}

const HEXRUN = /^[0-9A-Fa-f]+/;

/**
 * The size of a chunk-size line (RFC 9112 §7.1, without its CRLF): >= 0, or -1 if malformed, -2 if over 8 hex
 * digits. Its extensions are ignored but checked, so a malformed one is refused at once (a smuggling vector, and
 * the request would otherwise wait for its body deadline): *( BWS ";" BWS name [ BWS "=" BWS ( token /
 * quoted-string ) ] ) (§7.1.1), by a character loop, as 2v29's RegExp cannot match that grammar. States: 0 before
 * ";", 1 before a name, 2 in a name, 3 after a name, 4 before a value, 5 in a token value, 6 in a quoted value,
 * 7 after its backslash, 8 after a value.
 */
export function chunkSize(line: string): number {
  const m = HEXRUN.exec(line);
  if (!m) return -1;
  const hex = m[0];
  let st = hex.length < line.length ? 0 : 2;
  for (let i = hex.length; i < line.length && st >= 0; i++) {
    const ch = line.charAt(i);
    const c = line.charCodeAt(i);
    const sp = c === 32 || c === 9;
    if (st === 6) st = ch === '"' ? 8 : ch === "\\" ? 7 : sp || (c > 32 && c !== 127) ? 6 : -1;
    else if (st === 7) st = sp || (c > 32 && c !== 127) ? 6 : -1;
    else if (ch === ";") st = st === 0 || st === 2 || st === 3 || st === 5 || st === 8 ? 1 : -1;
    else if (ch === "=") st = st === 2 || st === 3 ? 4 : -1;
    else if (sp) st = st === 2 ? 3 : st === 5 ? 8 : st;
    else if (TOKEN.test(ch)) st = st === 1 || st === 2 ? 2 : st === 4 || st === 5 ? 5 : -1;
    else st = st === 4 && ch === '"' ? 6 : -1;
  }
  if (st !== 2 && st !== 3 && st !== 5 && st !== 8) return -1;
  if (hex.length > 8) return -2;
  return parseInt(hex, 16);
}

/** The lowercased tokens of the Connection field in a block of header lines ("Name: value\r\n"…), or null if it has none. */
export function connTokens(hdrs: string): string[] | null {
  // The trailing ":" is not a sentinel for show: Espruino 2v29's indexOf takes a string tail that begins the
  // needle for a match (a block ending in "\n" "contains" "\nconnection:"); a ":" tail begins no proper prefix.
  const low = hdrs.toLowerCase();
  if (low.indexOf("connection") < 0) return null; // the usual case, in one search (a false hit only costs the full one)
  const l = ("\n" + low + ":").split("\r").join("");
  const i = l.indexOf("\nconnection:");
  if (i < 0) return null;
  const e = l.indexOf("\n", i + 1);
  return list(l.substring(i + 12, e < 0 ? l.length - 1 : e));
}

/** The value of header `name` (any case), or null. */
export function httpHeader(hm: HttpMsg, name: string): string | null {
  const k = hm.hn.indexOf(name.toLowerCase());
  return k < 0 ? null : hm.hv[k];
}

const HEX2 = /^[0-9A-Fa-f][0-9A-Fa-f]$/;

/** Percent-decode (`+` is a space); bytes come out as char codes 0-255; invalid escapes stay as they are. */
export function urlDecode(s: string): string {
  const a = s.split("+").join(" ").split("%");
  let out = a[0];
  for (let i = 1; i < a.length; i++) {
    const h = a[i].substr(0, 2);
    out += HEX2.test(h) ? String.fromCharCode(parseInt(h, 16)) + a[i].substr(2) : "%" + a[i];
  }
  return out;
}

/** The percent-decoded value of variable `name` in a query or form body ("a=1&b=2"), or null; the first occurrence wins, names match exactly. */
export function httpVar(s: string, name: string): string | null {
  let i = 0;
  while (i <= s.length) {
    let e = s.indexOf("&", i);
    if (e < 0) e = s.length;
    const eq = s.indexOf("=", i);
    const k = eq >= 0 && eq < e ? eq : e;
    if (k - i === name.length && s.substr(i, k - i) === name) return urlDecode(k < e ? s.substring(k + 1, e) : "");
    i = e + 1;
  }
  return null;
}

/**
 * The reason phrase of a status code: the statuses the runtime sends and the ones applications use most, the
 * commonest first; "" for others (RFC 9112 §4 allows it empty). A switch, not a table: its text stays in flash,
 * where a table would hold ~80 JsVars of RAM for good.
 */
export function reason(code: number): string {
  switch (code) {
    case 200:
      return "OK";
    case 304:
      return "Not Modified";
    case 404:
      return "Not Found";
    case 204:
      return "No Content";
    case 401:
      return "Unauthorized";
    case 100:
      return "Continue";
    case 202:
      return "Accepted";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
  }
  return "";
}
