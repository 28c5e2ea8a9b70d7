/**
 * The hardware abstraction layer: the only boundary between the portable core
 * (src/) and a platform (hal/espruino.ts on boards, hal/sim.ts in tests, the
 * emulator's shim on the desktop). Interfaces only.
 *
 * Rules of the boundary:
 * - Callbacks in, plain values out. No Promises, no exceptions across it: a
 *   failure is a return value (negative number, null, false) or an error
 *   callback.
 * - A HAL never calls back into the core re-entrantly from inside a call the
 *   core made to it (e.g. `write()` never calls `writable()`); callbacks come
 *   from the platform's own event context (a socket event, a timer).
 * - Bytes cross as Uint8Array; a view handed across is valid only until the
 *   call returns.
 */

/** Socket error codes passed to `SockHandler.closed` and returned by `Net.listen`. */
export const enum SockErr {
  /** Orderly close. */
  None = 0,
  /** The peer reset the connection. */
  Reset = -1,
  /** Connection refused / could not connect. */
  Refused = -2,
  /** Any other socket or stack error. */
  Other = -3,
  /** Address/port already in use (listen). */
  InUse = -4,
}

/** What a platform tells the core about one socket. Set once per socket. */
export interface SockHandler {
  /** Bytes, or the end of the stream, are ready to `read()`. */
  readable(): void;
  /** `write()` may take more bytes now (also: an outgoing socket is connected). */
  writable(): void;
  /** The socket is gone (peer reset, stack error, or after `close()` finished). `err` is a SockErr. Nothing follows. */
  closed(err: number): void;
  /**
   * Optional: received bytes as the string they arrived in (char codes 0-255), offered before they are queued, only
   * while nothing else is unread: true if the core took them all (they are then not read()), false to have them
   * queued as usual (readable() follows). Platforms whose data arrives as strings save a copy; others never call it.
   */
  data?(s: string): boolean;
}

/** One TCP socket. */
export interface Sock {
  /**
   * Copy up to `len` received bytes into `dst` at `off`: count copied, 0 if none yet, -1 once the peer half-closed
   * and every byte was read, -2 once every byte was read and the platform dropped what came after: a peer that sent
   * more than it may hold unread (the interpreter cannot pause a socket). Input stops there, at a byte boundary:
   * what was read is intact, nothing more arrives; the socket still sends.
   */
  read(dst: Uint8Array, off: number, len: number): number;
  /** Offer bytes to send: returns how many were taken (0..len); offer the rest again after `writable()`. */
  write(src: Uint8Array, off: number, len: number): number;
  /** Optional: take a whole string of char codes 0-255 now (true), or none of it (false: use write()). */
  send?(s: string): boolean;
  /** Half-close: send FIN once everything taken has gone; reading goes on. */
  shutdown(): void;
  /** Release the socket: taken bytes are still flushed, then FIN; unread input is drained and discarded (lingering close) so the peer never sees a reset that would destroy the response. No callbacks after this call. */
  close(): void;
  /** The peer's address as "ip:port", for logs. */
  readonly peer: string;
}

/** A listening socket. */
export interface Listener {
  /** Stop accepting; established sockets are unaffected. */
  close(): void;
}

/** TCP. */
export interface Net {
  /** Listen on `port`; `accept` is called for each new connection and returns its handler, or null to refuse it (the socket is then closed). Returns null and reports the SockErr through `err` if the port cannot be bound. */
  listen(port: number, accept: (s: Sock) => SockHandler | null, err: (code: number) => void): Listener | null;
  /** Open an outgoing connection; its first `writable()` means connected, `closed(err)` means it failed. Null if no socket could be created. */
  connect(host: string, port: number, h: SockHandler): Sock | null;
}

/** A bound UDP socket. */
export interface UdpSock {
  /** Send `data[off..off+len)` as one datagram to `addr`:`port`; false if it could not be queued. (ESP32 sends it whole: only what it receives is cut, at 528 bytes.) */
  send(data: Uint8Array, off: number, len: number, addr: string, port: number): boolean;
  /** Unbind; no callbacks after this call. */
  close(): void;
}

/** UDP (datagrams: unreliable, unordered, possibly duplicated). */
export interface Udp {
  /** Bind `port` on every interface; `recv` gets each datagram (a view valid until it returns) and its sender: on ESP32 at most its first 528 bytes (the rest is lost). Null if the port cannot be bound. */
  bind(port: number, recv: (data: Uint8Array, addr: string, port: number) => void): UdpSock | null;
}

/** Monotonic time and one-shot timers. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  now(): number;
  /** Call `fn` once after `ms` milliseconds; returns a handle for `cancel`. */
  after(ms: number, fn: () => void): number;
  /** Cancel a pending `after`; harmless if it already ran. */
  cancel(handle: number): void;
  /** Call `fn` soon, after the current event has finished (the next loop turn). */
  soon(fn: () => void): void;
}

/** Byte/string conversion the platform does natively (binary-safe, one char per byte, codes 0-255). */
export interface Codec {
  /** The bytes `u8[from..to)` as a string of char codes 0-255. */
  str(u8: Uint8Array, from: number, to: number): string;
  /** A string of char codes 0-255 as bytes (codes above 255 are truncated to their low byte). Read them, never write into them: they may be a view of the string's own storage. */
  bytes(s: string): Uint8Array;
  /** Write the char codes of `s` (0-255) into `dst` from `off`; `s` must fit. No allocation where the platform can avoid one. */
  put(dst: Uint8Array, off: number, s: string): void;
}

/** Flash storage of named files (Espruino's `Storage`). Names are at most 28 characters. */
export interface Storage {
  /** The whole file, or null if it does not exist. */
  read(name: string): Uint8Array | null;
  /** The file from byte `offset` on, as a string of char codes 0-255 (on the device a view of the flash, no copy in RAM: hash it whole, or run it), or null if it does not exist. */
  text(name: string, offset: number): string | null;
  /** Write `data` at `offset` of a file of total `size` (size only on the first write of a file); false if the flash is full or the name is invalid. */
  write(name: string, data: Uint8Array, offset: number, size: number): boolean;
  /** Delete a file; false if it did not exist. */
  erase(name: string): boolean;
  /** Names of the files, optionally those matching `prefix`. */
  list(prefix: string): string[];
  /** Bytes new files can take: the free space plus what erased files left (a write that needs it compacts first). */
  free(): number;
}

/** One network found by a scan. */
export interface WifiNet {
  ssid: string;
  /** Signal strength, dBm. */
  rssi: number;
  channel: number;
  /** "open", "wep", "wpa", "wpa2", "wpa_wpa2", "wpa3" … */
  auth: string;
}

/** The radio. */
export interface Wifi {
  /** Scan; `done` is called exactly once, with an error string or the list. Only one scan at a time: a second call while one runs fails with "busy". */
  scan(done: (err: string | null, list: WifiNet[] | null) => void): void;
  /** Join a network as a station; `done(err)` once, null on success. */
  connect(ssid: string, password: string, done: (err: string | null) => void): void;
  /** Leave the station network. */
  disconnect(): void;
  /** Start an access point (open when `password` is ""). */
  startAP(ssid: string, password: string, done: (err: string | null) => void): void;
  /** Stop the access point. */
  stopAP(): void;
  /** Current state: station status, IP addresses, the joined SSID and its signal (dBm; 0 when not joined or unknown). */
  status(): { sta: string; ssid: string; ip: string; apIp: string; rssi: number };
  /** Station events, for one listener: `lost` (the joined network went away; `info` says why) and `up` (joined again, or joined: `info` is the address). */
  on(fn: (ev: 'lost' | 'up', info: string) => void): void;
  /** The name the board gives the network's DHCP server (routers list it) and answers to as `<name>.local`. */
  hostname(name: string): void;
  /** The chip's MAC address, "aa:bb:cc:dd:ee:ff" ("" if unknown). */
  mac(): string;
  /** Forget the interpreter's own saved Wi-Fi configuration (on ESP32 `Wifi.save` keeps passwords in clear and restores them at boot, after the firmware, overriding it). */
  forget(): void;
}

/** Memory as the platform counts it. */
export interface Mem {
  /** Units the platform counts in (JsVars on Espruino, bytes elsewhere), used and total. */
  usage(): { used: number; total: number; unit: string };
}

/** Hashes the platform computes natively. */
export interface Crypto {
  /** SHA-256 of the bytes (or of a string of char codes 0-255): 32 bytes. */
  sha256(data: Uint8Array | string): Uint8Array;
  /** PBKDF2-HMAC-SHA256 of `password` (char codes 0-255) with `salt`: `bytes` bytes (a multiple of 4). */
  pbkdf2(password: string, salt: Uint8Array, iterations: number, bytes: number): Uint8Array;
}

/** The device itself. */
export interface Sys {
  /** Restart the device now (a power cycle: the code boots again from flash). */
  reboot(): void;
  /** Turn the interpreter's own console on the network (telnet) on or off; false if the board has none. */
  netConsole(on: boolean): boolean;
  /** What the boot loader (firmware/loader.ts) ran: the app's slot, and whether it is on trial (the app clears `trial` once it has confirmed itself); absent when the app was not started by the loader. */
  boot?: BootInfo;
}

/** The boot loader's word to the app it started. */
export interface BootInfo {
  slot: number;
  trial: boolean;
}

/** Everything the core and the firmware may use of a platform. `storage`, `wifi`, `udp`, `crypto`, `random` and `sys` may be absent. */
export interface Hal {
  net: Net;
  clock: Clock;
  codec: Codec;
  mem: Mem;
  storage?: Storage;
  wifi?: Wifi;
  udp?: Udp;
  crypto?: Crypto;
  /** `n` unpredictable bytes (the chip's hardware RNG on boards, the OS's on the emulator; seeded in the simulator): for session tokens and salts, never Math.random. */
  random?(n: number): Uint8Array;
  sys?: Sys;
  /** Write a line to the console. */
  log(line: string): void;
}
