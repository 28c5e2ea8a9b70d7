import { parseCorpus, loadCorpus, expandBytes, Case, Expect } from './corpus/format';

const bytes = (c: Case): string => Buffer.from(c.request).toString('latin1');
const ascii = (u: Uint8Array | null): string | null => (u ? Buffer.from(u).toString('latin1') : null);
const one = (text: string): Case => {
  const cs = parseCorpus(text, 'x.http');
  expect(cs).toHaveLength(1);
  return cs[0];
};
const ok = (req: string, exp = 'open'): string => '### c\nrequest:\n' + req + '\nexpect:\n' + exp + '\n';

describe('the corpus byte notation', () => {
  it('expands the character escapes', () => {
    expect(expandBytes('a\\r\\n\\t\\0\\\\\\x41\\xfF')).toEqual([0x61, 13, 10, 9, 0, 92, 0x41, 0xff]);
  });

  it('repeats %{N:TEXT} and expands escapes inside TEXT', () => {
    expect(String.fromCharCode(...expandBytes('<%{3:ab}>'))).toBe('<ababab>');
    expect(expandBytes('%{2:\\r\\n}')).toEqual([13, 10, 13, 10]);
    expect(expandBytes('x%{0:abc}y')).toEqual([0x78, 0x79]);
    expect(expandBytes('%{1:%}')).toEqual([0x25]);
  });

  it('keeps a percent sign that does not open a repetition', () => {
    expect(String.fromCharCode(...expandBytes('/a%20b%'))).toBe('/a%20b%');
  });

  it('rejects unknown escapes, short \\x, raw control or non-ASCII characters', () => {
    expect(() => expandBytes('\\q')).toThrow(/unknown escape/);
    expect(() => expandBytes('ab\\')).toThrow(/unknown escape/);
    expect(() => expandBytes('\\x4')).toThrow(/two hex digits/);
    expect(() => expandBytes('\\xg0')).toThrow(/two hex digits/);
    expect(() => expandBytes('a\tb')).toThrow(/raw byte 0x9/);
    expect(() => expandBytes('caf\u00e9')).toThrow(/raw byte 0xe9/);
  });

  it('rejects malformed repetitions', () => {
    expect(() => expandBytes('%{3:abc')).toThrow(/unterminated/);
    expect(() => expandBytes('%{x:abc}')).toThrow(/decimal N/);
    expect(() => expandBytes('%{3:a%{2:b}')).toThrow(/not allowed/);
  });
});

describe('parseCorpus', () => {
  it('joins request lines with nothing in between and skips empty lines', () => {
    const c = one('# file header comment\n\n### joined\n# RFC 9112 §3\nrequest:\nGET / HTTP/1.1\\r\\n\n\nHost: a\\r\\n\n\\r\\n\nexpect:\nopen\n');
    expect(bytes(c)).toBe('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(c).toMatchObject({ name: 'joined', file: 'x.http', line: 3, comments: ['RFC 9112 §3'] });
    expect(c.expect).toEqual([{ kind: 'open' }]);
  });

  it('takes leading spaces of a request line literally', () => {
    expect(bytes(one(ok('A\\r\\n\n folded\\r\\n')))).toBe('A\r\n folded\r\n');
  });

  it('parses msg with hdr, body and query details', () => {
    const c = one(
      ok(
        'x',
        [
          'msg GET /%{2:a}?q=1 1.1',
          '  hdr Host: example',
          '  hdr x-empty:',
          '  hdr x-gone: <none>',
          '  hdr x-bin: a\\tb\\xff',
          '  body he\\r\\nllo',
          '  query q=1',
          '  query n=<none>',
          '  query e=',
          'msg POST / 1.0',
          '  body <empty>',
          'status 100',
          'close',
        ].join('\n'),
      ),
    );
    const [m1, m2, s, cl] = c.expect as [Extract<Expect, { kind: 'msg' }>, Extract<Expect, { kind: 'msg' }>, Expect, Expect];
    expect(m1).toMatchObject({ kind: 'msg', method: 'GET', target: '/aa?q=1', version: '1.1' });
    expect(m1.hdrs).toEqual([
      ['Host', 'example'],
      ['x-empty', ''],
      ['x-gone', null],
      ['x-bin', 'a\tb\xff'],
    ]);
    expect(ascii(m1.body)).toBe('he\r\nllo');
    expect(m1.query).toEqual([
      ['q', '1'],
      ['n', null],
      ['e', ''],
    ]);
    expect(m2).toMatchObject({ method: 'POST', target: '/', version: '1.0', hdrs: [], query: [] });
    expect(m2.body).toEqual(new Uint8Array(0));
    expect(s).toEqual({ kind: 'status', code: 100 });
    expect(cl).toEqual({ kind: 'close' });
  });

  it('leaves body unchecked (null) when not given', () => {
    const m = one(ok('x', 'msg GET / 1.1\nopen')).expect[0] as Extract<Expect, { kind: 'msg' }>;
    expect(m.body).toBeNull();
  });

  it('reads several cases and numbers their lines', () => {
    const cs = parseCorpus(ok('a') + '\n' + ok('b').replace('### c', '### d'), 'f.http');
    expect(cs.map((c) => [c.name, c.line])).toEqual([
      ['c', 1],
      ['d', 7],
    ]);
  });

  it('reports syntax errors with file and line', () => {
    const err = (text: string, re: RegExp) => expect(() => parseCorpus(text, 'bad.http')).toThrow(re);
    err('request:\nx\n', /^bad\.http:1: text before the first ###/);
    err('###\n', /^bad\.http:1: case name missing/);
    err('### a\nGET\n', /^bad\.http:2: expected request:/);
    err('### a\nrequest:\nx\n', /^bad\.http:4: case "a" has no expect:/);
    err('### a\n', /^bad\.http:2: case "a" has no request:/);
    err('### a\nrequest:\nexpect:\nopen\n', /^bad\.http:1: case "a" sends no bytes/);
    err('### a\nrequest:\nGET \nexpect:\nopen\n', /^bad\.http:3: request line ends in raw whitespace/);
    err('### a\nrequest:\nG\\qT\nexpect:\nopen\n', /^bad\.http:3: unknown escape \\q/);
    err('### a\nrequest:\nx\nexpect:\nmsg GET / 1.1\n', /^bad\.http:6: case "a" must end with close or open/);
    err('### a\nrequest:\nx\nexpect:\nclose\nopen\n', /^bad\.http:6: nothing may follow close\/open/);
    err('### a\nrequest:\nx\nexpect:\nclose\nstatus 400\n', /^bad\.http:6: nothing may follow/);
    err('### a\nrequest:\nx\nexpect:\nstatus 400\n  hdr a: b\nclose\n', /^bad\.http:6: indented detail line must follow a msg/);
    err('### a\nrequest:\nx\nexpect:\nmsg GET / 2.0\nclose\n', /^bad\.http:5: msg version must be 1.0 or 1.1/);
    err('### a\nrequest:\nx\nexpect:\nmsg GET /\nclose\n', /^bad\.http:5: unknown expect item/);
    err('### a\nrequest:\nx\nexpect:\nstatus 4000\nclose\n', /^bad\.http:5: unknown expect item/);
    err('### a\nrequest:\nx\nexpect:\nstatus 099\nclose\n', /^bad\.http:5: status out of range/);
    err('### a\nrequest:\nx\nexpect:\nmsg GET / 1.1\n  header a: b\nclose\n', /^bad\.http:6: unknown msg detail/);
    err('### a\nrequest:\nx\nexpect:\nmsg GET / 1.1\n  body a\n  body b\nclose\n', /^bad\.http:7: body given twice/);
    err('### a\nrequest:\nx\nexpect:\nmsg GET / 1.1\n  body \\x1\nclose\n', /^bad\.http:6: \\x needs two hex digits/);
    err(ok('x') + ok('y'), /^bad\.http:6: duplicate case name "c" \(first at line 1\)/);
  });

  it('accepts files checked out with CRLF line endings', () => {
    expect(bytes(one(ok('GET\\r\\n').replace(/\n/g, '\r\n')))).toBe('GET\r\n');
  });
});

// ---------------------------------------------------------------------------
// The corpus itself.

const corpus = loadCorpus();
const byName: { [name: string]: Case } = {};
for (const c of corpus) byName[c.name] = c;
const get = (name: string): string => {
  const c = byName[name];
  if (!c) throw new Error('no corpus case named "' + name + '"');
  return bytes(c);
};
/** Length of the request line starting at `from`, without its terminator (or to the end of input). */
const requestLine = (s: string, from = 0): number => {
  const lf = s.indexOf('\n', from);
  if (lf < 0) return s.length - from;
  return lf - from - (s[lf - 1] === '\r' ? 1 : 0);
};
/** Size of the header section starting at `from` (request line through the empty line), or -1 if it does not end. */
const headerSection = (s: string, from = 0): number => {
  const m = /\r?\n\r?\n/g;
  m.lastIndex = from;
  const r = m.exec(s);
  return r ? r.index + r[0].length - from : -1;
};
const CHUNKED_HDR = 'POST / HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\r\n';

describe('the conformance corpus', () => {
  it('has at least 180 uniquely named cases in the expected topic files', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(180);
    expect(Object.keys(byName)).toHaveLength(corpus.length);
    const files = Array.from(new Set(corpus.map((c) => c.file))).sort();
    expect(files).toEqual([
      'chunked.http',
      'connection.http',
      'content-length.http',
      'expect.http',
      'headers.http',
      'host.http',
      'limits.http',
      'misc.http',
      'pipelining.http',
      'request-line.http',
      'transfer-encoding.http',
      'versions.http',
    ]);
  });

  it('ends every case with exactly one close or open', () => {
    for (const c of corpus) {
      const ends = c.expect.filter((e) => e.kind === 'close' || e.kind === 'open');
      expect([c.name, ends.length]).toEqual([c.name, 1]);
      expect([c.name, c.expect[c.expect.length - 1]]).toEqual([c.name, ends[0]]);
    }
  });

  it('follows every error status with close and nothing else', () => {
    for (const c of corpus) {
      c.expect.forEach((e, i) => {
        if (e.kind === 'status' && e.code >= 400) expect([c.name, c.expect.slice(i + 1)]).toEqual([c.name, [{ kind: 'close' }]]);
      });
    }
  });

  it('uses only the statuses the runtime itself produces (no 408: timeouts are tested elsewhere)', () => {
    const codes = new Set<number>();
    for (const c of corpus) for (const e of c.expect) if (e.kind === 'status') codes.add(e.code);
    expect(Array.from(codes).sort()).toEqual([100, 400, 413, 414, 417, 431, 501, 505]);
  });

  it('explains every case and cites a source for every error', () => {
    for (const c of corpus) {
      expect([c.name, c.comments.length > 0]).toEqual([c.name, true]);
      if (c.expect.some((e) => e.kind === 'status' && e.code >= 400)) {
        expect([c.name, /RFC|design/.test(c.comments.join(' '))]).toEqual([c.name, true]);
      }
    }
  });

  it('covers each row of the design error table', () => {
    const statusOf = (n: string) => byName[n].expect.filter((e) => e.kind === 'status').map((e) => (e as { code: number }).code);
    const rows: [string, number][] = [
      ['bare CR inside a field value', 400],
      ['obs-fold with a space', 400],
      ['space before the colon', 400],
      ['method with a non-token character', 400],
      ['Content-Length together with Transfer-Encoding', 400],
      ['two identical Content-Length headers', 400],
      ['Content-Length with a plus sign', 400],
      ['non-hex chunk size', 400],
      ['missing Host in HTTP/1.1', 400],
      ['two Host headers', 400],
      ['request line of 513 bytes', 414],
      ['header section of 2049 bytes', 431],
      ['body one byte larger than the buffer', 413],
      ['gzip then chunked', 501],
      ['HTTP/2.0 on the HTTP/1 parser', 505],
    ];
    for (const [name, code] of rows) expect([name, statusOf(name)]).toEqual([name, [code]]);
  });

  it('sizes the request-line boundary cases exactly (limit 512, terminator not counted)', () => {
    expect(requestLine(get('request line of exactly 512 bytes'))).toBe(512);
    expect(requestLine(get('request line of 513 bytes'))).toBe(513);
    expect(requestLine(get('request line of 512 bytes ended by a bare LF'))).toBe(512);
    expect(requestLine(get('request line of 513 bytes ended by a bare LF'))).toBe(513);
    const open512 = get('512 bytes of request line without its end wait');
    expect([open512.length, open512.indexOf('\n'), open512.indexOf('\r')]).toEqual([512, -1, -1]);
    const over513 = get('513 bytes of request line without its end get 414');
    expect([over513.length, over513.indexOf('\n')]).toEqual([513, -1]);
    expect(requestLine(get('very long request line without its end'))).toBeGreaterThan(2048);
  });

  it('sizes the header-section boundary cases exactly (limit 2048, every CRLF counted)', () => {
    expect(headerSection(get('header section of exactly 2048 bytes'))).toBe(2048);
    expect(get('header section of exactly 2048 bytes')).toHaveLength(2048);
    expect(headerSection(get('header section of 2049 bytes'))).toBe(2049);
    const two = get('full 2048-byte header section then a second request');
    expect(headerSection(two)).toBe(2048);
    expect(two.slice(2048)).toBe('GET /2 HTTP/1.1\r\nHost: example\r\n\r\n');
    expect(headerSection(get('many small headers beyond the buffer'))).toBeGreaterThan(2048);
    const open = get('header section growing past the buffer without its end');
    expect([headerSection(open), open.length > 2048]).toEqual([-1, true]);
  });

  it('sizes the Content-Length body boundary cases exactly', () => {
    const fits = get('body that exactly fills the buffer');
    const h = headerSection(fits);
    expect([h, fits.length, /Content-Length: (\d+)/.exec(fits)![1]]).toEqual([56, 2048, String(2048 - 56)]);
    const over = get('body one byte larger than the buffer');
    expect([headerSection(over), over.length, /Content-Length: (\d+)/.exec(over)![1]]).toEqual([56, 2049, String(2049 - 56)]);
    const full = get('full header section leaves no room for one body byte');
    expect([headerSection(full), full.length]).toEqual([2048, 2049]);
    expect(/Content-Length: 1\r\n/.test(full)).toBe(true);
  });

  it('sizes the chunked boundary cases exactly', () => {
    const room = 2048 - CHUNKED_HDR.length;
    expect([CHUNKED_HDR.length, room]).toEqual([62, 0x7c2]);
    const over = get('chunk size one byte over the room left');
    expect(over).toBe(CHUNKED_HDR + (room + 1).toString(16).toUpperCase() + '\r\n');
    const second = get('second chunk pushes the body over the room left');
    expect(second).toBe(CHUNKED_HDR + '3E8\r\n' + 'a'.repeat(1000) + '\r\n' + (room + 1 - 1000).toString(16).toUpperCase() + '\r\n');
    const near = get('chunked body near the limit fits even undecoded');
    expect(near.startsWith(CHUNKED_HDR)).toBe(true);
    expect(near.length).toBeLessThanOrEqual(2048);
  });

  it('makes the pipelined-overflow case larger than the buffer while each request fits', () => {
    const s = get('pipelined requests larger than the buffer together');
    expect(s.length).toBeGreaterThan(2048);
    const starts = [0, s.indexOf('POST /2'), s.indexOf('POST /3'), s.length];
    for (let i = 0; i < 3; i++) expect(starts[i + 1] - starts[i]).toBeLessThan(2048);
  });

  it('gives Content-Length values that match the bodies of accepted requests', () => {
    for (const c of corpus) {
      const s = bytes(c);
      const msgs = c.expect.filter((e) => e.kind === 'msg') as Extract<Expect, { kind: 'msg' }>[];
      // Only single-request cases with one Content-Length: the body must be exactly the bytes after the header section.
      const cls = s.match(/\ncontent-length:[ \t]*(\d+)[ \t]*\r?\n/gi);
      if (msgs.length !== 1 || !cls || cls.length !== 1 || msgs[0].body === null) continue;
      const n = parseInt(/(\d+)/.exec(cls[0])![1], 10);
      const h = headerSection(s);
      expect([c.name, ascii(msgs[0].body)]).toEqual([c.name, s.substr(h, n)]);
    }
  });
});
