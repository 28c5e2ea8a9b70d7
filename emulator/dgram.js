// @ts-check
/**
 * `require("dgram")` as Espruino 2v29 runs it on ESP32, over real host UDP
 * sockets on loopback. Read, not copied, from libs/network/jswrap_net.c,
 * socketserver.c and esp32/network_esp32.c at the release commit 6106910b8:
 *
 * - `createSocket(type, cb)`: the type is ignored (an object is taken as the
 *   options: `reuseAddr`); the socket joins the interpreter's client list. `cb`
 *   is its `connect` listener, called on the first idle pass once the socket
 *   has an lwIP socket (bound, or after its first send), with a `drain`.
 * - `bind(port, cb)`: creates and binds an lwIP socket (SO_REUSEADDR only with
 *   `reuseAddr`) and adds the socket to the server list; `cb(socket)` is
 *   queued even when binding failed. A port taken: prints "ERROR: Socket bind
 *   failed", throws InternalError "Unable to create socket", and the socket
 *   closes on the next pass. ⚠ All 10 lwIP sockets in use: ESP32's
 *   createsocket returns 0 instead of -1, so bind prints "ERROR: Socket
 *   creation failed", does NOT throw, and leaves a socket that never receives
 *   and whose sends are lost.
 * - `send(msg, port, address)` or `send(msg, offset, length, port, address)`:
 *   `String(msg)` (a Uint8Array goes out as "65,66,67") is queued with an
 *   8-byte header; an unbound socket gets an lwIP socket at its first send
 *   (an ephemeral port). After `close()`: throws "This socket is closed".
 * - Per idle pass a bound socket is visited twice (server list, then client
 *   list): each visit receives one datagram and sends one. A received datagram
 *   is read into the 536-byte network chunk after an 8-byte header: **at most
 *   528 bytes** arrive, the rest is lost, and `rinfo.size` says 528. It is a
 *   queued `message` event `(msg, {address, port, size})`, `msg` a binary string.
 *   ⚠ An empty datagram makes recv() return 0, taken as "connection closed":
 *   ignored on the server-list read, it closes the socket on the client-list
 *   read (the second datagram read in a pass).
 * - `close()`: closes once the queue is sent; `end` then `close(false)` are
 *   queued, twice for a bound socket (it leaves both lists) unless datagrams
 *   were still queued at close(). `error` is never emitted (ESP32 reports
 *   every failure as -1, "closed").
 * - lwIP holds at most 6 datagrams per socket (CONFIG_LWIP_UDP_RECVMBOX_SIZE):
 *   more are dropped. Every UDP socket with an lwIP socket counts against the
 *   board's 10 sockets, with the TCP ones.
 * - No `address()`, `setBroadcast()`, `ref()`; `addMembership` is accepted and
 *   ignored.
 *
 * Host side: a device port is a host UDP socket on `host` at the mapped port
 * (53 → `dnsPort`, else the same number; 0 = any free port), kept across
 * reboots like the TCP ports. Datagrams to 127.0.0.1 (or localhost) at a
 * device port the emulator holds go to its host port; other loopback ports are
 * reached as they are; other addresses only with `allowRemote` (else they are
 * lost, as are names that are not addresses). A datagram the device sends to
 * itself arrives from its device port.
 */
'use strict';
const hostDgram = require('dgram');

/**
 * Device port → host port of every host port bound so far (TCP listeners and UDP sockets keep the same table).
 * @param {Map<number, { devicePort: number, hostPort: number }>} ports
 */
function portTable(ports) {
  /** @type {Record<number, number>} */
  const r = {};
  for (const hp of ports.values()) if (hp.hostPort) r[hp.devicePort] = hp.hostPort;
  return r;
}

/** Wait for the host binds started so far (and forget them); rejects with the first failure. @param {Promise<unknown>[]} binding */
async function settle(binding) {
  const b = binding.slice();
  binding.length = 0;
  await Promise.all(b);
}

/**
 * @typedef {object} Datagram
 * @property {Buffer} buf
 * @property {string} address
 * @property {number} port
 */

/**
 * @typedef {object} UdpHostPort  the host socket standing for one device port
 * @property {number} devicePort
 * @property {number} hostPort   0 until bound
 * @property {hostDgram.Socket} sock
 * @property {DSock[]} owners    emulated sockets bound to it (several only with reuseAddr); the first receives
 * @property {Promise<void>} ready
 * @property {Error | null} error
 */

/**
 * @typedef {object} DSock
 * @property {number} id
 * @property {any} obj
 * @property {boolean} reuse     createSocket({reuseAddr: true})
 * @property {UdpHostPort | null} hp   bound: the device port it holds
 * @property {hostDgram.Socket | null} hs  its ephemeral host socket (sent before any bind, or bound to port 0)
 * @property {boolean} dead      "bound" to the fd 0 that ESP32 hands out when lwIP has no socket left
 * @property {boolean} inServer  in the interpreter's server list (bound)
 * @property {boolean} inClient  in its client list (from createSocket until it closes there)
 * @property {Datagram[]} rx
 * @property {{ data: string, host: string, port: number }[]} tx
 * @property {boolean} connected connect event sent
 * @property {boolean} cls       close() asked, or its lwIP socket was closed
 * @property {boolean} closeNow
 * @property {boolean} closed    out of both lists
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** lwIP's receive mailbox per UDP socket (CONFIG_LWIP_UDP_RECVMBOX_SIZE in targets/esp32/IDF4/sdkconfig*). */
const RECVMBOX = 6;

class Dgram {
  /**
   * @param {object} o
   * @param {import('./boards').Board} o.board
   * @param {string} o.host                     host address to bind
   * @param {Record<number, number>} o.portMap  device UDP port → host port
   * @param {boolean} o.allowRemote
   * @param {(line: string) => void} o.print
   * @param {() => number} o.tcpInUse           sockets the TCP side holds
   */
  constructor(o) {
    this.board = o.board;
    this.host = o.host;
    this.portMap = o.portMap;
    this.allowRemote = o.allowRemote;
    this.print = o.print;
    this.tcpInUse = o.tcpInUse;
    /** @type {import('./loop').Loop | null} */
    this.loop = null;
    /** @type {(type: string, msg: string) => Error} */
    this.err = (t, m) => new Error(m);
    /** @type {(obj: any, ev: string) => any} */
    this.lis = () => undefined;
    /** @type {(o: object) => any} */
    this.obj = (o) => o;
    /** @type {Map<number, UdpHostPort>} */
    this.ports = new Map();
    /** @type {DSock[]} */
    this.socks = [];
    /** @type {Map<number, DSock>} */
    this.byId = new Map();
    this.nextId = 1;
    /** @type {Promise<void>[]} */
    this.binding = [];
    this.stopped = false;
    /** Called at each datagram from the host (the memory estimate waits for a quiet network). */
    this.activity = () => {};
  }

  /**
   * Serve a (new) sandbox.
   * @param {{ loop: import('./loop').Loop, err: (type: string, msg: string) => Error, lis: (obj: any, ev: string) => any, obj: (o: object) => any }} rt
   */
  attach(rt) {
    this.loop = rt.loop;
    this.err = rt.err;
    this.lis = rt.lis;
    this.obj = rt.obj;
  }

  kick() {
    if (this.loop) this.loop.kick();
  }

  /** UDP sockets holding an lwIP socket. */
  inUse() {
    let n = 0;
    for (const s of this.socks) if ((s.hp && !s.dead) || s.hs) n++;
    return n;
  }

  /** @param {any} obj @param {boolean} reuse */
  create(obj, reuse) {
    /** @type {DSock} */
    const s = {
      id: this.nextId++, obj, reuse, hp: null, hs: null, dead: false, inServer: false, inClient: true,
      rx: [], tx: [], connected: false, cls: false, closeNow: false, closed: false,
    };
    this.socks.push(s);
    this.byId.set(s.id, s);
    return s.id;
  }

  /**
   * `socket.bind(port)`: throws as the interpreter does (the caller still queues the bind callback).
   * @param {number} id @param {number} port
   */
  bind(id, port) {
    const s = this.byId.get(id);
    if (!s || s.closed) return;
    port = (port | 0) & 0xffff;
    if (this.tcpInUse() + this.inUse() >= this.board.maxSockets) {
      // network_esp32.c: socket() failing in the server path returns 0, not -1: no exception, a socket on fd 0.
      this.print('ERROR: Socket creation failed');
      this.release(s);
      s.dead = true;
      s.inServer = true;
      this.kick();
      return;
    }
    const hp = port ? this.ports.get(port) : undefined;
    if (hp && hp.owners.length && !(s.reuse && hp.owners.every((o) => o.reuse))) {
      this.print('ERROR: Socket bind failed');
      s.closeNow = true;
      this.kick();
      throw this.err('InternalError', 'Unable to create socket');
    }
    // A second bind: the interpreter leaks the first lwIP socket; here it is released.
    this.release(s);
    if (port) {
      const h = hp || this.hostPort(port);
      h.owners.push(s);
      s.hp = h;
    } else s.hs = this.ephemeral(s);
    s.inServer = true;
    this.kick();
  }

  /** The host socket standing for device port `devicePort` (bound now, asynchronously; kept for the emulator's life). @param {number} devicePort */
  hostPort(devicePort) {
    const want = devicePort in this.portMap ? this.portMap[devicePort] : devicePort;
    const sock = hostDgram.createSocket('udp4');
    /** @type {UdpHostPort} */
    const hp = { devicePort, hostPort: 0, sock, owners: [], ready: Promise.resolve(), error: null };
    hp.ready = new Promise((resolve, reject) => {
      sock.once('listening', () => {
        hp.hostPort = sock.address().port;
        resolve();
      });
      sock.on('error', (e) => {
        if (hp.hostPort || hp.error) return; // a send's failure: its datagram is lost
        hp.error = e;
        this.print('ERROR: Socket bind failed (host UDP port ' + want + ': ' + (/** @type {any} */ (e).code || e.message) + ')');
        if (this.ports.get(devicePort) === hp) this.ports.delete(devicePort);
        reject(Object.assign(new Error('host UDP port ' + want + ' (device UDP port ' + devicePort + '): ' + (/** @type {any} */ (e).code || e.message)), { code: /** @type {any} */ (e).code }));
      });
    });
    hp.ready.catch(() => {});
    this.binding.push(hp.ready);
    sock.on('message', (buf, r) => {
      const s = hp.owners[0];
      if (s) this.arrive(s, buf, r);
    });
    sock.bind(want, this.host);
    this.ports.set(devicePort, hp);
    return hp;
  }

  /** An ephemeral host socket for `s` (its sends before any bind, and the replies to them). @param {DSock} s */
  ephemeral(s) {
    const hs = hostDgram.createSocket('udp4');
    hs.on('error', () => {});
    hs.on('message', (buf, r) => {
      if (s.hs === hs) this.arrive(s, buf, r);
    });
    hs.bind(0, this.host);
    return hs;
  }

  /** @param {DSock} s @param {Buffer} buf @param {hostDgram.RemoteInfo} r */
  arrive(s, buf, r) {
    this.activity();
    if (this.stopped || s.closed || s.rx.length >= RECVMBOX) return; // lwIP's mailbox is full: dropped
    let port = r.port;
    if (/^127\./.test(r.address)) {
      for (const hp of this.ports.values()) if (hp.hostPort === port) port = hp.devicePort; // the device talking to itself
    }
    s.rx.push({ buf, address: r.address, port });
    this.kick();
  }

  /**
   * `socket.send(msg, address, port)` (msg already a string, or undefined: nothing queued).
   * @param {number} id @param {string | undefined} msg @param {string} host @param {number} port
   */
  send(id, msg, host, port) {
    const s = this.byId.get(id);
    if (!s || s.closed || s.cls || s.closeNow) throw this.err('Error', 'This socket is closed');
    if (msg !== undefined) {
      // eslint-disable-next-line no-control-regex
      if (/[^\x00-\xff]/.test(msg)) msg = Buffer.from(msg, 'utf8').toString('latin1'); // UTF-8 strings go out as their bytes
      s.tx.push({ data: msg, host, port: (port | 0) & 0xffff });
    }
    // clientRequestConnect: an lwIP socket at the first send of a socket that has none.
    if (!s.hp && !s.hs && !s.dead) {
      if (this.tcpInUse() + this.inUse() >= this.board.maxSockets) {
        this.print('ERROR: Socket creation failed');
        s.closeNow = true;
        this.kick();
        throw this.err('InternalError', 'Unable to create socket');
      }
      s.hs = this.ephemeral(s);
    }
    this.kick();
  }

  /** `socket.close()` @param {number} id */
  close(id) {
    const s = this.byId.get(id);
    if (!s || s.closed) return;
    if (!s.tx.length) s.closeNow = true;
    s.cls = true;
    this.kick();
  }

  /** Give up the lwIP socket (the host port stays bound for the next owner). @param {DSock} s */
  release(s) {
    if (s.hp) {
      const i = s.hp.owners.indexOf(s);
      if (i >= 0) s.hp.owners.splice(i, 1);
      s.hp = null;
    }
    if (s.hs) {
      const hs = s.hs;
      s.hs = null;
      try {
        hs.close();
      } catch (e) {
        /* already closed */
      }
    }
    s.dead = false;
  }

  /** @param {DSock} s */
  hasLw(s) {
    return !!(s.hp || s.hs || s.dead);
  }

  /** One datagram off the receive queue: 1 (a message event queued), 0 (none), -1 (an empty one: recv() gives 0 → "closed"). @param {DSock} s */
  recv(s) {
    if (s.dead || !s.rx.length) return 0;
    const d = /** @type {Datagram} */ (s.rx.shift());
    if (!d.buf.length) return -1;
    const n = Math.min(d.buf.length, this.board.chunk - 8);
    const msg = d.buf.toString('latin1', 0, n);
    this.queue(s, 'message', [msg, this.obj({ address: d.address, port: d.port, size: n })]);
    return 1;
  }

  /** Send the first queued datagram. @param {DSock} s */
  sendOne(s) {
    const d = /** @type {{ data: string, host: string, port: number }} */ (s.tx.shift());
    if (!s.tx.length && !s.cls) this.queue(s, 'drain', [s.obj]);
    const sock = s.hp ? s.hp.sock : s.hs;
    if (!sock || s.dead) return; // ESP32 sendto on fd 0 fails: lost
    let h = d.host === 'localhost' ? '127.0.0.1' : d.host;
    const m = IPV4.exec(h);
    if (!m || m.slice(1).some((x) => +x > 255)) return; // gethostbyname fails: lost
    let port = d.port;
    if (/^127\./.test(h)) {
      h = '127.0.0.1';
      const hp = this.ports.get(port);
      if (hp && hp.hostPort) port = hp.hostPort; // to one of the device's own ports
    } else if (!this.allowRemote) return; // the emulator does not leave the machine: lost
    if (!port) return;
    sock.send(/** @type {Uint8Array} */ (/** @type {unknown} */ (Buffer.from(d.data, 'latin1'))), port, h, () => {});
  }

  /** @param {DSock} s @param {string} ev @param {unknown[]} args */
  queue(s, ev, args) {
    if (this.loop) this.loop.queue(s.obj, this.lis(s.obj, ev), args);
  }

  /** The socket leaves one of the interpreter's lists: its lwIP socket closes, `end` and `close(false)` are queued. @param {DSock} s @param {'server' | 'client'} list */
  leave(s, list) {
    this.release(s);
    s.cls = true;
    if (list === 'server') s.inServer = false;
    else s.inClient = false;
    this.queue(s, 'end', []);
    this.queue(s, 'close', [false]);
    if (!s.inServer && !s.inClient) this.forget(s);
  }

  /** @param {DSock} s */
  forget(s) {
    s.closed = true;
    s.inServer = false;
    s.inClient = false;
    this.release(s);
    this.byId.delete(s.id);
  }

  /** The server list's visit (socketServerConnectionsIdle): receive one, send one, close if asked and idle. */
  serverPass() {
    for (const s of this.socks) {
      if (!s.inServer || s.closed) continue;
      if (s.closeNow) {
        this.leave(s, 'server');
        continue;
      }
      // With no lwIP socket left (closed by the client list), recv() fails: -1.
      const num = this.hasLw(s) ? this.recv(s) : -1;
      if (s.tx.length && this.hasLw(s)) this.sendOne(s);
      if (!s.tx.length && num <= 0 && s.cls) this.leave(s, 'server');
    }
  }

  /** The client list's visit (socketClientConnectionsIdle): send one, receive one (an empty datagram closes), the first pass with an lwIP socket is `connect`. */
  clientPass() {
    for (const s of this.socks) {
      if (!s.inClient || s.closed) continue;
      let closeNow = s.closeNow;
      if (!closeNow && this.hasLw(s)) {
        if (s.tx.length) this.sendOne(s);
        else if (s.cls) closeNow = true;
        const num = this.recv(s);
        if (num < 0) closeNow = true;
        else if (!s.connected) {
          s.connected = true;
          this.queue(s, 'connect', [s.obj]);
          if (!s.tx.length) this.queue(s, 'drain', [s.obj]);
        }
      } else if (!closeNow && !this.hasLw(s) && s.cls) {
        // Its lwIP socket was closed by the server list while datagrams were queued at close(): it lingers in
        // the client list without a socket, and without events.
        s.inClient = false;
        if (!s.inServer) this.forget(s);
        continue;
      }
      if (closeNow) this.leave(s, 'client');
    }
    if (this.socks.some((s) => s.closed)) this.socks = this.socks.filter((s) => !s.closed);
  }

  /** Whether a pass has something to do now. */
  busy() {
    for (const s of this.socks) {
      if (s.closed) continue;
      if (s.closeNow || (s.cls && !s.tx.length)) return true;
      if (this.hasLw(s) && (s.tx.length || (s.rx.length && !s.dead) || !s.connected)) return true;
    }
    return false;
  }

  /** reset()/reboot: every socket goes without events; host ports stay bound. */
  kill() {
    for (const s of this.socks) this.forget(s);
    this.socks = [];
    this.byId.clear();
  }

  /** Device UDP port → host port of every bound host socket. */
  portTable() {
    return portTable(this.ports);
  }

  /** Wait for the host binds started so far; rejects with the first failure. */
  async ready() {
    await settle(this.binding);
  }

  async stop() {
    this.stopped = true;
    this.kill();
    const closing = [];
    for (const hp of this.ports.values()) closing.push(new Promise((r) => hp.sock.close(() => r(undefined))));
    this.ports.clear();
    await Promise.all(closing);
  }
}

module.exports = { Dgram, RECVMBOX, portTable, settle };
