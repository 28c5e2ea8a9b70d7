/** Types of the desktop emulator (implemented in plain JavaScript in this folder: see README.md). */

/** One network the simulated radio can see. */
export interface WifiNetwork {
  ssid: string;
  /** Needed to join unless the network is open. */
  password?: string;
  /** open | wep | wpa | wpa2 | wpa_wpa2 (default: wpa2 with a password, open without). */
  authMode?: string;
  rssi?: number;
  channel?: number;
  /** BSSID, "xx:xx:xx:xx:xx:xx". */
  mac?: string;
}

/** The simulated radio. */
export interface WifiOptions {
  networks?: WifiNetwork[];
  /** Scan duration, ms (1500). */
  scanMs?: number;
  /** connect() → associated, ms (1000). */
  connectMs?: number;
  /** associated → IP and callback, ms (200). */
  dhcpMs?: number;
  /** startAP() → callback, ms (50). */
  apMs?: number;
  /** Station IP once joined (192.168.1.77). */
  ip?: string;
  gw?: string;
  netmask?: string;
  /** Station MAC. */
  mac?: string;
  /** Call connect's callback with the reason on failure (later firmware; 2v29 never calls it then). */
  failCallback?: boolean;
  /** Power on with the default open AP when no .wificfg is saved (2v29: true). */
  defaultAP?: boolean;
}

/** A board profile, or part of one over the ESP32 defaults. */
export interface BoardProfile {
  name: string;
  /** JsVars in total. */
  vars: number;
  /** Bytes per JsVar. */
  blocksize: number;
  /** Bytes of the Storage area. */
  storage: number;
  pageSize: number;
  /** Bytes per socket send/receive per idle pass (536). */
  chunk: number;
  /** Sockets at once, listeners included (10). */
  maxSockets: number;
  /** Bytes in flight before a socket stops sending (lwIP TCP_SND_BUF). */
  sndBuf: number;
  /** Unread bytes before the peer is throttled (lwIP TCP_WND). */
  rcvWnd: number;
  /** Built-in modules of the real board. */
  modules: string[];
  /**
   * `Wifi.connect` keeps a running access point and `startAP` a station (AP+STA), as 2v29 does on ESP32 and S3.
   * false (esp32c3): its build switches instead (`CONFIG_IDF_TARGET_ESP32C3` in jswrap_esp32_network.c):
   * connect() turns the access point off, startAP() from station mode turns the station off.
   */
  apsta: boolean;
  /** Addresses of the hardware RNG register (ESP-IDF's WDEV_RND_REG): `peek32` there gives 32 random bits from the OS. */
  rng: number[];
  /** Flash address of the Storage area (0x320000): `peek8/16/32` of an address up to 0x10000000 reads Storage at `addr - storageAddr`. */
  storageAddr: number;
}

export interface EmulatorOptions {
  /** Path of the built bundle to run. */
  bundle?: string;
  /** The bundle's text (instead of `bundle`). */
  code?: string;
  /** 'storage' (default): write the bundle as the boot file and boot from Storage, like a flashed board. 'ram': evaluate it once, like code uploaded to RAM. */
  boot?: 'storage' | 'ram';
  /** Storage name the bundle is written to (default '.bootcde'). */
  bootFile?: string;
  /** Host port for the firmware's port 80 and 8080 listeners; 0 = ephemeral (the default). */
  port?: number;
  /** Device port → host port, for other listeners (unmapped ports use the same number on the host). */
  portMap?: Record<number, number>;
  /** Host UDP port for the device's UDP port 53 (its DNS), bound at start; 0 = any free port (the default; the CLI's is 5353). */
  dnsPort?: number;
  /** Device UDP port → host UDP port, for other `dgram` ports (unmapped ports use the same number on the host; 0 = any free port). */
  udpPortMap?: Record<number, number>;
  /** Host address to bind and accept on (127.0.0.1). */
  host?: string;
  /** Folder holding the Storage image (storage.bin); absent: in memory only. */
  data?: string;
  /** The radio, or the path of a JSON file with it (or with an array of networks). */
  wifi?: WifiOptions | WifiNetwork[] | string;
  /** 'esp32' (default), 'esp32c3', 'esp32s3', 'emulator', or a partial profile. */
  board?: string | Partial<BoardProfile>;
  /** Override of the Storage size, bytes. */
  storageSize?: number;
  /** What to do with code Espruino cannot run: 'error' (default: refuse it), 'warn', 'off'. */
  check?: 'error' | 'warn' | 'off';
  /** Reject startEmulator if the boot code threw. */
  failOnBootError?: boolean;
  /** Let net.connect, and UDP datagrams, reach hosts other than loopback. */
  allowRemote?: boolean;
  /** Receives each console line instead of stdout. */
  log?: (line: string) => void;
  /** Do not echo the console to stdout. */
  quiet?: boolean;
  /** Prefix of each echoed console line. */
  prefix?: string;
  /** process.memory() refreshes its estimate, in the background once the network is quiet, when older than this, ms (1000); 0: on every call. */
  memoryTtl?: number;
  /** Interpreter state assumed present after boot, JsVars (150). */
  memoryBaseline?: number;
  /** Idle passes run back to back in one host turn (64). */
  maxPasses?: number;
}

/** Host-side view of the Storage area. */
export interface HostStorage {
  /** A file's bytes, or null. */
  read(name: string): Buffer | null;
  /** A file as a string of char codes 0-255, or null. */
  readString(name: string): string | null;
  /** Write a whole file (Storage.write semantics; throws when full). */
  write(name: string, data: string | Uint8Array): boolean;
  erase(name: string): boolean;
  list(): string[];
  getFree(): number;
  stats(): { totalBytes: number; freeBytes: number; fileBytes: number; fileCount: number; trashBytes: number; trashCount: number };
  /** Bytes programmed into the flash since the emulator started (erasures included). */
  programmed(): number;
  /** Cut the power once `bytes` more bytes are programmed (whole 32-bit words reach the flash; that write is torn, later ones never happen); resolves when it fires. Then `reboot()` (the power is back). */
  cutPowerAfter(bytes: number): Promise<void>;
  /** Path of the image on disk, or null. */
  file: string | null;
}

/** Host-side control of the simulated radio. */
export interface WifiControl {
  /** A client joins the access point (`sta_joined`). */
  joinAP(mac: string): void;
  /** A client leaves the access point (`sta_left`). */
  leaveAP(mac: string): void;
  /** Replace the networks in range. */
  setNetworks(list: WifiNetwork[]): void;
  /** The station loses its network (`disconnected`, ESP-IDF reason code, default 200 BEACON_TIMEOUT); the network stays in range. */
  dropStation(reason?: number): void;
  /**
   * The network goes away (switched off, out of range): gone from scans, joins fail with reason 201 NO_AP_FOUND,
   * and a station joined to it is dropped (`disconnected`, reason 200 BEACON_TIMEOUT). Until `networkBack`.
   */
  networkGone(ssid: string): void;
  /** The network is back in range: scans list it and joins work again. 2v29 does not rejoin by itself: the firmware must call connect. */
  networkBack(ssid: string): void;
  /** The next scan never calls back, and later scans throw "A scan is already in progress" (2v29 after an early ESP-IDF error). */
  hangScan(): void;
  state(): { mode: string; station: string; ssid: string; ip: string; ap: string | null; scanning: boolean; gone: string[] };
}

/** A running emulator. */
export interface Emulator {
  /** Host port of the firmware's main listener (device port 80, else 8080, else the first), 0 if none. */
  readonly port: number;
  /** Device port → host port of every bound listener. */
  readonly ports: Record<number, number>;
  /** Device UDP port → host UDP port of every bound `dgram` port (53, the DNS port, from the start). */
  readonly udpPorts: Record<number, number>;
  /** http://host:port of the main listener. */
  readonly url: string;
  /** The sandbox's global object. */
  readonly context: any;
  readonly board: BoardProfile;
  /** Console lines so far. */
  readonly logs: string[];
  /** Uncaught exceptions so far. */
  readonly errors: string[];
  /** Release everything (sockets, ports, files). */
  stop(): Promise<void>;
  /** Power-cycle: new interpreter, boot from Storage (.boot0-3 then .bootrst or .bootcde), radio restored from .wificfg. */
  reboot(): Promise<void>;
  /** As reset(): new interpreter, .boot0-3 and .bootrst only. */
  reset(): Promise<void>;
  /** Wait for the host binds started so far. */
  ready(): Promise<void>;
  /**
   * The telnet console's mode as `require("TelnetServer").setOptions({mode})` last set it in this life of the
   * interpreter: 'on' after every power-on, reset() and load() (2v29's default), always 'off' on a board
   * without TelnetServer (esp32c3). Recorded only: nothing listens on port 23.
   */
  telnet(): 'on' | 'off';
  /** Evaluate code in the sandbox (like the device console). */
  eval(code: string): any;
  /** process.memory() as the firmware would see it (an estimate). */
  memory(): { free: number; usage: number; total: number; history: number; gc: number; gctime: number; blocksize: number };
  storage: HostStorage;
  wifi: WifiControl;
}

/** Boot the emulator; resolves once the listeners opened at boot are bound on the host. */
export function startEmulator(options?: EmulatorOptions): Promise<Emulator>;
