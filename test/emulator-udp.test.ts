/**
 * The emulator's `require("dgram")`, held to Espruino 2v29 on ESP32 (libs/network/jswrap_net.c,
 * socketserver.c, esp32/network_esp32.c at the release commit 6106910b8): device code answers datagrams
 * from real host UDP sockets on the host port its device port maps to.
 */
import { spawn } from 'child_process';
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Emulator } from '../emulator';
import type { Udp } from '../hal/hal';
import { start, until } from './e2e/emulators';
import { buildBundle } from './e2e/harness';

const ROOT = path.resolve(__dirname, '..');

/** A host UDP client on loopback: what it received (latin1) and from which host port. */
async function client(): Promise<{ sock: dgram.Socket; got: { data: string; port: number }[]; send(d: string | Buffer, port: number): void; close(): void }> {
  const sock = dgram.createSocket('udp4');
  const got: { data: string; port: number }[] = [];
  sock.on('message', (m, r) => got.push({ data: m.toString('latin1'), port: r.port }));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return {
    sock,
    got,
    send: (d, port) => sock.send(Uint8Array.from(typeof d === 'string' ? Buffer.from(d, 'latin1') : d), port, '127.0.0.1'),
    close: () => sock.close(),
  };
}
const clients: { close(): void }[] = [];
afterEach(() => {
  while (clients.length) clients.pop()!.close();
});
async function peer() {
  const c = await client();
  clients.push(c);
  return c;
}

/** A device that answers on UDP port 53 with "re:" + the message, and logs what it got. */
const ECHO = `
var d = require('dgram');
var log = [];
var s = d.createSocket('udp4');
s.on('message', function (m, r) {
  log.push({ m: m, t: typeof m, r: r });
  s.send('re:' + m, r.port, r.address);
});
s.bind(53);
`;

const allBytes = (): string => {
  let s = '';
  for (let i = 0; i < 256; i++) s += String.fromCharCode(i);
  return s;
};

describe('require("dgram") in the emulator', () => {
  test('is built in on every board: createSocket, bind, send, close, addMembership; no address()', async () => {
    for (const board of ['esp32', 'esp32c3', 'esp32s3']) {
      const e = await start({ code: 'var d = require("dgram"); var s = d.createSocket("udp4");', board });
      expect(e.eval('[typeof d.createSocket, typeof s.bind, typeof s.send, typeof s.close, typeof s.addMembership, typeof s.address].join()'))
        .toBe('function,function,function,function,function,undefined');
    }
  });

  test('device code bound to port 53 answers a host client on the mapped port: binary strings in, rinfo, bytes intact both ways', async () => {
    const e = await start({ code: ECHO });
    const host = e.udpPorts[53];
    expect(host).toBeGreaterThan(0);
    const c = await peer();
    c.send(allBytes(), host);
    await until(() => c.got.length > 0);
    expect(c.got[0]).toEqual({ data: 're:' + allBytes(), port: host });
    expect(e.eval('log[0].t')).toBe('string');
    expect(e.eval('log[0].m') as string).toBe(allBytes());
    expect(e.eval('JSON.stringify(log[0].r)')).toBe(JSON.stringify({ address: '127.0.0.1', port: c.sock.address().port, size: 256 }));
  });

  test('a Uint8Array given to send() goes out as the text "65,66,67"; E.toString makes it bytes; (msg, offset, length, port, address) too', async () => {
    const e = await start({ code: 'var s = require("dgram").createSocket("udp4"); s.bind(53);' });
    const c = await peer();
    const p = c.sock.address().port;
    e.eval(`s.send(new Uint8Array([65, 66, 67]), ${p}, "127.0.0.1")`);
    await until(() => c.got.length === 1);
    e.eval(`s.send(E.toString(new Uint8Array([65, 0, 255])), ${p}, "127.0.0.1")`);
    await until(() => c.got.length === 2);
    e.eval(`s.send("xxhelloxx", 2, 5, ${p}, "localhost")`);
    await until(() => c.got.length === 3);
    expect(c.got.map((g) => g.data)).toEqual(['65,66,67', 'A\x00\xff', 'hello']);
  });

  test('ESP32 reads at most 528 bytes of a datagram (rinfo.size 528); sending 1000 bytes sends them all', async () => {
    const e = await start({ code: ECHO });
    const c = await peer();
    c.send('x'.repeat(1000), e.udpPorts[53]);
    await until(() => c.got.length > 0);
    expect(e.eval('log[0].m.length + "/" + log[0].r.size')).toBe('528/528');
    expect(c.got[0].data).toBe('re:' + 'x'.repeat(528));
    e.eval(`s.send("${'y'.repeat(1000)}", ${c.sock.address().port}, "127.0.0.1")`);
    await until(() => c.got.length > 1);
    expect(c.got[1].data.length).toBe(1000);
  });

  test('bind(port, cb): cb gets the socket, createSocket\'s callback is its first pass; a port bound twice throws, still calls cb, and that socket closes', async () => {
    const e = await start({
      code: `
      var ev = [];
      var a = require('dgram').createSocket('udp4', function (x) { ev.push('connect ' + (x === a)); });
      a.bind(53, function (x) { ev.push('bound ' + (x === a)); });
      var b = require('dgram').createSocket('udp4');
      b.on('close', function (h) { ev.push('b close ' + h); });
      b.on('end', function () { ev.push('b end'); });
      try { b.bind(53, function (x) { ev.push('b bound ' + (x === b)); }); } catch (err) { ev.push(err.name + ': ' + err.message); }
      `,
    });
    await until(() => (e.eval('ev.length') as number) >= 5);
    expect(e.eval('ev')).toEqual(['InternalError: Unable to create socket', 'bound true', 'b bound true', 'connect true', 'b end', 'b close false']);
    expect(e.logs).toContain('ERROR: Socket bind failed');
    expect(() => e.eval('b.send("x", 1, "127.0.0.1")')).toThrow('This socket is closed');
  });

  test('close(): end and close(false) twice for a bound socket; send() then throws; the port binds again on the next pass', async () => {
    const e = await start({ code: ECHO + 'var ev = []; s.on("end", function () { ev.push("end"); }); s.on("close", function (h) { ev.push("close " + h); });' });
    const c = await peer();
    c.send('one', e.udpPorts[53]);
    await until(() => c.got.length === 1);
    e.eval('s.close()');
    expect(() => e.eval('s.send("x", 1, "127.0.0.1")')).toThrow('This socket is closed');
    await until(() => (e.eval('ev.length') as number) === 4);
    expect(e.eval('ev')).toEqual(['end', 'close false', 'end', 'close false']);
    c.send('lost', e.udpPorts[53]);
    await new Promise((r) => setTimeout(r, 50));
    expect(e.eval('log.length')).toBe(1);
    const host = e.udpPorts[53];
    e.eval('s = require("dgram").createSocket("udp4"); s.on("message", function (m, r) { s.send("again:" + m, r.port, r.address); }); s.bind(53);');
    expect(e.udpPorts[53]).toBe(host);
    c.send('two', host);
    await until(() => c.got.length === 2);
    expect(c.got[1].data).toBe('again:two');
  });

  test('an empty datagram read first in a pass is ignored; read second (the client list\'s read) it closes the socket', async () => {
    const e = await start({ code: ECHO + 'var ev = []; s.on("close", function () { ev.push("close"); });' });
    const c = await peer();
    const host = e.udpPorts[53];
    c.send('', host);
    await new Promise((r) => setTimeout(r, 50));
    c.send('still here', host);
    await until(() => c.got.length === 1);
    expect(e.eval('ev.length')).toBe(0);
    // Two at once: the server list reads the first, the client list the empty one, which looks like a closed socket.
    c.send('first', host);
    c.send('', host);
    await until(() => (e.eval('ev.length') as number) === 2);
    expect(e.eval('log.map(function (l) { return l.m; })')).toEqual(['still here', 'first']);
  });

  test('the Espruino HAL (hal/espruino-udp.ts) binds the port again when an empty datagram closes its socket', async () => {
    const e = await start({ bundle: buildBundle('udp-hal-rebind', 'test/fixtures/udp/main.ts') });
    const udp = e.context.udpHal as Udp;
    const got: string[] = [];
    const sock = udp.bind(53, (d) => got.push(Buffer.from(d.buffer, d.byteOffset, d.length).toString('latin1')))!;
    expect(sock).not.toBeNull();
    const c = await peer();
    const host = e.udpPorts[53];
    c.send('first', host);
    c.send('', host);
    await until(() => got.length === 1);
    await new Promise((r) => setTimeout(r, 30));
    c.send('after', host);
    await until(() => got.length === 2);
    expect(got).toEqual(['first', 'after']);
    expect(sock.send(Uint8Array.from([1, 2]), 0, 2, '127.0.0.1', c.sock.address().port)).toBe(true);
    await until(() => c.got.length === 1);
    expect(c.got[0]).toEqual({ data: '\x01\x02', port: host });
    sock.close();
  });

  test('lwIP queues at most 6 datagrams per socket: a burst beyond that loses the rest', async () => {
    const e = await start({ code: ECHO });
    const c = await peer();
    for (let i = 0; i < 20; i++) c.send('d' + i, e.udpPorts[53]);
    await until(() => c.got.length >= 2);
    await new Promise((r) => setTimeout(r, 100));
    const n = e.eval('log.length') as number;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThan(20);
  });

  test('UDP sockets count against lwIP\'s 10 sockets: past them bind prints "Socket creation failed" and the socket is deaf', async () => {
    const map: Record<number, number> = {};
    for (let p = 6001; p <= 6011; p++) map[p] = 0;
    const e = await start({
      udpPortMap: map,
      code: `
      require('net').createServer(function () {}).listen(8080);
      var got = [];
      var socks = [];
      for (var p = 6001; p <= 6010; p++) {
        var s = require('dgram').createSocket('udp4');
        s.on('message', function (m) { got.push(m); });
        try { s.bind(p); socks.push('ok'); } catch (x) { socks.push(x.message); }
      }
      `,
    });
    // The listener and 9 UDP sockets: the tenth bind does not throw (ESP32's createsocket returns 0, not -1).
    expect(e.eval('socks.join()')).toBe('ok,ok,ok,ok,ok,ok,ok,ok,ok,ok');
    expect(e.logs.filter((l) => l === 'ERROR: Socket creation failed')).toHaveLength(1);
    const c = await peer();
    await until(() => e.udpPorts[6009] > 0);
    c.send('to 6009', e.udpPorts[6009]);
    await until(() => (e.eval('got.length') as number) === 1);
    expect(e.udpPorts[6010]).toBeUndefined();
    // A TCP listener finds no socket either.
    expect(() => e.eval('require("net").createServer(function () {}).listen(8081)')).toThrow('Unable to create socket');
    // An unbound socket needs one at its first send.
    e.eval('var s1 = require("dgram").createSocket("udp4");');
    expect(() => e.eval('s1.send("x", 9, "127.0.0.1")')).toThrow('Unable to create socket');
  });

  test('a datagram to the device\'s own port arrives from the sending socket\'s device port', async () => {
    const e = await start({
      udpPortMap: { 6000: 0 },
      code: ECHO + 'var o = require("dgram").createSocket("udp4"); var back = []; o.on("message", function (m, r) { back.push(m + "@" + r.port); }); o.bind(6000);',
    });
    await until(() => e.udpPorts[6000] > 0);
    e.eval('o.send("self", 53, "127.0.0.1")');
    await until(() => (e.eval('back.length') as number) === 1);
    expect(e.eval('log[0].r.port')).toBe(6000);
    expect(e.eval('back[0]')).toBe('re:self@53');
  });

  test('the host port of device port 53 is bound from the start and kept across a reboot', async () => {
    const e: Emulator = await start({ code: ECHO });
    const host = e.udpPorts[53];
    await e.reboot();
    expect(e.udpPorts[53]).toBe(host);
    const c = await peer();
    c.send('after reboot', host);
    await until(() => c.got.length === 1);
    expect(c.got[0].data).toBe('re:after reboot');
  });

  test('the CLI maps device port 53 to --dns-port and prints it like the HTTP port', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espweb-udp-'));
    const bundle = path.join(dir, 'app.js');
    fs.writeFileSync(bundle, ECHO + 'require("net").createServer(function () {}).listen(80);');
    const p = spawn(process.execPath, [path.join(ROOT, 'emulator/cli.js'), '--bundle', bundle, '--port', '0', '--dns-port', '0', '--data', path.join(dir, 'data'), '--quiet']);
    try {
      let out = '';
      p.stdout.on('data', (b) => (out += b));
      const line = (await until(() => /DNS on udp:\/\/127\.0\.0\.1:(\d+)\n/.exec(out))) as RegExpExecArray;
      expect(out).toMatch(/Serving on http:\/\/127\.0\.0\.1:\d+\nDNS on udp:/);
      const c = await peer();
      c.send('via cli', Number(line[1]));
      await until(() => c.got.length === 1);
      expect(c.got[0].data).toBe('re:via cli');
      expect(fs.readFileSync(path.join(ROOT, 'emulator/cli.js'), 'utf8')).toMatch(/--dns-port N\s+host UDP port for the device's UDP port 53, its DNS \(default 5353/);
    } finally {
      p.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
