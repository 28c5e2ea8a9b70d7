/**
 * Parser of the HTTP/1.1 request conformance corpus (`test/corpus/*.http`).
 *
 * A file is a list of cases:
 *
 *   ### <case name, unique across all files>
 *   # comment lines (cite the RFC section for every strict choice)
 *   request:
 *   GET / HTTP/1.1\r\n          <- lines joined with nothing in between
 *   Host: example\r\n
 *   expect:
 *   msg GET / 1.1               <- handler got this request (and answered 200)
 *     hdr host: example
 *     body <empty>
 *     query a=1
 *   status 400                  <- the runtime wrote this status itself
 *   close                       <- or `open`; exactly one, last
 *
 * Byte notation (request lines, `body`, and the values of `msg`, `hdr`, `query`):
 * `\r` `\n` `\t` `\0` `\\` `\xHH`, and `%{N:TEXT}` = TEXT (escapes expanded)
 * repeated N times. Raw characters must be printable ASCII (0x20-0x7E); any
 * other byte needs `\xHH` (a raw tab is `\t`). A request line may not end in a
 * raw space (write `\x20`): editors strip it silently. A `#` at the start of a
 * line is a comment everywhere, so a request byte line starting with `#` is
 * written `\x23`. Completely empty lines are ignored, also inside `request:`.
 *
 * Header and query strings are byte strings: one char per byte (latin1), so a
 * value with bytes >= 0x80 compares against the byte string the server keeps.
 */
import * as fs from 'fs';
import * as path from 'path';

/** One expected outcome on the wire, in wire order. */
export type Expect =
  | {
      kind: 'msg';
      method: string;
      target: string;
      version: string;
      /** [name, value] lookups; null = the header must be absent. */
      hdrs: [string, string | null][];
      /** Decoded body; null = not checked. */
      body: Uint8Array | null;
      /** [name, percent-decoded value] lookups; null = the variable must be absent. */
      query: [string, string | null][];
    }
  | { kind: 'status'; code: number }
  | { kind: 'close' }
  | { kind: 'open' };

/** One conformance case: the bytes a client sends on one connection and what must happen. */
export type Case = {
  name: string;
  file: string;
  /** 1-based line of the case's `###` header. */
  line: number;
  request: Uint8Array;
  expect: Expect[];
  comments: string[];
};

const HEX = '0123456789abcdefABCDEF';

/** Error thrown for a syntax error in a corpus file; the message starts with `file:line:`. */
export class CorpusError extends Error {
  constructor(file: string, line: number, msg: string) {
    super(file + ':' + line + ': ' + msg);
    this.name = 'CorpusError';
  }
}

/** Expands the byte notation of `s` (escapes and `%{N:TEXT}`) into bytes; throws on bad notation. */
export function expandBytes(s: string, file = '<text>', line = 0): number[] {
  const out: number[] = [];
  expandInto(s, out, true, file, line);
  return out;
}

function expandInto(s: string, out: number[], allowRepeat: boolean, file: string, line: number): void {
  const fail = (msg: string): never => {
    throw new CorpusError(file, line, msg);
  };
  let i = 0;
  while (i < s.length) {
    const ch = s.charCodeAt(i);
    if (ch < 0x20 || ch > 0x7e) {
      fail('raw byte 0x' + ch.toString(16) + ' not allowed, write it as \\xHH (or \\t)');
    }
    if (s[i] === '\\') {
      const e = s[i + 1];
      if (e === 'r') out.push(13);
      else if (e === 'n') out.push(10);
      else if (e === 't') out.push(9);
      else if (e === '0') out.push(0);
      else if (e === '\\') out.push(92);
      else if (e === 'x') {
        const h = s.substr(i + 2, 2);
        if (h.length !== 2 || HEX.indexOf(h[0]) < 0 || HEX.indexOf(h[1]) < 0) fail('\\x needs two hex digits');
        out.push(parseInt(h, 16));
        i += 2;
      } else fail('unknown escape \\' + (e === undefined ? '<end of line>' : e));
      i += 2;
    } else if (s[i] === '%' && s[i + 1] === '{') {
      if (!allowRepeat) fail('%{ inside %{...} is not allowed');
      const end = s.indexOf('}', i);
      if (end < 0) fail('unterminated %{N:TEXT}');
      const m = /^%\{(\d+):([^]*)\}$/.exec(s.slice(i, end + 1));
      if (!m) fail('repetition must be %{N:TEXT} with a decimal N');
      const n = parseInt(m![1], 10);
      if (n > 1000000) fail('repetition count too large');
      const unit: number[] = [];
      expandInto(m![2], unit, false, file, line);
      for (let k = 0; k < n; k++) for (let j = 0; j < unit.length; j++) out.push(unit[j]);
      i = end + 1;
    } else {
      out.push(ch);
      i++;
    }
  }
}

/** Expands byte notation into a byte string (one char per byte). */
function expandStr(s: string, file: string, line: number): string {
  const b = expandBytes(s, file, line);
  let out = '';
  for (let i = 0; i < b.length; i++) out += String.fromCharCode(b[i]);
  return out;
}

/** Parses the text of one corpus file into cases; throws CorpusError with file:line on any syntax error. */
export function parseCorpus(text: string, file: string): Case[] {
  const lines = text.split('\n');
  const cases: Case[] = [];
  const names: { [name: string]: number } = {};
  let cur: Case | null = null;
  let req: number[] = [];
  let section: 'head' | 'request' | 'expect' = 'head';
  let ended = false; // close/open seen in the current case

  const finish = (atLine: number): void => {
    if (!cur) return;
    if (section === 'head') throw new CorpusError(file, atLine, 'case "' + cur.name + '" has no request: section');
    if (section === 'request') throw new CorpusError(file, atLine, 'case "' + cur.name + '" has no expect: section');
    if (req.length === 0) throw new CorpusError(file, cur.line, 'case "' + cur.name + '" sends no bytes');
    if (!ended) throw new CorpusError(file, atLine, 'case "' + cur.name + '" must end with close or open');
    cur.request = Uint8Array.from(req);
    cases.push(cur);
  };

  for (let idx = 0; idx < lines.length; idx++) {
    const ln = idx + 1;
    let raw = lines[idx];
    if (raw.endsWith('\r')) raw = raw.slice(0, -1); // a checkout with CRLF file endings
    const fail = (msg: string): never => {
      throw new CorpusError(file, ln, msg);
    };

    if (raw.startsWith('###')) {
      finish(ln);
      const name = raw.slice(3).trim();
      if (!name) fail('case name missing after ###');
      if (names[name] !== undefined) fail('duplicate case name "' + name + '" (first at line ' + names[name] + ')');
      names[name] = ln;
      cur = { name, file, line: ln, request: new Uint8Array(0), expect: [], comments: [] };
      req = [];
      section = 'head';
      ended = false;
      continue;
    }
    if (raw.startsWith('#')) {
      if (cur) cur.comments.push(raw.slice(1).trim());
      continue;
    }
    if (raw === '') continue;
    if (!cur) fail('text before the first ### case header');
    const c = cur!;

    if (section === 'head') {
      if (raw.trim() !== 'request:') fail('expected request: (or a # comment)');
      section = 'request';
      continue;
    }
    if (section === 'request') {
      if (raw === 'expect:') {
        section = 'expect';
        continue;
      }
      if (/[ \t]$/.test(raw)) fail('request line ends in raw whitespace; write it as \\x20 or \\t');
      expandInto(raw, req, true, file, ln);
      continue;
    }

    // expect section
    const line = raw.replace(/\s+$/, '');
    if (line === '') continue;
    if (ended) fail('nothing may follow close/open');
    if (/^[ \t]/.test(line)) {
      const last = c.expect[c.expect.length - 1];
      if (!last || last.kind !== 'msg') fail('indented detail line must follow a msg');
      const msg = last as Extract<Expect, { kind: 'msg' }>;
      const d = line.trim();
      let m: RegExpExecArray | null;
      if ((m = /^hdr ([^:\s]+):(.*)$/.exec(d))) {
        const v = m[2].trim();
        msg.hdrs.push([m[1], v === '<none>' ? null : expandStr(v, file, ln)]);
      } else if ((m = /^body (.+)$/.exec(d))) {
        if (msg.body) fail('body given twice');
        msg.body = m[1] === '<empty>' ? new Uint8Array(0) : Uint8Array.from(expandBytes(m[1], file, ln));
      } else if ((m = /^query ([^=\s]+)=(.*)$/.exec(d))) {
        msg.query.push([m[1], m[2] === '<none>' ? null : expandStr(m[2], file, ln)]);
      } else fail('unknown msg detail (hdr NAME: VALUE | body BYTES | query NAME=VALUE): ' + d);
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^msg (\S+) (\S+) (\S+)$/.exec(line))) {
      if (m[3] !== '1.0' && m[3] !== '1.1') fail('msg version must be 1.0 or 1.1');
      c.expect.push({
        kind: 'msg',
        method: expandStr(m[1], file, ln),
        target: expandStr(m[2], file, ln),
        version: m[3],
        hdrs: [],
        body: null,
        query: [],
      });
    } else if ((m = /^status (\d{3})$/.exec(line))) {
      const code = parseInt(m[1], 10);
      if (code < 100 || code > 599) fail('status out of range');
      c.expect.push({ kind: 'status', code });
    } else if (line === 'close' || line === 'open') {
      c.expect.push({ kind: line });
      ended = true;
    } else fail('unknown expect item (msg METHOD TARGET VERSION | status NNN | close | open): ' + line);
  }
  finish(lines.length);
  return cases;
}

/** Loads every `*.http` file of `dir` (default: this folder) in name order; case names must be unique across files. */
export function loadCorpus(dir: string = __dirname): Case[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.http'))
    .sort();
  const all: Case[] = [];
  const seen: { [name: string]: string } = {};
  for (const f of files) {
    const cases = parseCorpus(fs.readFileSync(path.join(dir, f), 'utf8'), f);
    for (const c of cases) {
      if (seen[c.name] !== undefined) {
        throw new CorpusError(f, c.line, 'duplicate case name "' + c.name + '" (also in ' + seen[c.name] + ')');
      }
      seen[c.name] = f + ':' + c.line;
      all.push(c);
    }
  }
  return all;
}
