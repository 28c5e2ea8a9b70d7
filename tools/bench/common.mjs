/**
 * What the benchmarks share (tools/bench.mjs, tools/bench/device.mjs): one
 * raw keep-alive request with its response taken apart, and the median.
 */
import net from 'node:net';

/** The request autocannon sends for `path` (so the captured response is the one it will get). */
export function requestFor(port, path) {
  return 'GET ' + path + ' HTTP/1.1\r\nHost: 127.0.0.1:' + port + '\r\n\r\n';
}

/** One keep-alive request over a raw socket: the whole response as bytes, and its parts. */
export function fetchRaw(port, path) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const bufs = [];
    let total = 0;
    const done = (err, v) => {
      s.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    s.setTimeout(10000, () => done(new Error('no response from port ' + port + ' for ' + path)));
    s.on('error', (e) => done(e));
    s.on('data', (d) => {
      bufs.push(d);
      total += d.length;
      const all = Buffer.concat(bufs, total);
      const he = all.indexOf('\r\n\r\n');
      if (he < 0) return;
      const head = all.subarray(0, he).toString('latin1').split('\r\n');
      const status = Number(head[0].split(' ')[1]);
      const headers = head.slice(1).map((l) => {
        const c = l.indexOf(':');
        return [l.slice(0, c), l.slice(c + 1).trim()];
      });
      const cl = headers.find((h) => h[0].toLowerCase() === 'content-length');
      if (!cl) return done(new Error('no Content-Length in the response to ' + path));
      const end = he + 4 + Number(cl[1]);
      if (all.length < end) return;
      done(null, { raw: all.subarray(0, end), status, headers, body: all.subarray(he + 4, end) });
    });
    s.on('connect', () => s.write(requestFor(port, path), 'latin1'));
  });
}

/** The median of the numbers in `a`. */
export function median(a) {
  const s = a.slice().sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
