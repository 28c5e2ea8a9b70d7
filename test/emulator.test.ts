/**
 * The emulator behaves like Espruino 2v29 on an ESP32: what the sandbox lacks,
 * how sockets deliver and send, Storage limits and persistence, the radio,
 * process.memory(), and booting from Storage. Real loopback sockets; waits
 * are "until the condition holds", never timing margins.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { startEmulator } from '../emulator';
import { start, until } from './e2e/emulators';

const FIX = path.join(__dirname, 'fixtures', 'emulator');
const fixture = (name: string) => path.join(FIX, name);

/** Send `data` (optionally half-closing) and collect the reply until the server closes. */
function exchange(port: number, data: string, halfClose = false): Promise<{ text: string; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let ended = false;
    s.setEncoding('latin1');
    s.on('data', (d: string) => { text += d; });
    s.on('end', () => { ended = true; });
    s.on('error', () => {});
    s.on('close', () => resolve({ text, ended }));
    s.on('connect', () => {
      if (halfClose) s.end(data, 'latin1');
      else s.write(data, 'latin1');
    });
    s.setTimeout(10000, () => reject(new Error('no reply')));
  });
}

const pattern = (n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(i & 255);
  return s;
};

describe('the sandbox has what Espruino 2v29 has, and nothing of Node', () => {
  test('globals and methods missing on the board are missing here', async () => {
    const e = await start({ code: '' });
    const absent = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Proxy', 'Reflect', 'BigInt', 'TextEncoder', 'TextDecoder',
      'Buffer', 'setImmediate', 'queueMicrotask', 'structuredClone', 'Intl', 'WebAssembly', 'RangeError', 'module', 'exports',
      'Array.from', 'Array.of', 'Object.freeze', 'Object.seal', 'Object.is', 'Number.isInteger', 'Math.trunc', 'Math.imul',
      'Math.log2', 'Date.UTC', '[].lastIndexOf', '[].flat', '[].at', '"".trimStart', '"".codePointAt', 'Promise.race',
      'Promise.prototype.finally', 'Uint8Array.from', 'new Uint8Array(1).copyWithin', 'process.env.PATH', 'process.argv',
      'process.exit', 'process.nextTick'];
    for (const a of absent) expect([a, e.eval('typeof ' + a)]).toEqual([a, 'undefined']);
    const present = ['Promise', 'E.toString', 'E.toUint8Array', 'getTime', 'setTimeout', 'print', 'require', 'btoa',
      'process.memory', 'Object.entries', '"".padStart', '[].includes', 'Math.sign', 'InternalError', 'global'];
    for (const p of present) expect([p, e.eval('typeof ' + p)]).not.toEqual([p, 'undefined']);
    expect(e.eval('process.version')).toBe('2v29');
  });

  // Each line's expected value is what the Linux build of 2v29 prints for the same line.
  test.each([
    [
      "String indexOf keeps 2v29's quirk: a tail that begins the needle counts as a match",
      'JSON.stringify(["abc".indexOf("cde"), "abcab".indexOf("abx"), "a\\n".indexOf("\\nc"), "\\n".indexOf("\\nc"), "abc".indexOf("b"), "abcabc".indexOf("ca", 3), "abc".indexOf("x")])',
      "[2,3,1,-1,1,5,-1]",
    ],
    [
      "typed-array set() takes a string as 2v29 does: char codes, what fits, signed chars for wider arrays",
      'var u = new Uint8Array(4); u.set("AB", 1); var v = new Uint8Array(4); v.set("ABCDE"); var w = new Uint8Array(4); w.set("AB", 3);' +
        'var x = new Uint16Array(3); x.set("A\\xff"); var y = new Uint8Array(70); y.set("\\xff".repeat(70)); [u.join(), v.join(), w.join(), x.join(), y[0], y[69]].join(" ")',
      "0,65,66,0 65,66,67,68 0,0,0,65 65,65535,0 255 255",
    ],
    [
      "JSON.parse reads UTF-8 in its input as the characters it encodes; JSON.stringify writes characters from 127 up as \\uXXXX",
      'var s = JSON.parse(\'"Caf\\xC3\\xA9"\'); [s.length, s.charCodeAt(3), JSON.stringify(s), JSON.stringify("\\xe9"), JSON.stringify("a\\u4e00"), JSON.parse(\'{"a":"\\\\u4e00"}\').a.length].join(" ")',
      '4 233 "Caf\\u00E9" "\\u00E9" "a\\u4E00" 1',
    ],
    [
      "JSON.stringify writes typed arrays and ArrayBuffers as arrays, as 2v29 does",
      "JSON.stringify({a: new Uint8Array([1,2]), b: new Int16Array([-1, 300]), c: new Float32Array([1.5]), d: new Uint8Array([1,2]).buffer})",
      '{"a":[1,2],"b":[-1,300],"c":[1.5],"d":[1,2]}',
    ],
  ])("%s", async (_name, line, printed) => {
    const e = await start({ code: '' });
    expect(e.eval(line)).toBe(printed);
  });

  test('require finds built-ins, then Storage modules, else fails like the board', async () => {
    const e = await start({ code: '' });
    expect(e.eval('typeof require("net").createServer')).toBe('function');
    expect(() => e.eval('require("child_process")')).toThrow('Module "child_process" not found');
    expect(() => e.eval('require("tls")')).toThrow(/not emulated/);
    e.eval('require("Storage").write("mymod", "exports.twice = function (x) { return 2 * x; };")');
    expect(e.eval('require("mymod").twice(21)')).toBe(42);
  });

  test('code Espruino cannot parse, or that relies on hoisting, is refused', async () => {
    await expect(startEmulator({ bundle: fixture('uses-destructuring.js'), quiet: true })).rejects.toThrow(/destructuring/);
    await expect(startEmulator({ bundle: fixture('hoisting.js'), quiet: true })).rejects.toThrow(/start is used before its declaration/);
  });

  test('timers return numeric ids that are reused once free, and clearTimeout(undefined) throws', async () => {
    const e = await start({ code: '' });
    const a = e.eval('var t1 = setTimeout(function(){}, 100000); t1');
    const b = e.eval('setTimeout(function(){}, 100000)');
    expect([a, b]).toEqual([1, 2]);
    e.eval('clearTimeout()');
    expect(e.eval('setTimeout(function(){}, 100000)')).toBe(1);
    expect(() => e.eval('clearTimeout(undefined)')).toThrow('clearTimeout(undefined) not allowed');
    e.eval('var fired = 0; setTimeout(function(){ fired++; }, 0);');
    await until(() => e.eval('fired') === 1);
  });

  test('E.toString / E.toUint8Array convert bytes, emit() is asynchronous', async () => {
    const e = await start({ code: '' });
    expect(e.eval('E.toString(new Uint8Array([72, 105]))')).toBe('Hi');
    expect(e.eval('E.toString([1, 2], 3, "AB")')).toBe('\x01\x02\x03AB');
    expect(e.eval('Array.prototype.join.call(E.toUint8Array("\\xff\\x00A"), ",")')).toBe('255,0,65');
    expect(e.eval('E.toUint8Array({ data: [7], count: 3 }).length')).toBe(3);
    e.eval('var o = {}; var seen = 0; o.on("x", function (v) { seen = v; }); o.emit("x", 5); var sync = seen;');
    expect(e.eval('sync')).toBe(0);
    await until(() => e.eval('seen') === 5);
  });
});

describe('net', () => {
  test('received data arrives as strings of at most 536 bytes, binary-safe', async () => {
    const e = await start({ bundle: fixture('net-server.js') });
    const payload = pattern(5000);
    const r = await exchange(e.port, 'echo 5000\n' + payload);
    expect(r.text).toBe(payload);
    const pieces = e.eval('log.pieces') as [string, number][];
    expect(pieces.length).toBeGreaterThanOrEqual(Math.ceil(5010 / 536));
    for (const [type, len] of pieces) {
      expect(type).toBe('string');
      expect(len).toBeLessThanOrEqual(536);
    }
    expect(pieces.reduce((n, p) => n + p[1], 0)).toBe(5010);
  });

  test('write() returns false', async () => {
    const e = await start({ bundle: fixture('net-server.js') });
    expect((await exchange(e.port, 'ret\n')).text).toBe('xfalse');
  });

  test('writing a Uint8Array sends its elements joined by commas, as on the board', async () => {
    const e = await start({ bundle: fixture('net-server.js') });
    expect((await exchange(e.port, 'u8\n')).text).toBe('65,66,67');
  });

  test('drain fires once the send buffer is empty', async () => {
    const e = await start({ bundle: fixture('net-server.js') });
    const r = await exchange(e.port, 'drain 3000\n');
    expect(r.text).toBe(pattern(3000) + 'DRAINED');
    expect(e.eval('log.drains')).toBe(1);
  });

  test('end(data) flushes everything, then closes; writing after close throws', async () => {
    const e = await start({ bundle: fixture('net-server.js') });
    const r = await exchange(e.port, 'big 20000\n');
    expect(r.ended).toBe(true);
    expect(r.text).toBe(pattern(20000));
    await until(() => e.eval('log.closes.length') === 1);
    expect(e.eval('log.closes[0]')).toBe(false);
    expect(e.eval('log.writeAfterClose')).toBe('This socket is closed');
  });

  test('a client half-close closes the socket on the device (ESP32 recv() of 0 is a close)', async () => {
    const e = await start({ bundle: fixture('net-server.js') });
    const r = await exchange(e.port, 'half 2000\n', true);
    await until(() => e.eval('log.closes.length') === 1);
    expect(pattern(2000).startsWith(r.text)).toBe(true);
  });

  test('sockets have no destroy(), and a busy device port cannot be listened on twice', async () => {
    const e = await start({ bundle: fixture('net-server.js') });
    expect(e.eval('typeof require("net").connect({ port: ' + e.port + ' }).destroy')).toBe('undefined');
    expect(() => e.eval('require("net").createServer(function(){}).listen(80)')).toThrow('Unable to create socket');
  });

  test('a host port already in use makes start fail', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startEmulator({ bundle: fixture('net-server.js'), port, quiet: true })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  test('at most 10 sockets exist, the listener included: the 10th client is closed at once', async () => {
    const e = await start({ code: 'var n = 0; require("net").createServer(function (c) { n++; }).listen(80);' });
    const clients: net.Socket[] = [];
    try {
      for (let i = 0; i < 9; i++) {
        const c = net.connect(e.port, '127.0.0.1');
        c.on('error', () => {});
        clients.push(c);
      }
      await until(() => e.eval('n') === 9);
      const extra = net.connect(e.port, '127.0.0.1');
      extra.on('error', () => {});
      clients.push(extra);
      await new Promise((r) => extra.on('close', r));
      expect(e.eval('n')).toBe(9);
    } finally {
      for (const c of clients) c.destroy();
    }
  });

  test('server.close() stops accepting; an open connection still works', async () => {
    const e = await start({ code: 'var srv = require("net").createServer(function (c) { c.on("data", function (d) { c.write(d.toUpperCase()); }); }).listen(80);' });
    const port = e.port;
    const open = net.connect(port, '127.0.0.1');
    open.setEncoding('latin1');
    let got = '';
    open.on('data', (d: string) => { got += d; });
    await new Promise((r) => open.on('connect', r));
    open.write('a');
    await until(() => got === 'A');
    e.eval('srv.close()');
    const refused = await new Promise<string>((r) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', (err: NodeJS.ErrnoException) => r(String(err.code)));
      c.on('close', () => r('closed'));
    });
    expect(['ECONNRESET', 'closed']).toContain(refused);
    open.write('b');
    await until(() => got === 'AB');
    open.destroy();
  });

  test('net.connect reaches a host server: connect callback, data, end and close', async () => {
    const host = net.createServer((s) => s.end('hello device'));
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
    const port = (host.address() as net.AddressInfo).port;
    try {
      const e = await start({ code: '' });
      e.eval('var got = "", evs = []; var s = require("net").connect({ host: "127.0.0.1", port: ' + port + ' }, function () { evs.push("connect"); });' +
        's.on("data", function (d) { got += d; }); s.on("end", function () { evs.push("end"); }); s.on("close", function (h) { evs.push("close " + h); });');
      await until(() => (e.eval('evs') as string[]).length === 3);
      expect(e.eval('got')).toBe('hello device');
      expect(e.eval('evs')).toEqual(['connect', 'end', 'close false']);
    } finally {
      host.close();
    }
  });
});

describe('Storage', () => {
  test('names longer than 28 characters are truncated silently', async () => {
    const e = await start({ code: '' });
    const long = 'abcdefghijklmnopqrstuvwxyz0123456789';
    expect(e.eval('require("Storage").write("' + long + '", "v")')).toBe(true);
    expect(e.eval('require("Storage").list()')).toEqual([long.slice(0, 28)]);
    expect(e.eval('require("Storage").read("' + long.slice(0, 28) + '")')).toBe('v');
    expect(e.eval('require("Storage").read("' + long.slice(0, 28) + 'other")')).toBe('v');
    expect(e.eval('require("Storage").read("missing")')).toBeUndefined();
  });

  test('the size limit is enforced: getFree shrinks, a write past it throws, compaction reclaims erased files', async () => {
    const e = await start({ code: '', storageSize: 8192 });
    const free0 = e.eval('require("Storage").getFree()') as number;
    expect(free0).toBe(8192);
    e.eval('require("Storage").write("a", E.toString({ data: 0, count: 3000 }))');
    expect(e.eval('require("Storage").getFree()')).toBe(8192 - 3000 - 32);
    e.eval('require("Storage").write("b", E.toString({ data: 0, count: 3000 }))');
    expect(() => e.eval('require("Storage").write("c", E.toString({ data: 0, count: 3000 }))')).toThrow('Unable to find or create file');
    e.eval('require("Storage").erase("a")');
    expect(e.eval('require("Storage").getFree()')).toBe(8192 - 2 * 3032); // erased files are trash until compaction
    expect(e.eval('require("Storage").write("c", E.toString({ data: 0, count: 3000 }))')).toBe(true);
    expect(e.eval('require("Storage").list()')).toEqual(['b', 'c']);
  });

  test('write(name, data, offset, size) fills a file in place; writeJSON needs readJSON', async () => {
    const e = await start({ code: '' });
    e.eval('var S = require("Storage"); S.write("f", "Hello", 0, 14); S.write("f", " ", 5); S.write("f", "World!!!", 6);');
    expect(e.eval('S.read("f")')).toBe('Hello World!!!');
    expect(() => e.eval('S.write("f", "x", 3)')).toThrow('File already written with different data');
    e.eval('S.writeJSON("j", { ssid: "home", n: 3 })');
    expect(e.eval('S.read("j")')).toBe('{ssid:"home",n:3}');
    expect(e.eval('S.readJSON("j").ssid')).toBe('home');
    expect(e.eval('S.readJSON("f", true)')).toBeUndefined();
  });

  test('StorageFile appends and reads lines', async () => {
    const e = await start({ code: '' });
    e.eval('var f = require("Storage").open("log", "a"); f.write("one\\n"); f.write("two\\n");');
    expect(e.eval('var r = require("Storage").open("log", "r"); [r.readLine(), r.readLine(), r.readLine()]')).toEqual(['one\n', 'two\n', undefined]);
  });

  test('files survive a restart of the emulator (same data folder)', async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-'));
    try {
      const e1 = await start({ code: 'require("Storage").write("kept", "across restarts");', data });
      await e1.stop();
      const e2 = await start({ data });
      expect(e2.eval('require("Storage").read("kept")')).toBe('across restarts');
      expect(e2.storage.readString('.bootcde')).toContain('across restarts');
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('Wifi', () => {
  const wifi = { scanMs: 40, connectMs: 20, dhcpMs: 10, networks: [{ ssid: 'home', password: 'secret123', rssi: -40, channel: 6 }, { ssid: 'cafe', rssi: -70 }] };

  test('scan takes its latency, one at a time, and calls back with the list only', async () => {
    const e = await start({ bundle: fixture('wifi-events.js'), wifi });
    const t0 = Date.now();
    e.eval('var scans = []; require("Wifi").scan(function () { scans.push(Array.prototype.slice.call(arguments)); });');
    expect(() => e.eval('require("Wifi").scan(function () {})')).toThrow('A scan is already in progress');
    expect(e.eval('scans.length')).toBe(0);
    await until(() => e.eval('scans.length') === 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(wifi.scanMs - 1);
    const args = e.eval('scans[0]') as any[];
    expect(args.length).toBe(1);
    expect(args[0].map((n: any) => n.ssid)).toEqual(['home', 'cafe']);
    expect(args[0][0]).toEqual({ rssi: -40, authMode: 'wpa2', ssid: 'home', mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/), channel: '6' });
  });

  test('connect fails on a wrong password (only "disconnected", no callback) and succeeds on the right one', async () => {
    const e = await start({ bundle: fixture('wifi-events.js'), wifi });
    e.eval('var cbs = []; require("Wifi").connect("home", { password: "wrong" }, function (err) { cbs.push(err); });');
    await until(() => (e.eval('ev') as any[]).some((x) => x[0] === 'disconnected'));
    expect(e.eval('ev.filter(function (x) { return x[0] === "disconnected"; })[0][1]')).toMatchObject({ ssid: 'home', reason: '15', msg: '4WAY_HANDSHAKE_TIMEOUT' });
    expect(e.eval('cbs')).toEqual([]);
    e.eval('require("Wifi").connect("home", { password: "secret123" }, function (err) { cbs.push(err); });');
    await until(() => (e.eval('cbs') as any[]).length === 1);
    expect(e.eval('cbs')).toEqual([null]);
    await until(() => (e.eval('ev') as any[]).some((x) => x[0] === 'connected'));
    expect(e.eval('require("Wifi").getIP().ip')).toBe('192.168.1.77');
    expect(e.eval('require("Wifi").getStatus().station')).toBe('connected');
    expect(e.eval('ev.map(function (x) { return x[0]; })')).toEqual(['disconnected', 'associated', 'connected']);
  });

  test('access point mode: startAP calls back, clients joining and leaving are events', async () => {
    const e = await start({ bundle: fixture('wifi-events.js'), wifi });
    e.eval('var ap = []; require("Wifi").startAP("device", { password: "password1", authMode: "wpa2" }, function (err) { ap.push(err); });');
    await until(() => (e.eval('ap') as any[]).length === 1);
    expect(e.eval('require("Wifi").getAPDetails()')).toMatchObject({ ssid: 'device', authMode: 'wpa2' });
    expect(() => e.eval('require("Wifi").startAP("x", { password: "short" })')).toThrow('Password must be string of at least 8 characters');
    e.wifi.joinAP('aa:bb:cc:dd:ee:ff');
    e.wifi.leaveAP('aa:bb:cc:dd:ee:ff');
    await until(() => (e.eval('ev') as any[]).length === 2);
    expect(e.eval('ev')).toEqual([['sta_joined', { mac: 'aa:bb:cc:dd:ee:ff' }], ['sta_left', { mac: 'aa:bb:cc:dd:ee:ff' }]]);
  });
});

describe('process.memory() and reboots', () => {
  test('process.memory() has the device shape and grows with what the firmware keeps', async () => {
    const e = await start({ code: 'var keep = [];', memoryTtl: 0 });
    const m = e.eval('process.memory()');
    expect(Object.keys(m).sort()).toEqual(['blocksize', 'free', 'gc', 'gctime', 'history', 'total', 'usage']);
    expect(m.total).toBe(16383);
    expect(m.blocksize).toBe(14);
    expect(m.free + m.usage).toBe(m.total);
    expect(m.usage).toBeGreaterThan(0);
    e.eval('for (var i = 0; i < 200; i++) keep.push("a string of forty characters, more or less " + i);');
    const m2 = e.eval('process.memory()');
    expect(m2.usage - m.usage).toBeGreaterThanOrEqual(200 * 4);
    expect(e.eval('E.getSizeOf(new Uint8Array(2048))')).toBeGreaterThan(140);
  });

  test('reboot reloads the firmware from Storage, on the same host port', async () => {
    const e = await start({ bundle: fixture('boot-counter.js') });
    const port = e.port;
    expect((await exchange(port, '')).text).toBe('boot 1');
    await e.reboot();
    expect(e.port).toBe(port);
    expect((await exchange(port, '')).text).toBe('boot 2');
    e.eval('E.reboot()');
    await until(() => e.eval('typeof boots !== "undefined" && boots') === 3);
    expect((await exchange(port, '')).text).toBe('boot 3');
    e.eval('load()');
    await until(() => e.eval('typeof boots !== "undefined" && boots') === 4);
    e.eval('reset()');
    await until(() => e.eval('typeof boots') === 'undefined'); // reset() runs .bootrst only, not .bootcde
    expect(e.storage.readString('boots')).toBe('4');
  });
});

describe('command line', () => {
  test('node emulator/cli.js flashes the bundle, prints the address it serves on, and stops on SIGTERM', async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-cli-'));
    const cli = spawn(process.execPath, [path.join(__dirname, '..', 'emulator', 'cli.js'), '--bundle', fixture('boot-counter.js'), '--port', '0', '--dns-port', '0', '--data', data, '--prefix', '[esp] ']);
    try {
      let out = '';
      cli.stdout.setEncoding('utf8');
      cli.stdout.on('data', (d: string) => { out += d; });
      const url = (await until(() => /Serving on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out))) as RegExpExecArray;
      expect((await exchange(Number(url[2]), '')).text).toBe('boot 1');
      const exit = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)));
      cli.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(fs.existsSync(path.join(data, 'storage.bin'))).toBe(true);
    } finally {
      cli.kill('SIGKILL');
      fs.rmSync(data, { recursive: true, force: true });
    }
  });
});
