/**
 * The HAL's UDP on the Espruino 2v29 interpreter, over `require("dgram")`.
 *
 * Interpreter facts this relies on (libs/network/jswrap_net.c, socketserver.c
 * and esp32/network_esp32.c at the 2v29 release):
 * - `bind(port)` throws "Unable to create socket" when the port is taken or
 *   lwIP has none of its 10 sockets left; that socket then closes by itself;
 * - `message` hands a binary string (one char per byte) and `{address, port,
 *   size}`; ESP32 reads at most 528 bytes of a datagram (its 536-byte network
 *   chunk less an 8-byte header), the rest is lost;
 * - `send(str, port, addr)` copies the string into the socket's queue at once,
 *   and throws "This socket is closed" after `close()`; given a Uint8Array it
 *   would send the text "65,66,67", so bytes go through `E.toString`;
 * - the interpreter may close a bound socket on its own (an empty datagram
 *   read by the second of its two reads per idle pass looks like a closed
 *   connection): the port is then bound again on a new socket, so whatever
 *   answers on it does not go silently deaf.
 * Small on purpose (the C3 has 4 095 variables): one closure set per bound port.
 */
import type { Udp } from './hal';
import type { EspDgram, EspDgramSocket, EspEnv } from './espruino-types';
import { optional } from './espruino';

/** UDP over the interpreter's `dgram`, or null where the build has no such module. */
export function espruinoUdp(env: EspEnv): Udp | null {
  const dgram = optional<EspDgram>(env, 'dgram');
  if (!dgram) return null;
  const E = env.E;
  return {
    bind(port, recv) {
      /** The interpreter's socket bound to `port` now (null while rebinding, and once the core closed it). */
      let cur: EspDgramSocket | null = null;
      let dead = false;
      /** A new socket on `port`; false if the interpreter refused it. */
      const open = (): boolean => {
        let s: EspDgramSocket | null = null;
        try {
          s = dgram.createSocket('udp4');
          // Listeners of a replaced or closed socket fall silent: its events may still be queued.
          s.on('message', (m, r) => {
            if (cur === s) recv(new Uint8Array(E.toArrayBuffer(m)), r.address, r.port);
          });
          s.on('close', () => {
            if (cur === s) again();
          });
          s.bind(port);
        } catch (x) {
          return false;
        }
        cur = s;
        return true;
      };
      /** The interpreter closed the socket by itself: bind the port again (from its close event, later from a timer). */
      const again = (): void => {
        cur = null;
        if (!dead && !open()) env.setTimeout(again, 1000);
      };
      if (!open()) return null;
      return {
        send(data, off, len, addr, p) {
          const s = cur;
          const m = s && E.toString(data.subarray(off, off + len));
          if (!s || m == null) return false;
          try {
            s.send(m, p, addr);
            return true;
          } catch (x) {
            return false;
          }
        },
        close() {
          const s = cur;
          dead = true;
          cur = null;
          try {
            if (s) s.close();
          } catch (x) {
            // offline: nothing left to close
          }
        },
      };
    },
  };
}
