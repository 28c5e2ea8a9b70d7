/**
 * The captive-portal DNS responder (RFC 1035): while the access point runs,
 * every A query for any name is answered with the access point's address, so
 * a phone that joins it finds its connectivity probe answered by the board
 * and opens the portal. AAAA and every other type get an empty NOERROR
 * answer (the name exists, it has no such record), so clients fall back to
 * IPv4 at once instead of waiting.
 *
 * Fixed memory: the answer is built in one preallocated 512-byte buffer; a
 * query is read where it arrived. Hostile packets: a response (QR set) is
 * never answered (no loops between two responders); anything malformed — a
 * truncated header or question, a compression pointer in the question (it
 * can only point into the header), a label type other than a plain length, a
 * name over 255 bytes, more or fewer than one question — gets FORMERR, or
 * nothing when even its header is incomplete. Nothing here throws.
 */
import type { Udp, UdpSock } from "../hal/hal";

/** Seconds a client may keep an answer: short, so that once the board joins a network names resolve for real again soon. */
export const DNS_TTL = 30;
/** The answer record after the question: the name as a pointer to the question (offset 12), type A, class IN, the TTL, 4 bytes of address follow. */
const TAIL = new Uint8Array([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, DNS_TTL, 0, 4]);

/** The classic DNS message limit (RFC 1035 §2.3.4): every answer here is far smaller (at most 12 + 255 + 4 + 16 bytes). */
const MAX = 512;

/** A running responder: its socket, answer buffer, the address it gives out, and counters. */
export interface Dns {
  sock: UdpSock;
  out: Uint8Array;
  /** The address every A query gets, as 4 bytes. */
  ip: Uint8Array;
  /** Queries answered, and packets dropped or refused (FORMERR, NOTIMP, responses, runts). */
  answered: number;
  refused: number;
}

/** "192.168.4.1" as 4 bytes, or null if it is not a dotted IPv4 address. */
export function ipBytes(ip: string): Uint8Array | null {
  const p = ip.split(".");
  if (p.length !== 4) return null;
  const b = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = +p[i];
    if (!/^[0-9]+$/.test(p[i]) || n > 255) return null;
    b[i] = n;
  }
  return b;
}

/** A header-only answer to query `q` with RCODE `rcode` (1 FORMERR, 4 NOTIMP): the id and opcode kept, no records. */
function headerOnly(q: Uint8Array, out: Uint8Array, rcode: number): number {
  out[0] = q[0];
  out[1] = q[1];
  out[2] = 0x80 | (q[2] & 0x79); // QR, the opcode and RD as asked
  out[3] = rcode;
  for (let i = 4; i < 12; i++) out[i] = 0;
  return 12;
}

/**
 * The answer to query `q[0..n)`, written into `out` (at least 512 bytes): its
 * length, or 0 when nothing is to be sent. Pure: no allocation, no exception.
 */
export function dnsAnswer(q: Uint8Array, n: number, out: Uint8Array, ip: Uint8Array): number {
  if (n < 12 || q[2] & 0x80) return 0; // a runt, or a response: never answered
  if (q[2] & 0x78) return headerOnly(q, out, 4); // opcode other than QUERY: NOTIMP
  if (q[4] !== 0 || q[5] !== 1) return headerOnly(q, out, 1); // exactly one question
  let i = 12;
  for (;;) {
    if (i >= n) return headerOnly(q, out, 1);
    const len = q[i];
    if (len === 0) break;
    if (len & 0xc0) return headerOnly(q, out, 1); // a pointer (or a reserved label type) in the question
    i += len + 1;
    if (i - 12 > 254) return headerOnly(q, out, 1); // the name, with its final zero, is over 255 bytes
  }
  const end = i + 5; // the zero, QTYPE, QCLASS
  if (end > n) return headerOnly(q, out, 1);
  const type = (q[i + 1] << 8) | q[i + 2];
  const cls = (q[i + 3] << 8) | q[i + 4];
  const a = (type === 1 || type === 255) && (cls === 1 || cls === 255);
  out[0] = q[0];
  out[1] = q[1];
  out[2] = 0x84 | (q[2] & 0x01); // QR, AA, RD as asked
  out[3] = 0; // NOERROR
  out[4] = 0;
  out[5] = 1;
  out[6] = 0;
  out[7] = a ? 1 : 0;
  for (let k = 8; k < 12; k++) out[k] = 0;
  out.set(q.subarray(12, end), 12);
  let o = end;
  if (a) {
    out.set(TAIL, o);
    out.set(ip, o + 12);
    o += 16;
  }
  return o;
}

/** Answer DNS on UDP `port` with address `ip` (the access point's); null if the port cannot be bound or `ip` is not an IPv4 address. */
export function dnsStart(udp: Udp, port: number, ip: string): Dns | null {
  const b = ipBytes(ip);
  if (!b) return null;
  const d = { out: new Uint8Array(MAX), ip: b, answered: 0, refused: 0 } as Dns;
  const sock = udp.bind(port, function (q, addr, from) {
    const k = dnsAnswer(q, q.length, d.out, d.ip);
    if (k && d.out[3] === 0) d.answered++;
    else d.refused++;
    if (k) d.sock.send(d.out, 0, k, addr, from);
  });
  if (!sock) return null;
  d.sock = sock;
  return d;
}

/** Stop answering (the access point went down). */
export function dnsStop(d: Dns): void {
  d.sock.close();
}
