/**
 * The slice of the Espruino 2v29 API that hal/espruino.ts uses, as plain
 * exported types: nothing here is ambient, so no Espruino global leaks into
 * Node code (tests, tools) that shares the hal/ folder. Shapes follow
 * ../shared/ESPRUINO.md (measured) and the interpreter's documentation.
 */

/** A TCP socket from `require("net")`: strings only, no backpressure (`write` appends to an unbounded buffer). */
export interface EspSocket {
  /** Appends to the socket's send buffer; a Uint8Array would be sent as the text "65,66,67". */
  write(data: string): boolean;
  /** Flush what was written, then close. There is no `destroy()`. */
  end(data?: string): void;
  /** Listeners (and the connect callback) run from the event loop with `this` = the socket; `end` passes no argument. */
  on(ev: 'data', fn: (d: string) => void): void;
  on(ev: 'drain' | 'end', fn: () => void): void;
  on(ev: 'close', fn: (hadError: boolean) => void): void;
  on(ev: 'error', fn: (e: { code: number; message: string }) => void): void;
  /** Not set by the 2v29 interpreter (its network code has neither); hosts may set them. */
  remoteAddress?: string;
  remotePort?: number;
}

/** A listening server from `net.createServer`. */
export interface EspServer {
  listen(port: number): EspServer;
  close(): void;
}

/** `require("net")`. */
export interface EspNet {
  createServer(onConnect: (s: EspSocket) => void): EspServer;
  /** On the Linux build a failed connect throws synchronously; on ESP32 it arrives as an `error` event. */
  connect(opts: { host: string; port: number }, onConnect: () => void): EspSocket;
}

/** Who sent a datagram (`message`'s second argument). */
export interface EspRinfo {
  address: string;
  port: number;
  /** Bytes in the message (at most 528 on ESP32: longer datagrams arrive truncated). */
  size: number;
}

/**
 * A UDP socket from `require("dgram").createSocket("udp4")` (libs/network/jswrap_net.c, socketserver.c at 2v29).
 * Its events come from the event loop with `this` = the socket.
 */
export interface EspDgramSocket {
  /** Binds every interface; throws InternalError "Unable to create socket" when the port is taken or lwIP has no socket left (the socket then closes by itself). */
  bind(port: number, cb?: (s: EspDgramSocket) => void): EspDgramSocket;
  /** Queues one datagram; `msg` must be a string (a Uint8Array would be sent as the text "65,66,67"). Throws "This socket is closed" after close(). */
  send(msg: string, port: number, address: string): void;
  /** Closes once what was queued is sent: `end` and `close` follow (twice for a bound socket). */
  close(): void;
  /** `msg` is a binary string (char codes 0-255). */
  on(ev: 'message', fn: (msg: string, rinfo: EspRinfo) => void): void;
  on(ev: 'close', fn: (hadError: boolean) => void): void;
}

/** `require("dgram")`: every networked 2v29 build. */
export interface EspDgram {
  /** The type is ignored (always IPv4); an object is taken as options (`reuseAddr`). */
  createSocket(type: string): EspDgramSocket;
}

/** `require("Storage")`. Names longer than 28 characters are silently truncated. */
export interface EspStorage {
  write(name: string, data: string, offset?: number, size?: number): boolean;
  /** A memory-mapped view of the file's bytes (no copy), or undefined. */
  readArrayBuffer(name: string): ArrayBuffer | undefined;
  /** The file (from `offset`, `length` bytes) as a (memory-mapped) string, or undefined. */
  read(name: string, offset?: number, length?: number): string | undefined;
  erase(name: string): void;
  list(): string[];
  getFree(): number;
  /** Bytes free at the end and held by erased files (reclaimed by compaction), among others. */
  getStats?(): { freeBytes: number; trashBytes: number };
}

/** One access point as `Wifi.scan` reports it. */
export interface EspAp {
  ssid: string;
  rssi: number;
  /** A string on 2v29 (its ESP32 scan code formats it). */
  channel: number | string;
  authMode: string;
}

/** `require("Wifi")` (ESP32). */
export interface EspWifi {
  scan(cb: (err: unknown, list?: EspAp[]) => void): void;
  connect(ssid: string, opts: { password: string }, cb: (err: unknown) => void): void;
  disconnect(cb?: () => void): void;
  startAP(ssid: string, opts: { password?: string; authMode: string }, cb: (err: unknown) => void): void;
  /** `rssi` (dBm) while the station is connected. */
  getStatus(): { station?: string; ap?: string; rssi?: number };
  getDetails(): { ssid?: string };
  getIP(): { ip?: string; mac?: string };
  getAPIP(): { ip?: string };
  /** `disconnected` {ssid, mac, reason (a numeric code as a string on 2v29), msg}: the only sign that a join failed, or that the joined network went away. */
  on(ev: 'disconnected', fn: (d: { ssid?: string; reason?: string | number; msg?: string }) => void): void;
  /** `connected` {ip, netmask, gw}: the station has an address. */
  on(ev: 'connected', fn: (d: { ip?: string }) => void): void;
  stopAP(cb?: () => void): void;
  /** The DHCP hostname, and the mDNS name the ESP32 build answers to. */
  setHostname(name: string): void;
  /** `save("clear")` erases the interpreter's own saved configuration (.wificfg). */
  save(what?: string): void;
}

/** The `E` object: native byte/string conversion. */
export interface EspE {
  /**
   * The bytes of the arguments as one flat string of char codes 0-255; undefined when
   * memory is short. Given a single view of a whole flat buffer it returns that
   * buffer's backing string itself, without a copy.
   */
  toString(...parts: (Uint8Array | string)[]): string | undefined;
  toUint8Array(s: string): Uint8Array;
  /** An ArrayBuffer over the string's own storage: no copy (a few µs where toUint8Array costs tens); never write to it. */
  toArrayBuffer(s: string): ArrayBuffer;
}

/** `require("crypto")` (ESP32, C3, S3 and the Linux build): each call hashes its whole input at once; results are ArrayBuffers. */
export interface EspCrypto {
  SHA256(data: string | Uint8Array | ArrayBuffer): ArrayBuffer;
  /** `keySize` is in 32-bit words (default 4), `iterations` default 1, `hasher` default 'SHA1'. */
  PBKDF2(passphrase: string, salt: string | Uint8Array, options: { keySize: number; iterations: number; hasher: string }): ArrayBuffer;
}

/** `require("TelnetServer")` (ESP32/S3 builds): the interpreter's console on TCP port 23, on by default. */
export interface EspTelnet {
  setOptions(o: { mode: 'on' | 'off' }): void;
}

/** The chip-level globals the firmware's services use (peek32, E.reboot, E.hwRand). */
export interface EspChip {
  peek32(addr: number): number;
  reboot(): void;
  hwRand(): number;
}

/** The interpreter's globals the HAL uses; tests and hosts may supply their own. */
export interface EspEnv {
  /** The interpreter's `require`: throws when a module is absent (the Linux build has no `Wifi`). */
  require(name: string): unknown;
  E: EspE;
  /** Seconds, float; wall-clock (jumps when the time is set). */
  getTime(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** `process.memory(false)`: the interpreter's counts without a garbage collection pass first (`process.memory()` runs one). */
  memory(): { usage: number; total: number };
  log(line: string): void;
  /** `dst.set(s, off)`: 2v29's typed-array set() takes a string and copies its char codes (measured; a
   *  standard engine would write zeros), as many as fit. Codec.put's arguments, so it serves as that. */
  put(dst: Uint8Array, off: number, s: string): void;
  /** peek32, E.reboot, E.hwRand: absent means the interpreter's own globals (espruino-services.ts). */
  chip?: EspChip;
  /** The boot loader's word (`global.__boot`): absent means read that global; null means no loader. */
  boot?: { slot: number; trial: boolean } | null;
}
