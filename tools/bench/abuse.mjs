#!/usr/bin/env node
/**
 * `node tools/bench/abuse.mjs [--host H] [--port P]`: the misbehaving clients of issue 12 against any espweb
 * server (the emulator of `make run`, the Linux build of the interpreter, a board), each with what it got:
 *   flood      one connection pipelining 1 000 GET /api/status in 50-byte pieces: how many whole responses,
 *              whether one was cut inside, and whether the connection ended with a FIN or a reset;
 *   heads      heads of 3, 6, 10 and 30 KB and request lines of 600 and 3 000 bytes: the status each got;
 *   early      a bad request line, a bare CR, a malformed chunk extension, never finished: the answer and how
 *              long it took (a late one comes from the 408 deadline);
 *   slow       20 sockets sending a header byte every 500 ms, reconnecting when dropped, while a client polls
 *              every 200 ms on new connections: how many polls were answered.
 * Run with a scenario name to run only that one. It prints one line per result; it is not a test (the tests
 * are test/robust.test.ts, against the emulator).
 */
import net from 'node:net';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args.splice(i, 2)[1] : dflt;
};
const host = opt('host', '127.0.0.1');
const port = Number(opt('port', 8080));
const only = args[0];
const HOST = 'Host: ' + host + '\r\n';
const STATUS = 'GET /api/status HTTP/1.1\r\n' + HOST + '\r\n';

/** Send `data` in pieces of `piece` bytes at once; resolves with what came back and how the connection ended. */
function exchange(data, piece = 1 << 20, timeoutMs = 15000) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let got = '';
    let how = 'FIN';
    let first = 0;
    const s = net.connect(port, host, () => {
      for (let i = 0; i < data.length; i += piece) s.write(data.slice(i, i + piece), 'latin1');
    });
    s.on('data', (d) => {
      if (!first) first = Date.now() - t0;
      got += d.toString('latin1');
    });
    s.on('error', (e) => (how = e.code === 'ECONNRESET' ? 'reset' : e.code));
    s.setTimeout(timeoutMs, () => {
      how = 'no end in ' + timeoutMs / 1000 + ' s';
      s.destroy();
    });
    s.on('close', () => resolve({ got, how, first }));
  });
}

/** Whole responses in `s`, and whether the last one is cut. */
function responses(s) {
  let n = 0;
  let i = 0;
  for (;;) {
    const h = s.indexOf('\r\n\r\n', i);
    if (h < 0) return { n, cut: i < s.length };
    const m = /content-length: *(\d+)/i.exec(s.slice(i, h));
    const end = h + 4 + (m ? +m[1] : 0);
    if (end > s.length) return { n, cut: true };
    n++;
    i = end;
  }
}

const scenarios = {
  async flood() {
    const { got, how } = await exchange(STATUS.repeat(1000), 50, 30000);
    const r = responses(got);
    console.log(`flood: ${r.n} whole responses of 1000, ${r.cut ? 'one cut inside' : 'none cut'}, ended by ${how}`);
  },
  async heads() {
    for (const size of [3000, 6000, 10000, 30000]) {
      let h = 'GET /api/status HTTP/1.1\r\n' + HOST;
      while (h.length < size) h += 'X-Fill-' + h.length + ': ' + 'v'.repeat(60) + '\r\n';
      const { got, how } = await exchange(h + '\r\n');
      console.log(`heads: ${size}-byte head: ${JSON.stringify(got.split('\r\n')[0])}, ended by ${how}`);
    }
    for (const size of [600, 3000]) {
      const { got, how } = await exchange('GET /' + 'a'.repeat(size) + ' HTTP/1.1\r\n' + HOST + '\r\n');
      console.log(`heads: ${size}-byte target: ${JSON.stringify(got.split('\r\n')[0])}, ended by ${how}`);
    }
  },
  async early() {
    const cases = [
      ['GET / HTTP/5.6', 'GET / HTTP/5.6\r\n'],
      ['a bare CR', 'GET / HTTP/1.1\r\n' + HOST + 'X: a\rb\r\n'],
      ['a malformed chunk extension', 'POST /api/login HTTP/1.1\r\n' + HOST + 'Transfer-Encoding: chunked\r\n\r\n5;=x\r\n'],
    ];
    for (const [what, req] of cases) {
      const { got, first } = await exchange(req, 1 << 20, 20000);
      console.log(`early: ${what}: ${JSON.stringify(got.split('\r\n')[0])} after ${first} ms`);
    }
  },
  async slow() {
    let stop = false;
    let dropped = 0;
    const slow = () => {
      if (stop) return;
      let got = '';
      const s = net.connect(port, host);
      const head = 'GET /api/status HTTP/1.1\r\n' + HOST + 'X-Slow: ' + 'z'.repeat(1000);
      let i = 0;
      const tick = () => (stop ? s.destroy() : s.destroyed || s.write(head[i++ % head.length]));
      const t = setInterval(tick, 500);
      s.on('connect', tick);
      s.on('data', (d) => (got += d));
      s.on('error', () => {});
      s.on('close', () => {
        clearInterval(t);
        if (got.startsWith('HTTP/1.1 408')) dropped++;
        setTimeout(slow, 10);
      });
    };
    for (let k = 0; k < 20; k++) slow();
    await new Promise((r) => setTimeout(r, 1500));
    const seen = {};
    for (let k = 0; k < 25; k++) {
      const { got } = await exchange('GET /api/status HTTP/1.1\r\n' + HOST + 'Connection: close\r\n\r\n', 1 << 20, 5000);
      const line = got.split('\r\n')[0] || '(nothing)';
      seen[line] = (seen[line] || 0) + 1;
      await new Promise((r) => setTimeout(r, 200));
    }
    stop = true;
    console.log(`slow: 25 polls among 20 slow reconnecting senders: ${JSON.stringify(seen)}; ${dropped} slow senders dropped with a 408`);
  },
};

for (const name of Object.keys(scenarios)) if (!only || only === name) await scenarios[name]();
process.exit(0);
