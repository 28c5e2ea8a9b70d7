// @ts-check
/**
 * `require("net")` as Espruino 2v29 runs it on ESP32, over real host sockets.
 *
 * Per socket and per idle pass (socketClientConnectionsIdle in
 * libs/network/socketserver.c; accepted sockets of `net.createServer` take the
 * same path):
 *   1. send: take at most `chunk` (536) bytes off the socket's unbounded send
 *      string; when it becomes empty queue `drain` (not after `end()`); if the
 *      socket is ending and nothing is left to send, close it;
 *   2. receive: at most `chunk` bytes become one `data` event (a string, one
 *      char per byte), run at once; with no `data` listener they wait in a
 *      buffer that the first `on('data')` receives;
 *   3. when the peer has closed or reset (recv fails) the socket closes in
 *      that pass: unsent data is dropped, `end` then `close(false)` are
 *      queued. Every ESP32 socket failure is code -1 ("connection closed"),
 *      which Espruino does not report as an `error` event.
 * A half-close by the client is a full close (ESP32's recv returns 0 → -1).
 * Closing a socket whose received bytes were never read resets it (lwIP
 * tcp_close sends RST when data is left unread); otherwise it sends FIN.
 * `write()` appends and returns false; writing after `end()` or close throws
 * "This socket is closed". At most `maxSockets` (10) sockets exist at once,
 * listeners included; a connection beyond that is accepted and closed at once.
 * Sending stops while `sndBuf` (lwIP TCP_SND_BUF) bytes are in flight on the
 * host socket; receiving is throttled past `rcvWnd` (TCP_WND) unread bytes.
 */
'use strict';
const hostNet = require('net');
const { performance } = require('perf_hooks');
const { Dgram, portTable, settle } = require('./dgram');

/**
 * @typedef {object} Sock
 * @property {number} id
 * @property {any} obj           the sandbox Socket (null until accepted)
 * @property {hostNet.Socket} hs the host socket
 * @property {string[]} tx       send string pieces; tx[0] starts at txOff
 * @property {number} txOff
 * @property {number} txLen
 * @property {string[]} rx       received, not yet given to the interpreter
 * @property {number} rxOff
 * @property {number} rxLen
 * @property {string[]} out      pieces sent this host turn, written in flush()
 * @property {number} outLen
 * @property {string} buf        received with no data listener (Espruino's stream buffer)
 * @property {boolean} peerEnd   FIN received
 * @property {boolean} peerGone  reset / error / host close
 * @property {boolean} hostUp    the host TCP connection is established
 * @property {boolean} connected Espruino's "conn" flag (connect event sent)
 * @property {boolean} cls       end() called: close once sent
 * @property {boolean} closeNow
 * @property {boolean} closed
 * @property {boolean} paused
 */

/**
 * @typedef {object} HostPort
 * @property {number} devicePort
 * @property {number} hostPort   0 until bound
 * @property {hostNet.Server} server
 * @property {any} srv           the emulated server attached, or null (connections are then reset)
 * @property {Promise<void>} ready
 * @property {Error | null} error
 */

/**
 * @typedef {object} EmuServer
 * @property {number} id
 * @property {any} obj
 * @property {number} port       device port, 0 until listen()
 * @property {HostPort | null} hp
 * @property {Sock[]} pending    accepted by the host, not yet by the interpreter
 */

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/**
 * Up to `n` chars off the front of one of a socket's string queues (`k` is 'tx' or 'rx'; the queue's head
 * starts at its `Off` field, its `Len` field counts what is queued).
 * @param {Sock} s @param {'tx' | 'rx'} k @param {number} n
 */
function takeChars(s, k, n) {
  const o = /** @type {any} */ (s);
  const q = /** @type {string[]} */ (o[k]);
  let off = /** @type {number} */ (o[k + 'Off']);
  let piece = '';
  while (n > 0 && q.length) {
    const head = q[0];
    const avail = head.length - off;
    if (avail <= n) {
      piece += off ? head.slice(off) : head;
      n -= avail;
      q.shift();
      off = 0;
    } else {
      piece += head.slice(off, off + n);
      off += n;
      n = 0;
    }
  }
  o[k + 'Off'] = off;
  o[k + 'Len'] -= piece.length;
  return piece;
}

class Net {
  /**
   * @param {object} o
   * @param {import('./boards').Board} o.board
   * @param {string} o.host                      host address to bind (default loopback)
   * @param {Record<number, number>} o.portMap   device port → host port
   * @param {Record<number, number>} [o.udpPortMap] device UDP port → host port (dgram.js)
   * @param {boolean} o.allowRemote               let net.connect (and UDP sends) reach non-loopback hosts
   * @param {(line: string) => void} o.print      the device console
   */
  constructor(o) {
    this.board = o.board;
    this.chunk = o.board.chunk;
    this.host = o.host;
    this.portMap = o.portMap;
    this.allowRemote = o.allowRemote;
    this.print = o.print;
    /** @type {import('./loop').Loop} */
    this.loop = /** @type {any} */ (null);
    /** @type {(type: string, msg: string) => Error} */
    this.err = (t, m) => new Error(m);
    /** @type {() => any} */
    this.L = () => undefined;
    /** @type {(id: number) => any} */
    this.newSocket = () => ({});
    /** @type {Map<number, HostPort>} */
    this.ports = new Map();
    /** @type {Map<number, EmuServer>} */
    this.servers = new Map();
    /** @type {Sock[]} */
    this.socks = [];
    /** @type {Map<number, Sock>} */
    this.byId = new Map();
    this.nextId = 1;
    /** @type {Promise<void>[]} */
    this.binding = [];
    /** Host sockets still open (closing or parked-rejected), destroyed on stop(). @type {Set<hostNet.Socket>} */
    this.hostSockets = new Set();
    this.stopped = false;
    /** performance.now() of the last host socket activity (connection or data). */
    this.lastActivity = 0;
    /** `require("dgram")`: its sockets count against the same `maxSockets`, and its passes run inside idle(). */
    this.udp = new Dgram({
      board: o.board, host: o.host, portMap: o.udpPortMap || {}, allowRemote: o.allowRemote, print: o.print,
      tcpInUse: () => this.tcpInUse(),
    });
  }

  /**
   * Serve a (new) sandbox: its loop, its error constructors, its Socket factory.
   * @param {{ loop: import('./loop').Loop, err: (type: string, msg: string) => Error, listenersKey: () => any, newSocket: (id: number) => any, obj: (o: object) => any }} rt
   */
  attach(rt) {
    this.loop = rt.loop;
    this.err = rt.err;
    this.L = rt.listenersKey;
    this.newSocket = rt.newSocket;
    rt.loop.net = this;
    this.udp.attach({ loop: rt.loop, err: rt.err, lis: (o, ev) => this.lis(o, ev), obj: rt.obj });
    this.udp.activity = () => {
      this.lastActivity = performance.now();
    };
  }

  /** @param {any} obj @param {string} ev */
  lis(obj, ev) {
    const m = obj && obj[this.L()];
    return m ? m[ev] : undefined;
  }

  /** Sockets in use as lwIP counts them: listeners, connections and UDP sockets. */
  inUse() {
    return this.tcpInUse() + this.udp.inUse();
  }

  /** TCP listeners and connections. */
  tcpInUse() {
    let n = this.socks.length;
    for (const s of this.servers.values()) if (s.hp) n++;
    return n;
  }

  // ---------------------------------------------------------------- servers

  /** @param {any} obj */
  newServer(obj) {
    const id = this.nextId++;
    this.servers.set(id, { id, obj, port: 0, hp: null, pending: [] });
    return id;
  }

  /**
   * `server.listen(port)`: binds a host port (asynchronously: a host-side failure is printed, recorded and
   * makes `ready()` fail; a clash with another emulated listener throws at once as on the device).
   * @param {number} id @param {number} port
   */
  listen(id, port) {
    const srv = this.servers.get(id);
    if (!srv || srv.hp) return;
    port = port | 0;
    const hp = this.ports.get(port);
    if ((hp && hp.srv) || this.inUse() >= this.board.maxSockets) {
      this.print(hp && hp.srv ? 'ERROR: Socket bind failed' : 'ERROR: Socket creation failed');
      throw this.err('InternalError', 'Unable to create socket');
    }
    srv.port = port;
    srv.hp = hp || this.bind(port);
    srv.hp.srv = srv;
  }

  /** @param {number} devicePort @returns {HostPort} */
  bind(devicePort) {
    const want = devicePort in this.portMap ? this.portMap[devicePort] : devicePort;
    const server = hostNet.createServer({ allowHalfOpen: true, noDelay: true });
    /** @type {HostPort} */
    const hp = { devicePort, hostPort: 0, server, srv: null, ready: Promise.resolve(), error: null };
    hp.ready = new Promise((resolve, reject) => {
      server.once('listening', () => {
        const a = server.address();
        hp.hostPort = a && typeof a === 'object' ? a.port : want;
        resolve();
      });
      server.once('error', (e) => {
        hp.error = e;
        this.print('ERROR: Socket bind failed (host port ' + want + ': ' + (/** @type {any} */ (e).code || e.message) + ')');
        if (hp.srv) hp.srv.hp = null;
        hp.srv = null;
        this.ports.delete(devicePort);
        reject(e);
      });
    });
    hp.ready.catch(() => {});
    this.binding.push(hp.ready);
    server.on('connection', (hs) => this.onConnection(hp, hs));
    server.listen({ port: want, host: this.host });
    this.ports.set(devicePort, hp);
    return hp;
  }

  /** @param {number} id */
  closeServer(id) {
    const srv = this.servers.get(id);
    if (!srv) return;
    this.servers.delete(id);
    if (srv.hp && srv.hp.srv === srv) srv.hp.srv = null;
    srv.hp = null;
    for (const s of srv.pending) this.reset(s);
    srv.pending.length = 0;
  }

  /** @param {HostPort} hp @param {hostNet.Socket} hs */
  onConnection(hp, hs) {
    this.lastActivity = performance.now();
    if (this.stopped || !hp.srv) {
      // Nothing listens on that port on the device right now (rebooting, or closed): the stack resets it.
      hs.on('error', () => {});
      hs.resetAndDestroy();
      return;
    }
    const s = this.wrap(hs, true);
    hp.srv.pending.push(s);
    this.loop.kick();
  }

  // ---------------------------------------------------------------- sockets

  /** @param {hostNet.Socket} hs @param {boolean} up @returns {Sock} */
  wrap(hs, up) {
    /** @type {Sock} */
    const s = {
      id: this.nextId++, obj: null, hs,
      tx: [], txOff: 0, txLen: 0, rx: [], rxOff: 0, rxLen: 0, out: [], outLen: 0, buf: '',
      peerEnd: false, peerGone: false, hostUp: up, connected: up, cls: false, closeNow: false, closed: false, paused: false,
    };
    this.hostSockets.add(hs);
    hs.setNoDelay(true);
    hs.on('data', (b) => {
      this.lastActivity = performance.now();
      if (s.closed) return;
      s.rx.push(b.toString('latin1'));
      s.rxLen += b.length;
      if (s.rxLen >= this.board.rcvWnd && !s.paused) {
        s.paused = true;
        hs.pause();
      }
      this.loop.kick();
    });
    hs.on('end', () => {
      s.peerEnd = true;
      if (s.closed) hs.destroy();
      else this.loop.kick();
    });
    hs.on('error', () => {
      s.peerGone = true;
      this.loop.kick();
    });
    hs.on('close', () => {
      s.peerGone = true;
      this.hostSockets.delete(hs);
      if (!s.closed) this.loop.kick();
    });
    hs.on('drain', () => {
      if (!s.closed) this.loop.kick();
    });
    hs.on('connect', () => {
      s.hostUp = true;
      this.loop.kick();
    });
    this.byId.set(s.id, s);
    return s;
  }

  /**
   * `net.connect({host, port}, cb)`: the socket exists at once; Espruino reports it connected on the first pass
   * (before the TCP handshake completes), and a refused connection just closes (`end`, `close(false)`).
   * @param {any} obj @param {unknown} host @param {number} port
   */
  connect(obj, host, port) {
    let h = host === undefined || host === null ? '127.0.0.1' : String(host);
    if (h === 'localhost') h = '127.0.0.1';
    const loop = LOOPBACK.test(h);
    if (this.inUse() >= this.board.maxSockets) {
      this.print('ERROR: Socket creation failed');
      throw this.err('InternalError', 'Unable to create socket');
    }
    if (!loop && !(this.allowRemote && (hostNet.isIP(h) || /^[a-z0-9.-]+$/i.test(h)))) {
      // gethostbyname fails (or the emulator refuses to leave the machine): exception now, closed next pass.
      const s = this.wrap(new hostNet.Socket(), false);
      s.obj = obj;
      s.closeNow = true;
      this.socks.push(s);
      this.loop.kick();
      throw this.err('InternalError', 'Unable to locate host');
    }
    let p = port | 0;
    const hp = loop ? this.ports.get(p) : undefined;
    if (hp && hp.hostPort) p = hp.hostPort; // the device talking to its own server
    // Its own server still binding its host port (a device's listen is at once; the emulator's is not): connect
    // once the port is known, not to the device port's number on the host, where something else may listen.
    const binding = hp && !hp.hostPort;
    const hs = binding ? new hostNet.Socket({ allowHalfOpen: true }) : hostNet.connect({ host: h, port: p, allowHalfOpen: true });
    if (binding) hp.ready.then(() => { if (!hs.destroyed) hs.connect({ host: h, port: hp.hostPort }); }, () => hs.destroy());
    const s = this.wrap(hs, false);
    s.obj = obj;
    this.socks.push(s);
    this.loop.kick();
    return s.id;
  }

  /**
   * `socket.write(str)`: false if the socket is closed or ending (the caller throws).
   * @param {number} id @param {string} str
   */
  write(id, str) {
    const s = this.byId.get(id);
    if (!s || s.closed || s.cls || s.closeNow) return false;
    if (str.length) {
      // eslint-disable-next-line no-control-regex
      if (/[^\x00-\xff]/.test(str)) str = Buffer.from(str, 'utf8').toString('latin1'); // UTF-8 strings go out as their bytes
      s.tx.push(str);
      s.txLen += str.length;
      this.loop.kick();
    }
    return true;
  }

  /** `socket.end()`: close after the send string is empty (now, if it is already). @param {number} id */
  end(id) {
    const s = this.byId.get(id);
    if (!s || s.closed) return;
    s.cls = true;
    if (!s.txLen) s.closeNow = true;
    this.loop.kick();
  }

  /** The first `on('data')`: hand it what arrived meanwhile, as a queued event. @param {number} id */
  onData(id) {
    const s = this.byId.get(id);
    if (!s || !s.buf) return;
    const b = s.buf;
    s.buf = '';
    this.loop.queue(s.obj, this.lis(s.obj, 'data'), [b]);
  }

  /** `socket.available()` @param {number} id */
  available(id) {
    const s = this.byId.get(id);
    return s ? s.buf.length : 0;
  }

  /** `socket.read(n)`: from the no-listener buffer. @param {number} id @param {number} n */
  read(id, n) {
    const s = this.byId.get(id);
    if (!s) return '';
    const k = n > 0 ? Math.min(n, s.buf.length) : s.buf.length;
    const r = s.buf.slice(0, k);
    s.buf = s.buf.slice(k);
    return r;
  }

  /**
   * Whether send() would take bytes now: the host socket is up and its user-space buffer is below one lwIP
   * window (it only grows once the kernel's buffer is full, i.e. the peer stopped reading).
   * @param {Sock} s
   */
  canSend(s) {
    return s.hostUp && !s.hs.destroyed && s.hs.writableLength < this.board.sndBuf;
  }

  /** @param {Sock} s @param {number} n */
  takeTx(s, n) {
    return takeChars(s, 'tx', n);
  }

  /** @param {Sock} s @param {number} n */
  takeRx(s, n) {
    const piece = takeChars(s, 'rx', n);
    if (s.paused && s.rxLen < this.board.rcvWnd) {
      s.paused = false;
      s.hs.resume();
    }
    return piece;
  }

  /** @param {Sock} s */
  markConnected(s) {
    s.connected = true;
    this.loop.queue(s.obj, this.lis(s.obj, 'connect'), [s.obj]);
    if (!s.txLen) this.loop.queue(s.obj, this.lis(s.obj, 'drain'), [s.obj]);
  }

  /** One pass of the network idle. */
  idle() {
    for (const srv of this.servers.values()) {
      if (!srv.pending.length || !srv.hp) continue;
      const s = /** @type {Sock} */ (srv.pending.shift());
      if (this.inUse() >= this.board.maxSockets) {
        // lwIP accepted the TCP connection but has no socket for it: it is closed straight away.
        this.hostClose(s);
        continue;
      }
      s.obj = this.newSocket(s.id);
      this.socks.push(s);
      this.loop.queue(srv.obj, this.lis(srv.obj, 'connect'), [s.obj]);
    }
    // socketIdle's order: accept, the server list (bound UDP sockets), the client list (TCP sockets, then UDP).
    this.udp.serverPass();
    let gone = 0;
    for (let i = 0; i < this.socks.length; i++) {
      const s = this.socks[i];
      if (s.closed) { gone++; continue; }
      this.step(s);
      if (s.closed) gone++;
    }
    if (gone) this.socks = this.socks.filter((s) => !s.closed);
    this.udp.clientPass();
  }

  /** @param {Sock} s */
  step(s) {
    if (!s.closeNow) {
      // end() closes on a pass that has nothing left to send and receives nothing: the interpreter reads (and,
      // with no listener left, drops) a peer's input until it is quiet, so the close is a FIN, not a reset.
      let ending = false;
      if (s.txLen > 0) {
        if (s.peerGone || s.hs.destroyed) s.closeNow = true; // send() fails
        else if (this.canSend(s)) {
          const piece = this.takeTx(s, this.chunk);
          s.out.push(piece);
          s.outLen += piece.length;
          if (!s.connected) {
            s.connected = true;
            this.loop.queue(s.obj, this.lis(s.obj, 'connect'), [s.obj]);
          }
          if (!s.txLen && !s.cls) this.loop.queue(s.obj, this.lis(s.obj, 'drain'), [s.obj]);
        }
      } else if (s.cls) ending = true;
      if (s.rxLen > 0) {
        ending = false;
        if (!s.connected) this.markConnected(s);
        const piece = this.takeRx(s, this.chunk);
        const fns = this.lis(s.obj, 'data');
        if (fns) this.loop.call(s.obj, fns, [piece]);
        else s.buf += piece;
      } else if (s.peerEnd || s.peerGone) s.closeNow = true; // recv() fails: -1, "connection closed"
      else if (!s.connected) this.markConnected(s); // recv() of 0 bytes counts as connected
      if (ending) s.closeNow = true;
    }
    if (s.closeNow) this.close(s);
  }

  /** @param {Sock} s */
  close(s) {
    if (s.closed) return;
    s.closed = true;
    this.byId.delete(s.id);
    this.hostClose(s);
    if (s.obj) {
      this.loop.queue(s.obj, this.lis(s.obj, 'end'), []);
      this.loop.queue(s.obj, this.lis(s.obj, 'close'), [false]);
    }
  }

  /** Write what this turn sent, then FIN, or RST if received bytes were never read. @param {Sock} s */
  hostClose(s) {
    s.closed = true;
    this.byId.delete(s.id);
    const hs = s.hs;
    if (hs.destroyed) return;
    if (s.out.length) hs.write(s.out.join(''), 'latin1');
    s.out.length = 0;
    s.outLen = 0;
    if (s.rxLen > 0 || !s.hostUp) {
      hs.on('error', () => {});
      if (s.hostUp) hs.resetAndDestroy();
      else hs.destroy();
      return;
    }
    hs.end();
    if (s.peerEnd) hs.destroySoon();
    // A peer that never closes its side would keep the host socket forever; the device forgets it at once.
    const t = setTimeout(() => hs.destroy(), 10000);
    t.unref();
    hs.once('close', () => clearTimeout(t));
  }

  /** @param {Sock} s */
  reset(s) {
    s.closed = true;
    this.byId.delete(s.id);
    s.hs.on('error', () => {});
    if (!s.hs.destroyed) s.hs.resetAndDestroy();
  }

  /** Whether another pass has something to do right now. */
  busy() {
    if (this.udp.busy()) return true;
    for (const srv of this.servers.values()) if (srv.pending.length && srv.hp) return true;
    for (let i = 0; i < this.socks.length; i++) {
      const s = this.socks[i];
      if (s.closed) continue;
      if (s.closeNow || s.rxLen > 0 || s.peerEnd || s.peerGone || !s.connected) return true;
      if (s.txLen > 0 ? this.canSend(s) : s.cls) return true;
    }
    return false;
  }

  /** @param {Sock} s */
  flushSock(s) {
    if (!s.hs.destroyed) s.hs.write(s.out.length === 1 ? s.out[0] : s.out.join(''), 'latin1');
    s.out.length = 0;
    s.outLen = 0;
  }

  /** Hand this turn's output to the host sockets, one write each. */
  flush() {
    for (let i = 0; i < this.socks.length; i++) if (this.socks[i].out.length) this.flushSock(this.socks[i]);
  }

  /** reset()/reboot: every socket closes without events (FIN or RST), listeners stop; host ports stay bound but reset new connections. */
  kill() {
    for (const s of this.socks) if (!s.closed) this.hostClose(s);
    this.socks = [];
    this.byId.clear();
    for (const id of Array.from(this.servers.keys())) this.closeServer(id);
    this.udp.kill();
  }

  /** Device port → host port of every bound listener. */
  portTable() {
    return portTable(this.ports);
  }

  /** Wait for every host bind started so far; rejects with the first failure. */
  async ready() {
    await settle(this.binding);
    await this.udp.ready();
  }

  /** Release every host resource. */
  async stop() {
    this.stopped = true;
    this.kill();
    for (const hs of this.hostSockets) hs.destroy();
    this.hostSockets.clear();
    const closing = [];
    for (const hp of this.ports.values()) closing.push(new Promise((r) => hp.server.close(() => r(undefined))));
    this.ports.clear();
    await Promise.all(closing);
    await this.udp.stop();
  }
}

module.exports = { Net };
