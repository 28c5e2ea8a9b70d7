/** The simulated HAL's own behaviour: the stepped clock, scripted peers, fault injection, flash and radio. */
import { Listener, SockErr, Sock, SockHandler } from '../hal/hal';
import { Sim, latin1 } from '../hal/sim';

/** A server on `port` that records every callback; reads only when asked. */
function serve(sim: Sim, port: number, opts: { refuse?: boolean; autoRead?: boolean } = {}) {
  const srv = {
    listener: null as Listener | null,
    socks: [] as Sock[],
    events: [] as string[],
    got: '',
    inSock: false,
    read(s: Sock, max = 4096): number {
      const buf = new Uint8Array(max);
      srv.inSock = true;
      const n = s.read(buf, 0, max);
      srv.inSock = false;
      if (n > 0) srv.got += latin1.str(buf, 0, n);
      return n;
    },
    write(s: Sock, data: string): number {
      const b = latin1.bytes(data);
      srv.inSock = true;
      const n = s.write(b, 0, b.length);
      srv.inSock = false;
      return n;
    },
  };
  srv.listener = sim.net.listen(
    port,
    (s) => {
      if (opts.refuse) return null;
      const i = srv.socks.push(s) - 1;
      const h: SockHandler = {
        readable() {
          if (srv.inSock) throw new Error('re-entrant readable');
          srv.events.push(`readable ${i}`);
          if (opts.autoRead) while (srv.read(s) > 0);
        },
        writable() {
          if (srv.inSock) throw new Error('re-entrant writable');
          srv.events.push(`writable ${i}`);
        },
        closed(err) {
          if (srv.inSock) throw new Error('re-entrant closed');
          srv.events.push(`closed ${i} ${err}`);
        },
      };
      return h;
    },
    (code) => srv.events.push(`listen error ${code}`),
  );
  return srv;
}

describe('the stepped clock', () => {
  test('starts at 0 and moves only when advanced', () => {
    const sim = new Sim();
    expect(sim.now()).toBe(0);
    sim.run();
    expect(sim.clock.now()).toBe(0);
    sim.advance(250);
    expect(sim.now()).toBe(250);
  });

  test('fires each timer at its own due time, in time order, ties in scheduling order', () => {
    const sim = new Sim();
    const seen: string[] = [];
    sim.clock.after(30, () => seen.push(`c@${sim.now()}`));
    sim.clock.after(10, () => seen.push(`a@${sim.now()}`));
    sim.clock.after(10, () => seen.push(`b@${sim.now()}`));
    sim.advance(9);
    expect(seen).toEqual([]);
    sim.advance(100);
    expect(seen).toEqual(['a@10', 'b@10', 'c@30']);
    expect(sim.now()).toBe(109);
  });

  test('a timer set inside a timer fires within the same advance when due', () => {
    const sim = new Sim();
    const seen: number[] = [];
    sim.clock.after(5, () => {
      seen.push(sim.now());
      sim.clock.after(5, () => seen.push(sim.now()));
    });
    sim.advance(10);
    expect(seen).toEqual([5, 10]);
  });

  test('cancel stops a pending timer and is harmless afterwards', () => {
    const sim = new Sim();
    let fired = 0;
    const h = sim.clock.after(5, () => fired++);
    sim.clock.cancel(h);
    sim.advance(10);
    expect(fired).toBe(0);
    const h2 = sim.clock.after(0, () => fired++);
    sim.run();
    sim.clock.cancel(h2);
    sim.clock.cancel(12345);
    expect(fired).toBe(1);
  });

  test('soon() runs on the next run(), FIFO, before timers due at the same time', () => {
    const sim = new Sim();
    const seen: string[] = [];
    sim.clock.after(0, () => seen.push('timer'));
    sim.clock.soon(() => {
      seen.push('soon1');
      sim.clock.soon(() => seen.push('soon3'));
    });
    sim.clock.soon(() => seen.push('soon2'));
    expect(seen).toEqual([]);
    sim.run();
    expect(seen).toEqual(['soon1', 'soon2', 'soon3', 'timer']);
  });

  test('an endless chain of soon() tasks is reported as a livelock', () => {
    const sim = new Sim();
    const again = (): void => sim.clock.soon(again);
    again();
    expect(() => sim.run()).toThrow('sim: livelock');
  });

  test('run() from inside a callback is refused', () => {
    const sim = new Sim();
    let err: unknown = null;
    sim.clock.soon(() => {
      try {
        sim.run();
      } catch (e) {
        err = e;
      }
    });
    sim.run();
    expect(String(err)).toMatch(/inside a callback/);
  });

  test('nextAt() tells when the next event is due', () => {
    const sim = new Sim();
    expect(sim.nextAt()).toBe(Infinity);
    sim.clock.after(40, () => undefined);
    expect(sim.nextAt()).toBe(40);
    sim.clock.soon(() => undefined);
    expect(sim.nextAt()).toBe(0);
  });
});

describe('accepting connections', () => {
  test('a connection is accepted on the next run()', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    expect(c.accepted).toBe(false);
    expect(s.socks.length).toBe(0);
    sim.run();
    expect(c.accepted).toBe(true);
    expect(c.closed).toBe(false);
    expect(s.socks[0].peer).toBe(c.addr);
    expect(s.socks[0].peer).toMatch(/^\d+\.\d+\.\d+\.\d+:\d+$/);
    expect(sim.openSockets()).toBe(1);
  });

  test('a connection to a port nobody listens on is refused at once', () => {
    const sim = new Sim();
    const c = sim.connect(81);
    expect(c.refused).toBe(true);
    expect(c.closed).toBe(true);
    c.send('ignored');
    sim.run();
    expect(sim.openSockets()).toBe(0);
  });

  test('connections beyond the backlog are refused', () => {
    const sim = new Sim({ backlog: 2 });
    const s = serve(sim, 80);
    const cs = [sim.connect(80), sim.connect(80), sim.connect(80)];
    expect(cs.map((c) => c.refused)).toEqual([false, false, true]);
    sim.run();
    expect(cs.map((c) => c.accepted)).toEqual([true, true, false]);
    expect(s.socks.length).toBe(2);
    expect(sim.connect(80).refused).toBe(false);
  });

  test('accept returning null refuses the connection and leaks nothing', () => {
    const sim = new Sim();
    serve(sim, 80, { refuse: true });
    const c = sim.connect(80);
    expect(c.refused).toBe(false);
    c.send('GET / HTTP/1.1\r\n\r\n');
    sim.run();
    expect(c.refused).toBe(true);
    expect(c.accepted).toBe(false);
    expect(sim.openSockets()).toBe(0);
  });

  test('a closed listener accepts nothing more, even what was queued', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const queued = sim.connect(80);
    s.listener!.close();
    s.listener!.close();
    sim.run();
    expect(queued.refused).toBe(true);
    expect(sim.connect(80).refused).toBe(true);
    expect(sim.listening(80)).toBe(false);
  });

  test('a second listen on the same port fails with InUse, reported asynchronously', () => {
    const sim = new Sim();
    serve(sim, 80);
    const errs: number[] = [];
    const l = sim.net.listen(80, () => null, (e) => errs.push(e));
    expect(l).toBeNull();
    expect(errs).toEqual([]);
    sim.run();
    expect(errs).toEqual([SockErr.InUse]);
  });

  test('the port is free again once its listener is closed', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    s.listener!.close();
    const s2 = serve(sim, 80);
    expect(s2.listener).not.toBeNull();
    sim.connect(80);
    sim.run();
    expect(s2.socks.length).toBe(1);
  });
});

describe('receiving', () => {
  test('each piece of a split send is its own delivery, and reads span pieces', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    c.send('GET / HTTP/1.1\r\n\r\n', { split: [3, 10] });
    sim.run();
    expect(s.events).toEqual(['readable 0', 'readable 0', 'readable 0']);
    expect(s.read(s.socks[0], 5)).toBe(5);
    expect(s.read(s.socks[0])).toBe(13);
    expect(s.got).toBe('GET / HTTP/1.1\r\n\r\n');
  });

  test('the server may read between pieces', () => {
    const sim = new Sim();
    const s = serve(sim, 80, { autoRead: true });
    const seen: string[] = [];
    const c = sim.connect(80);
    sim.run();
    c.send('abcdef', { split: [2, 4] });
    const orig = s.read;
    s.read = (sock, max) => {
      const n = orig(sock, max);
      if (n > 0) seen.push(s.got);
      return n;
    };
    sim.run();
    expect(seen).toEqual(['ab', 'abcd', 'abcdef']);
  });

  test('a delayed send arrives at its time, and later sends never overtake it', () => {
    const sim = new Sim();
    const s = serve(sim, 80, { autoRead: true });
    const c = sim.connect(80);
    c.send('first', { delay: 100 });
    c.send('second');
    sim.advance(99);
    expect(s.got).toBe('');
    sim.advance(1);
    expect(s.got).toBe('firstsecond');
  });

  test('read() returns 0 while nothing is buffered, then -1 forever once FIN came and all was read', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    sim.run();
    const sock = s.socks[0];
    expect(s.read(sock)).toBe(0);
    c.send('abc');
    c.end();
    c.end();
    sim.run();
    expect(s.events).toEqual(['readable 0', 'readable 0']);
    expect(s.read(sock, 2)).toBe(2);
    expect(s.read(sock, 2)).toBe(1);
    expect(s.read(sock)).toBe(-1);
    expect(s.read(sock)).toBe(-1);
    expect(s.got).toBe('abc');
    expect(() => c.send('more')).toThrow(/after end/);
  });

  test('a FIN sent behind a delayed piece arrives after it', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    c.send('x', { delay: 50 });
    c.end();
    sim.run();
    expect(s.read(s.socks[0])).toBe(0);
    sim.advance(50);
    expect(s.read(s.socks[0])).toBe(1);
    expect(s.read(s.socks[0])).toBe(-1);
  });

  test('bytes are binary-safe', () => {
    const sim = new Sim();
    const s = serve(sim, 80, { autoRead: true });
    const c = sim.connect(80);
    const all = new Uint8Array(256).map((_, i) => i);
    c.send(all);
    sim.run();
    expect(latin1.bytes(s.got)).toEqual(all);
  });
});

describe('sending', () => {
  test('bytes taken by write() reach the client on the next run()', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    sim.run();
    expect(s.write(s.socks[0], 'hello')).toBe(5);
    expect(c.received).toBe('');
    sim.run();
    expect(c.received).toBe('hello');
    expect(c.take()).toBe('hello');
    expect(c.take()).toBe('');
    s.write(s.socks[0], ' world');
    sim.run();
    expect(c.take()).toBe(' world');
    expect(c.received).toBe('hello world');
    expect(s.events).toEqual([]);
  });

  test('maxWrite forces partial writes; writable() follows on the next run(), never inside write()', () => {
    const sim = new Sim();
    sim.maxWrite = 4;
    const s = serve(sim, 80);
    const c = sim.connect(80);
    sim.run();
    expect(s.write(s.socks[0], 'abcdefghij')).toBe(4);
    expect(s.events).toEqual([]);
    sim.run();
    expect(c.received).toBe('abcd');
    expect(s.events).toEqual(['writable 0']);
    expect(s.write(s.socks[0], 'efghij')).toBe(4);
    expect(s.write(s.socks[0], 'ij')).toBe(2);
    sim.run();
    expect(c.received).toBe('abcdefghij');
    // the short second write still owes one writable(), even though a later write completed
    expect(s.events).toEqual(['writable 0', 'writable 0']);
  });

  test('a closed window stops write() until window() opens it again', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    sim.run();
    c.window(3);
    expect(s.write(s.socks[0], 'abcdef')).toBe(3);
    expect(s.write(s.socks[0], 'def')).toBe(0);
    sim.advance(1000);
    expect(c.received).toBe('abc');
    expect(s.events).toEqual([]);
    c.window(Infinity);
    expect(s.events).toEqual([]);
    sim.run();
    expect(s.events).toEqual(['writable 0']);
    expect(s.write(s.socks[0], 'def')).toBe(3);
    sim.run();
    expect(c.received).toBe('abcdef');
  });

  test('shutdown() sends FIN behind the taken bytes and reading goes on', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    sim.run();
    s.write(s.socks[0], 'bye');
    s.socks[0].shutdown();
    expect(s.write(s.socks[0], 'late')).toBe(0);
    sim.run();
    expect(c.received).toBe('bye');
    expect(c.gotFin).toBe(true);
    expect(c.closed).toBe(true);
    c.send('still listening?');
    sim.run();
    expect(s.read(s.socks[0])).toBe(16);
    expect(sim.openSockets()).toBe(1);
  });
});

describe('closing', () => {
  test('close() flushes taken bytes then FIN, releases at once, and silences the handler', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    c.send('unread request');
    sim.run();
    s.events.length = 0;
    s.write(s.socks[0], 'response');
    s.socks[0].close();
    expect(sim.openSockets()).toBe(0);
    s.socks[0].close();
    expect(sim.openSockets()).toBe(0);
    expect(c.gotFin).toBe(false);
    c.send('more');
    c.end();
    sim.run();
    expect(c.received).toBe('response');
    expect(c.gotFin).toBe(true);
    expect(c.gotReset).toBe(false);
    c.window(0);
    c.window(10);
    sim.advance(1000);
    expect(s.events).toEqual([]);
    expect(s.read(s.socks[0])).toBe(-1);
    expect(s.write(s.socks[0], 'x')).toBe(0);
  });

  test('a writable() owed before close() never fires', () => {
    const sim = new Sim();
    sim.maxWrite = 1;
    const s = serve(sim, 80);
    const c = sim.connect(80);
    sim.run();
    s.write(s.socks[0], 'ab');
    s.socks[0].close();
    sim.run();
    expect(s.events).toEqual([]);
    expect(c.received).toBe('a');
    expect(c.gotFin).toBe(true);
  });

  test('a peer reset reports closed(Reset) once on the next run(), and nothing more is delivered', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    c.send('partial req');
    sim.run();
    s.events.length = 0;
    c.send('never arrives', { delay: 10 });
    c.reset();
    c.reset();
    expect(c.gotReset).toBe(true);
    expect(c.closed).toBe(true);
    expect(sim.openSockets()).toBe(1);
    sim.advance(20);
    expect(s.events).toEqual([`closed 0 ${SockErr.Reset}`]);
    expect(sim.openSockets()).toBe(0);
    expect(s.read(s.socks[0])).toBe(-1);
    expect(s.write(s.socks[0], 'too late')).toBe(0);
    s.socks[0].close();
    expect(sim.openSockets()).toBe(0);
    sim.run();
    expect(c.received).toBe('');
    expect(s.events.length).toBe(1);
    expect(() => c.send('x')).toThrow(/after reset/);
  });

  test('bytes taken just before a peer reset are not delivered', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    sim.run();
    s.write(s.socks[0], 'lost');
    c.reset();
    sim.run();
    expect(c.received).toBe('');
  });

  test('close() before a pending reset is reported suppresses the callback', () => {
    const sim = new Sim();
    const s = serve(sim, 80);
    const c = sim.connect(80);
    sim.run();
    c.reset();
    s.socks[0].close();
    sim.run();
    expect(s.events).toEqual([]);
    expect(sim.openSockets()).toBe(0);
  });
});

describe('outgoing connections', () => {
  test('connect to a local listener: first writable() means connected, bytes flow both ways, FIN propagates', () => {
    const sim = new Sim();
    const s = serve(sim, 80, { autoRead: true });
    const ev: string[] = [];
    let got = '';
    const buf = new Uint8Array(100);
    const out = sim.net.connect('example.local', 80, {
      readable() {
        for (let n; (n = out.read(buf, 0, buf.length)) !== 0; ) {
          if (n < 0) {
            ev.push('eof');
            break;
          }
          got += latin1.str(buf, 0, n);
        }
      },
      writable: () => ev.push('writable'),
      closed: (e) => ev.push(`closed ${e}`),
    })!;
    expect(out.peer).toBe('example.local:80');
    expect(sim.openSockets()).toBe(1);
    sim.run();
    expect(ev).toEqual(['writable']);
    expect(sim.openSockets()).toBe(2);
    expect(out.write(latin1.bytes('ping'), 0, 4)).toBe(4);
    sim.run();
    expect(s.got).toBe('ping');
    s.write(s.socks[0], 'pong');
    s.socks[0].close();
    sim.run();
    expect(got).toBe('pong');
    expect(ev).toEqual(['writable', 'eof']);
    out.close();
    expect(sim.openSockets()).toBe(0);
  });

  test('connect with nobody listening reports closed(Refused)', () => {
    const sim = new Sim();
    const ev: string[] = [];
    const out = sim.net.connect('h', 9, { readable: () => ev.push('r'), writable: () => ev.push('w'), closed: (e) => ev.push(`closed ${e}`) })!;
    expect(ev).toEqual([]);
    sim.run();
    expect(ev).toEqual([`closed ${SockErr.Refused}`]);
    expect(sim.openSockets()).toBe(0);
    expect(out.write(new Uint8Array(1), 0, 1)).toBe(0);
    out.close();
    expect(sim.openSockets()).toBe(0);
  });
});

describe('storage', () => {
  test('names are truncated to 28 characters like the device', () => {
    const sim = new Sim();
    const long = 'a-very-long-file-name-that-goes-on.json';
    expect(sim.storage.write(long, latin1.bytes('{}'), 0, 0)).toBe(true);
    expect(sim.storage.list('')).toEqual([long.slice(0, 28)]);
    expect(latin1.str(sim.storage.read(long.slice(0, 28) + 'zzz')!, 0, 2)).toBe('{}');
    expect(sim.storage.write('', latin1.bytes('x'), 0, 0)).toBe(false);
  });

  test('writes in pieces into a file sized by its first write; unwritten bytes read as 0xFF', () => {
    const st = new Sim().storage;
    expect(st.write('app.js', latin1.bytes('abc'), 0, 8)).toBe(true);
    expect(Array.from(st.read('app.js')!)).toEqual([97, 98, 99, 255, 255, 255, 255, 255]);
    expect(st.write('app.js', latin1.bytes('defgh'), 3, 0)).toBe(true);
    expect(latin1.str(st.read('app.js')!, 0, 8)).toBe('abcdefgh');
    expect(st.write('app.js', latin1.bytes('ij'), 7, 0)).toBe(false);
    expect(st.write('app.js', latin1.bytes('new'), 0, 0)).toBe(true);
    expect(latin1.str(st.read('app.js')!, 0, 100)).toBe('new');
  });

  test('the total size is limited and free() accounts for every file', () => {
    const st = new Sim({ storageSize: 100 }).storage;
    expect(st.free()).toBe(100);
    expect(st.write('a', new Uint8Array(60), 0, 0)).toBe(true);
    expect(st.free()).toBe(40);
    expect(st.write('b', new Uint8Array(50), 0, 0)).toBe(false);
    expect(st.write('b', new Uint8Array(10), 0, 41)).toBe(false);
    expect(st.write('b', new Uint8Array(40), 0, 0)).toBe(true);
    expect(st.free()).toBe(0);
    expect(st.write('a', new Uint8Array(70), 0, 0)).toBe(false);
    expect(st.write('a', new Uint8Array(50), 0, 0)).toBe(true);
    expect(st.free()).toBe(10);
    expect(st.erase('a')).toBe(true);
    expect(st.erase('a')).toBe(false);
    expect(st.free()).toBe(60);
    expect(st.read('a')).toBeNull();
  });

  test('list() filters by prefix and read() returns a copy', () => {
    const st = new Sim().storage;
    st.write('cfg.wifi', latin1.bytes('1'), 0, 0);
    st.write('cfg.name', latin1.bytes('2'), 0, 0);
    st.write('app', latin1.bytes('3'), 0, 0);
    expect(st.list('cfg.')).toEqual(['cfg.name', 'cfg.wifi']);
    expect(st.list('')).toEqual(['app', 'cfg.name', 'cfg.wifi']);
    st.read('app')![0] = 0;
    expect(latin1.str(st.read('app')!, 0, 1)).toBe('3');
  });
});

describe('wifi', () => {
  const net = { ssid: 'home', rssi: -50, channel: 6, auth: 'wpa2' };

  test('a scan completes after scanMs of sim time', () => {
    const sim = new Sim();
    sim.wifi.networks = [net];
    const res: unknown[] = [];
    sim.wifi.scan((err, list) => res.push([err, list, sim.now()]));
    sim.advance(1499);
    expect(res).toEqual([]);
    sim.advance(1);
    expect(res).toEqual([[null, [net], 1500]]);
  });

  test('a second scan while one runs fails with "busy", asynchronously', () => {
    const sim = new Sim();
    const res: unknown[] = [];
    sim.wifi.scan((err) => res.push(['first', err]));
    sim.wifi.scan((err, list) => res.push(['second', err, list]));
    expect(res).toEqual([]);
    sim.run();
    expect(res).toEqual([['second', 'busy', null]]);
    sim.advance(1500);
    expect(res[1]).toEqual(['first', null]);
  });

  test('failNextScan fails exactly one scan', () => {
    const sim = new Sim();
    sim.wifi.scanMs = 10;
    sim.wifi.failNextScan = 'radio off';
    const res: unknown[] = [];
    sim.wifi.scan((err, list) => res.push([err, list]));
    expect(sim.wifi.failNextScan).toBeNull();
    sim.advance(10);
    sim.wifi.scan((err, list) => res.push([err, list]));
    sim.advance(10);
    expect(res).toEqual([
      ['radio off', null],
      [null, []],
    ]);
  });

  test('connect checks the SSID and password; status() follows', () => {
    const sim = new Sim();
    sim.wifi.networks = [net, { ssid: 'cafe', rssi: -80, channel: 1, auth: 'open' }];
    sim.wifi.passwords = { home: 'secret123' };
    const res: unknown[] = [];
    expect(sim.wifi.status().sta).toBe('off');
    sim.wifi.connect('nowhere', 'x', (e) => res.push(e));
    sim.run();
    sim.wifi.connect('home', 'wrong', (e) => res.push(e));
    sim.run();
    expect(sim.wifi.status()).toEqual({ sta: 'wrong_password', ssid: '', ip: '0.0.0.0', apIp: '0.0.0.0', rssi: 0 });
    sim.wifi.connect('cafe', '', (e) => res.push(e));
    sim.run();
    sim.wifi.connect('home', 'secret123', (e) => res.push(e));
    expect(sim.wifi.status().sta).toBe('connecting');
    sim.run();
    expect(res).toEqual(['not found', 'auth', null, null]);
    expect(sim.wifi.status()).toEqual({ sta: 'connected', ssid: 'home', ip: '192.168.1.50', apIp: '0.0.0.0', rssi: -50 });
    sim.wifi.disconnect();
    expect(sim.wifi.status().sta).toBe('off');
  });

  test('a join superseded by disconnect() is told "aborted"', () => {
    const sim = new Sim();
    sim.wifi.networks = [net];
    sim.wifi.connectMs = 100;
    const res: unknown[] = [];
    sim.wifi.connect('home', '', (e) => res.push(e));
    sim.wifi.disconnect();
    sim.advance(200);
    expect(res).toEqual(['aborted']);
  });

  test('startAP starts an access point', () => {
    const sim = new Sim();
    const res: unknown[] = [];
    sim.wifi.startAP('setup-1234', 'short', (e) => res.push(e));
    sim.wifi.startAP('setup-1234', '', (e) => res.push(e));
    expect(res).toEqual([]);
    sim.run();
    expect(res).toEqual(['bad password', null]);
    expect(sim.wifi.ap).toEqual({ ssid: 'setup-1234', password: '' });
    expect(sim.wifi.status().apIp).toBe('192.168.4.1');
  });
});

describe('codec, memory and log', () => {
  test('the codec is latin1 and binary-safe', () => {
    const sim = new Sim();
    const all = new Uint8Array(256).map((_, i) => i);
    const s = sim.codec.str(all, 0, 256);
    expect(s.length).toBe(256);
    expect(s.charCodeAt(255)).toBe(255);
    expect(sim.codec.bytes(s)).toEqual(all);
    expect(sim.codec.str(all, 65, 67)).toBe('AB');
    expect(Array.from(sim.codec.bytes('\u0141'))).toEqual([0x41]);
  });

  test('mem.usage() is plausible and log() keeps every line', () => {
    const sim = new Sim({ memTotal: 1000 });
    const u = sim.mem.usage();
    expect(u.unit).toBe('bytes');
    expect(u.total).toBe(1000);
    expect(u.used).toBeGreaterThan(0);
    expect(u.used).toBeLessThan(u.total);
    const log = sim.log;
    log('one');
    sim.log('two');
    expect(sim.logs).toEqual(['one', 'two']);
  });
});

describe('Sim UDP', () => {
  /** The device side bound to `port`: what it received (latin1), and its socket. */
  function device(sim: Sim, port = 53) {
    const got: { data: string; addr: string; port: number; view: Uint8Array }[] = [];
    const sock = sim.udp.bind(port, (d, addr, p) => got.push({ data: latin1.str(d, 0, d.length), addr, port: p, view: d }))!;
    return { got, sock };
  }

  test('datagrams are events: nothing arrives before run(), in either direction', () => {
    const sim = new Sim();
    const d = device(sim);
    const c = sim.udpClient();
    c.send('q', 53);
    expect(d.got).toEqual([]);
    sim.run();
    expect(d.got.map((g) => [g.data, g.addr, g.port])).toEqual([['q', c.addr, c.port]]);
    expect(d.sock.send(latin1.bytes('a'), 0, 1, c.addr, c.port)).toBe(true);
    expect(c.received).toEqual([]);
    sim.run();
    expect(c.take()).toEqual([{ data: 'a', addr: '192.168.4.1', from: 53 }]);
    expect(c.take()).toEqual([]);
  });

  test('a datagram reaches a peer only at its own address; a closed peer gets nothing', () => {
    const sim = new Sim();
    const d = device(sim);
    const c = sim.udpClient(5000, '10.0.0.9');
    d.sock.send(latin1.bytes('wrong'), 0, 5, '10.0.0.8', 5000);
    d.sock.send(latin1.bytes('right'), 0, 5, '10.0.0.9', 5000);
    sim.run();
    expect(c.received.map((r) => r.data)).toEqual(['right']);
    c.close();
    d.sock.send(latin1.bytes('late'), 0, 4, '10.0.0.9', 5000);
    sim.run();
    expect(c.received).toHaveLength(1);
    expect(() => c.send('x', 53)).toThrow(/after close/);
    expect(() => sim.udpClient(53)).toThrow(/taken/);
  });

  test('the device receives at most udpRecvMax bytes (528, as ESP32); the view is scribbled over once recv returns', () => {
    const sim = new Sim();
    const d = device(sim);
    const c = sim.udpClient();
    c.send('x'.repeat(600), 53);
    sim.run();
    expect(d.got[0].data).toBe('x'.repeat(528));
    expect(latin1.str(d.got[0].view, 0, 3)).toBe('\xee\xee\xee');
    sim.udpRecvMax = 1000;
    c.send('y'.repeat(600), 53);
    sim.run();
    expect(d.got[1].data.length).toBe(600);
  });

  test('loss, duplication and delay, as functions of the datagram number or seeded probabilities', () => {
    const sim = new Sim();
    const d = device(sim);
    const c = sim.udpClient();
    sim.udpLoss = (n) => n === 1;
    sim.udpDup = (n) => n === 2;
    sim.udpDelay = (n, copy) => (n === 0 ? 10 : copy ? 5 : 0);
    for (const s of ['late', 'lost', 'twice', 'plain']) c.send(s, 53);
    sim.run();
    expect(d.got.map((g) => g.data)).toEqual(['twice', 'plain']);
    sim.advance(5);
    expect(d.got.map((g) => g.data)).toEqual(['twice', 'plain', 'twice']);
    sim.advance(5);
    expect(d.got.map((g) => g.data)).toEqual(['twice', 'plain', 'twice', 'late']);
    expect(sim.udpSent).toBe(4);

    const rate = (seed: number) => {
      const s = new Sim({ seed });
      const dev = device(s);
      const cl = s.udpClient();
      s.udpLoss = 0.3;
      s.udpDup = 0.1;
      for (let i = 0; i < 1000; i++) cl.send('d' + i, 53);
      s.run();
      return dev.got.map((g) => g.data);
    };
    const a = rate(7);
    expect(rate(7)).toEqual(a);
    expect(a.length).toBeGreaterThan(700);
    expect(a.length).toBeLessThan(850);
    expect(new Set(a).size).toBeLessThan(a.length);
  });

  test('bind refuses a bad or taken port; close frees it; send checks its arguments', () => {
    const sim = new Sim();
    expect(sim.udp.bind(0, () => {})).toBeNull();
    expect(sim.udp.bind(65536, () => {})).toBeNull();
    const d = device(sim);
    expect(sim.udp.bind(53, () => {})).toBeNull();
    expect(sim.udpPorts()).toEqual([53]);
    const b = latin1.bytes('abc');
    expect(d.sock.send(b, 2, 2, '10.0.0.2', 1)).toBe(false);
    expect(d.sock.send(b, 0, 3, '10.0.0.2', 0)).toBe(false);
    expect(d.sock.send(new Uint8Array(65508), 0, 65508, '10.0.0.2', 1)).toBe(false);
    d.sock.close();
    expect(sim.udpPorts()).toEqual([]);
    expect(d.sock.send(b, 0, 3, '10.0.0.2', 1)).toBe(false);
    expect(sim.udp.bind(53, () => {})).not.toBeNull();
  });
});
