/**
 * HMAC-SHA256 over the HAL's SHA-256 (firmware/hmac.ts) against the test
 * vectors of RFC 4231, section 4, and Node's own HMAC on random inputs.
 */
import { createHmac } from "crypto";
import fc from "fast-check";
import { Sim } from "../hal/sim";
import { hmacSha256 } from "../firmware/hmac";

const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const out = (b: Uint8Array) => Buffer.from(b).toString("hex");
const crypto = new Sim().crypto;

test.each([
  ["4.2 (case 1)", "0b".repeat(20), Buffer.from("Hi There").toString("hex"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
  ["4.3 (case 2: a key shorter than the block)", Buffer.from("Jefe").toString("hex"), Buffer.from("what do ya want for nothing?").toString("hex"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
  ["4.4 (case 3)", "aa".repeat(20), "dd".repeat(50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"],
  ["4.5 (case 4)", "0102030405060708090a0b0c0d0e0f10111213141516171819", "cd".repeat(50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"],
  ["4.7 (case 6: a key longer than the block)", "aa".repeat(131), Buffer.from("Test Using Larger Than Block-Size Key - Hash Key First").toString("hex"), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"],
  [
    "4.8 (case 7: a long key and a long message)",
    "aa".repeat(131),
    Buffer.from("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.").toString("hex"),
    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
  ],
])("RFC 4231 %s", (_name, key, data, mac) => {
  expect(out(hmacSha256(crypto, hex(key), hex(data)))).toBe(mac);
});

test("RFC 4231 4.6 (case 5: the output truncated to 128 bits)", () => {
  expect(out(hmacSha256(crypto, hex("0c".repeat(20)), Buffer.from("Test With Truncation", "latin1").toString("latin1"))).slice(0, 32)).toBe("a3b6167473100ee06e0c796c2955552b");
});

test("the same as Node's HMAC for any key and message, as bytes or as strings of char codes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 300 }), (k, m) => {
      const want = createHmac("sha256", k).update(m).digest("hex");
      expect(out(hmacSha256(crypto, k, m))).toBe(want);
      expect(out(hmacSha256(crypto, Buffer.from(k).toString("latin1"), Buffer.from(m).toString("latin1")))).toBe(want);
    }),
    { numRuns: 300 },
  );
});
