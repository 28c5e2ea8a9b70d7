/**
 * HMAC-SHA256 (RFC 2104) over the HAL's SHA-256: 2v29's `crypto` has SHA-256
 * but no HMAC. Its SHA-256 hashes one whole input per call, so hmacSha256
 * joins the message to the padded key in RAM: fit for short messages. A whole
 * file is signed without that copy by storing the inner pad in front of it in
 * flash and hashing the file there (firmware/update.ts, with hmacPads).
 */
import type { Crypto } from "../hal/hal";

/** Bytes (or a string of char codes 0-255) as a string of char codes 0-255. */
function chars(b: Uint8Array | string): string {
  if (typeof b === "string") return b;
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** The key's inner and outer pads (64 chars each): HMAC(k, m) = H(opad + H(ipad + m)). */
export function hmacPads(c: Crypto, key: Uint8Array | string): [string, string] {
  let k = chars(key);
  if (k.length > 64) k = chars(c.sha256(k));
  let ipad = "";
  let opad = "";
  for (let i = 0; i < 64; i++) {
    const b = i < k.length ? k.charCodeAt(i) : 0;
    ipad += String.fromCharCode(b ^ 0x36);
    opad += String.fromCharCode(b ^ 0x5c);
  }
  return [ipad, opad];
}

/** HMAC-SHA256 of `msg` under `key` (each bytes, or a string of char codes 0-255): 32 bytes. */
export function hmacSha256(c: Crypto, key: Uint8Array | string, msg: Uint8Array | string): Uint8Array {
  const p = hmacPads(c, key);
  return hmacOuter(c, p[1], c.sha256(p[0] + chars(msg)));
}

/** The HMAC from the outer pad and the inner hash H(ipad + m). */
export function hmacOuter(c: Crypto, opad: string, inner: Uint8Array): Uint8Array {
  return c.sha256(opad + chars(inner));
}
