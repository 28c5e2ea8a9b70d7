/*
 * The Espruino 2v29 surface, evaluated INSIDE the sandbox before the firmware
 * (so every object the firmware touches belongs to the sandbox realm). This
 * file is one function expression: the host calls it with `N`, its natives,
 * which stay reachable only through these closures, and gets back handles.
 * Host-side logic lives in the other emulator files; this one only adapts.
 * It is not type-checked (it runs in the sandbox realm).
 */
(function (N) {
  'use strict';
  var G = globalThis;
  // Captured before the host removes them from the global scope.
  var Sym = Symbol;
  var hostEval = G.eval;
  var L = Sym('listeners');
  var ID = Sym('id');
  var objProto = Object.prototype;
  var hasOwn = objProto.hasOwnProperty;
  var defProp = Object.defineProperty;
  var isArray = Array.isArray;
  var HDate = Date;
  var dp = HDate.prototype;
  var D = {
    getTime: dp.getTime, setTime: dp.setTime, gY: dp.getUTCFullYear, gM: dp.getUTCMonth, gD: dp.getUTCDate,
    gDay: dp.getUTCDay, gH: dp.getUTCHours, gMin: dp.getUTCMinutes, gS: dp.getUTCSeconds, gMs: dp.getUTCMilliseconds,
    sY: dp.setUTCFullYear, sM: dp.setUTCMonth, sD: dp.setUTCDate, sH: dp.setUTCHours, sMin: dp.setUTCMinutes,
    sS: dp.setUTCSeconds, sMs: dp.setUTCMilliseconds, iso: dp.toISOString, UTC: HDate.UTC, parse: HDate.parse,
  };

  function hide(o, k, v) {
    defProp(o, k, { value: v, writable: true, configurable: true, enumerable: false });
  }
  function method(o, k, f) {
    hide(o, k, f);
  }
  function isObj(v) {
    return v !== null && (typeof v === 'object' || typeof v === 'function');
  }
  function copyArr(h) {
    var a = [];
    for (var i = 0; i < h.length; i++) a.push(h[i]);
    return a;
  }
  function fromJSON(s) {
    return s === undefined ? undefined : JSON.parse(s);
  }

  // ---------------------------------------------------------------- errors
  function InternalError(message) {
    if (!(this instanceof InternalError)) return new InternalError(message);
    this.message = message === undefined ? '' : String(message);
  }
  InternalError.prototype = Object.create(Error.prototype);
  hide(InternalError.prototype, 'constructor', InternalError);
  hide(InternalError.prototype, 'name', 'InternalError');
  var Errs = { Error: Error, TypeError: TypeError, SyntaxError: SyntaxError, ReferenceError: ReferenceError, InternalError: InternalError };
  function mkErr(type, msg) {
    var C = Errs[type] || Error;
    return new C(msg);
  }

  // ---------------------------------------------------------------- events (Object.prototype, as in Espruino)
  function mustBeObject(o) {
    if (!isObj(o)) throw new TypeError('Parent must be an object - not a String, Integer, etc');
  }
  function listenersOf(o, create) {
    if (hasOwn.call(o, L)) return o[L];
    if (!create) return undefined;
    var m = Object.create(null);
    hide(o, L, m);
    return m;
  }
  function addListener(o, ev, fn, first) {
    mustBeObject(o);
    if (typeof ev !== 'string') throw new TypeError('First argument must be String');
    if (typeof fn !== 'function' && typeof fn !== 'string') throw new TypeError('Second argument must be a function or a String');
    var m = listenersOf(o, true);
    // A new array each time: an event already queued keeps the listeners it was queued with.
    var cur = m[ev] || [];
    m[ev] = first ? [fn].concat(cur) : cur.concat([fn]);
    if (ev === 'data' && o[ID] !== undefined) N.sOnData(o[ID]);
  }
  method(objProto, 'on', function on(ev, fn) { addListener(this, ev, fn, false); });
  method(objProto, 'addListener', function addListener_(ev, fn) { addListener(this, ev, fn, false); });
  method(objProto, 'prependListener', function prependListener(ev, fn) { addListener(this, ev, fn, true); });
  method(objProto, 'emit', function emit(ev) {
    mustBeObject(this);
    if (typeof ev !== 'string') throw new TypeError('First argument must be String');
    if (arguments.length > 5) throw new TypeError('Too many arguments (>4)');
    var m = listenersOf(this, false);
    var args = [];
    for (var i = 1; i < arguments.length; i++) args.push(arguments[i]);
    // Espruino queues emitted events: listeners run after the current code returns.
    if (m && m[ev]) N.queue(this, m[ev], args);
  });
  method(objProto, 'removeListener', function removeListener(ev, fn) {
    mustBeObject(this);
    if (typeof ev !== 'string') throw new TypeError('First argument must be String');
    var m = listenersOf(this, false);
    var a = m && m[ev];
    if (!a) return;
    var i = a.indexOf(fn);
    if (i >= 0) a.splice(i, 1);
  });
  method(objProto, 'removeAllListeners', function removeAllListeners(ev) {
    mustBeObject(this);
    var m = listenersOf(this, false);
    if (!m) return;
    if (ev === undefined) { for (var k in m) delete m[k]; } else delete m[String(ev)];
  });
  method(objProto, 'clone', function clone() {
    if (isArray(this)) return this.slice();
    var o = Object.create(Object.getPrototypeOf(this));
    var ks = Object.keys(this);
    for (var i = 0; i < ks.length; i++) o[ks[i]] = this[ks[i]];
    return o;
  });
  method(Function.prototype, 'replaceWith', function replaceWith() {
    throw new InternalError('Function.replaceWith is not emulated');
  });

  // ---------------------------------------------------------------- console
  function fmt(v, depth, top) {
    if (typeof v === 'string') return top ? v : JSON.stringify(v);
    if (v === undefined) return 'undefined';
    if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v === 'function') return String(v);
    if (v instanceof Error || v instanceof InternalError) return (v.name || 'Error') + ': ' + v.message;
    if (depth > 6) return isArray(v) ? '[ ... ]' : '{ ... }';
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      var n = Object.prototype.toString.call(v).slice(8, -1);
      return 'new ' + n + '([' + Array.prototype.join.call(v, ', ') + '])';
    }
    var parts = [];
    if (isArray(v)) {
      for (var i = 0; i < v.length; i++) parts.push(fmt(v[i], depth + 1, false));
      return parts.length ? '[ ' + parts.join(', ') + ' ]' : '[ ]';
    }
    var ks = Object.keys(v);
    for (var j = 0; j < ks.length; j++) parts.push(JSON.stringify(ks[j]) + ': ' + fmt(v[ks[j]], depth + 1, false));
    return parts.length ? '{ ' + parts.join(', ') + ' }' : '{ }';
  }
  function print() {
    var s = [];
    for (var i = 0; i < arguments.length; i++) s.push(fmt(arguments[i], 0, true));
    N.out(s.join(' '));
  }
  var console_ = {};
  ['log', 'debug', 'info', 'warn', 'error'].forEach(function (k) { console_[k] = print; });
  console_.trace = function trace() { print.apply(null, arguments); };

  // ---------------------------------------------------------------- timers and time
  function addTimer(fn, ms, rest, rep) {
    if (typeof fn !== 'function' && typeof fn !== 'string') throw new Error('Function or String not supplied!');
    ms = Number(ms);
    if (ms > 100 * 365.25 * 86400000) throw new Error('Interval is too long (>100 years)');
    var args = [];
    for (var i = 2; i < rest.length; i++) args.push(rest[i]);
    return N.tAdd(fn, ms, args, rep);
  }
  function clearer(name) {
    return function (id) {
      if (arguments.length === 0) return N.tClearAll();
      if (id === undefined) throw new Error('clear' + name + '(undefined) not allowed. Use clear' + name + '() instead');
      N.tClear(id);
    };
  }
  function getTime() { return N.clock() / 1000; }
  function setTime(t) { N.setTime(Number(t)); }

  // Date: the device clock (starts at 0 = 1970 at power-on unless setTime), local time = UTC + E.setTimeZone offset.
  var tz = 0; // minutes
  var DAYS = 'SunMonTueWedThuFriSat', MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
  function EDate(a, b, c, d, e, f, g) {
    var n = arguments.length;
    if (!(this instanceof EDate)) return new EDate().toString();
    var t;
    if (n === 0) t = N.clock();
    else if (n === 1) t = typeof a === 'string' ? D.parse(a) : (a instanceof HDate ? D.getTime.call(a) : Number(a));
    else t = D.UTC(a, b, n > 2 ? c : 1, n > 3 ? d : 0, n > 4 ? e : 0, n > 5 ? f : 0, n > 6 ? g : 0) - tz * 60000;
    var dt = new HDate(t);
    Object.setPrototypeOf(dt, EDate.prototype);
    return dt;
  }
  EDate.prototype = Object.create(dp);
  hide(EDate.prototype, 'constructor', EDate);
  hide(EDate, 'now', function now() { return N.clock(); });
  hide(EDate, 'parse', function parse(s) { return D.parse(s); });
  function local(dt) { return new HDate(D.getTime.call(dt) + tz * 60000); }
  function getter(f) { return function () { return f.call(local(this)); }; }
  function setter(f) {
    return function () {
      var l = local(this);
      f.apply(l, arguments);
      return D.setTime.call(this, D.getTime.call(l) - tz * 60000);
    };
  }
  var EP = EDate.prototype;
  hide(EP, 'getFullYear', getter(D.gY)); hide(EP, 'getMonth', getter(D.gM)); hide(EP, 'getDate', getter(D.gD));
  hide(EP, 'getDay', getter(D.gDay)); hide(EP, 'getHours', getter(D.gH)); hide(EP, 'getMinutes', getter(D.gMin));
  hide(EP, 'getSeconds', getter(D.gS)); hide(EP, 'getMilliseconds', getter(D.gMs));
  hide(EP, 'setFullYear', setter(D.sY)); hide(EP, 'setMonth', setter(D.sM)); hide(EP, 'setDate', setter(D.sD));
  hide(EP, 'setHours', setter(D.sH)); hide(EP, 'setMinutes', setter(D.sMin)); hide(EP, 'setSeconds', setter(D.sS));
  hide(EP, 'setMilliseconds', setter(D.sMs));
  hide(EP, 'getTimezoneOffset', function getTimezoneOffset() { return -tz; });
  hide(EP, 'getIsDST', function getIsDST() { return false; });
  function p2(x) { return (x < 10 ? '0' : '') + x; }
  function zone() { var z = tz < 0 ? -tz : tz; return (tz < 0 ? '-' : '+') + ('000' + (Math.floor(z / 60) * 100 + z % 60)).slice(-4); }
  hide(EP, 'toString', function toString() {
    var l = local(this);
    return DAYS.substr(D.gDay.call(l) * 3, 3) + ' ' + MONTHS.substr(D.gM.call(l) * 3, 3) + ' ' + D.gD.call(l) + ' ' + D.gY.call(l) + ' ' +
      p2(D.gH.call(l)) + ':' + p2(D.gMin.call(l)) + ':' + p2(D.gS.call(l)) + ' GMT' + zone();
  });
  hide(EP, 'toLocalISOString', function toLocalISOString() {
    return D.iso.call(local(this)).slice(0, -1) + zone();
  });

  // ---------------------------------------------------------------- typed arrays
  // 2v29's set() takes a string too (measured): each char's code, as a signed char (a Uint8Array gets the
  // bytes themselves), as many as fit from the offset on, the rest dropped without an error.
  var TAP = Object.getPrototypeOf(Uint8Array.prototype), taSet = TAP.set;
  hide(TAP, 'set', function set(a, off) {
    if (typeof a !== 'string') return taSet.call(this, a, off);
    off = off | 0;
    var n = Math.min(a.length, this.length - off);
    if (n <= 0) return;
    if (this.BYTES_PER_ELEMENT === 1) return N.setStr(this, a, off, n);
    for (var i = 0; i < n; i++) { var ch = a.charCodeAt(i) & 255; this[off + i] = ch > 127 ? ch - 256 : ch; }
  });
  // JSON.stringify writes a typed array, and an ArrayBuffer (its bytes), as an array (measured on 2v29). V8
  // asks for toJSON; non-configurable, so that pruning keeps it (the board has no such member: the one trace).
  defProp(TAP, 'toJSON', { value: function toJSON() { return copyArr(this); } });
  defProp(ArrayBuffer.prototype, 'toJSON', { value: function toJSON() { return copyArr(new Uint8Array(this)); } });
  // 2v29's JSON.parse reads UTF-8 in its input as the characters it encodes ('"Caf\xC3\xA9"' gives a 4-character
  // string), and its JSON.stringify writes every character from 127 up as \uXXXX (uppercase hex): measured on the
  // Linux build. Data from a socket is one char per byte, so a browser's UTF-8 arrives so.
  var jsonParse = JSON.parse;
  var jsonStringify = JSON.stringify;
  defProp(JSON, 'parse', { writable: true, configurable: true, value: function parse(text, reviver) {
    var t = String(text);
    if (/[\x80-\xff]/.test(t) && !/[^\x00-\xff]/.test(t)) { var d = N.utf8(t, 'dec'); if (N.utf8(d, 'enc') === t) t = d; }
    return jsonParse.call(JSON, t, reviver);
  } });
  defProp(JSON, 'stringify', { writable: true, configurable: true, value: function stringify(v, replacer, space) {
    var r = jsonStringify.call(JSON, v, replacer, space);
    return typeof r === 'string' && /[^\x00-\x7e]/.test(r) ? r.replace(/[^\x00-\x7e]/g, function (c) { return '\\u' + ('000' + c.charCodeAt(0).toString(16).toUpperCase()).slice(-4); }) : r;
  } });

  // ---------------------------------------------------------------- E
  var E = {};
  function argList(a) { var r = []; for (var i = 0; i < a.length; i++) r.push(a[i]); return r; }
  E.toString = function toString() { return N.toStr(argList(arguments)); };
  E.toUint8Array = function toUint8Array() { return N.toU8(argList(arguments)); };
  E.toArrayBuffer = function toArrayBuffer(s) { return N.toU8([String(s)]).buffer; };
  E.toFlatString = function toFlatString() { return N.toStr(argList(arguments)); };
  E.toJS = function toJS(v) { return N.toJS(v); };
  E.getSizeOf = function getSizeOf(v, depth) { return N.sizeOf(v, depth); };
  E.setBootCode = function setBootCode(code, alwaysExec) { N.bootCode(code === undefined ? undefined : String(code), !!alwaysExec); };
  E.reboot = function reboot() { N.reboot(); };
  E.setTimeZone = function setTimeZone(h) { tz = Math.round(Number(h) * 60) || 0; };
  E.setDST = function setDST() {};
  E.getTemperature = function getTemperature() { return 40; };
  E.hwRand = function hwRand() { return (Math.random() * 4294967296) | 0; };
  E.srand = function srand() {};
  E.CRC32 = function CRC32(d) { return N.crc32(d); };
  E.lookupNoCase = function lookupNoCase(o, k) {
    if (!isObj(o)) return undefined;
    var ks = Object.keys(o), lk = String(k).toLowerCase();
    for (var i = 0; i < ks.length; i++) if (ks[i].toLowerCase() === lk) return o[ks[i]];
    return undefined;
  };
  var flags = { deepSleep: 0, pretokenise: 0, unsafeFlash: 0, unsyncFiles: 0, jitDebug: 0, unsafeTimers: 0 };
  E.getFlags = function getFlags() { return Object.assign({}, flags); };
  E.setFlags = function setFlags(f) { if (isObj(f)) Object.keys(f).forEach(function (k) { if (k in flags) flags[k] = f[k] ? 1 : 0; }); };
  E.getErrorFlags = function getErrorFlags() { return []; };
  E.enableWatchdog = function enableWatchdog(t, isAuto) { N.watchdog(Number(t), isAuto === undefined || !!isAuto); };
  E.kickWatchdog = function kickWatchdog() { N.kickWatchdog(); };
  E.defrag = function defrag() {};
  E.getConsole = function getConsole() { return 'Serial1'; };
  E.setConsole = function setConsole() {};
  E.clip = function clip(x, a, b) { return x < a ? a : x > b ? b : x; };
  E.sum = function sum(a) { var s = 0; for (var i = 0; i < a.length; i++) s += a[i]; return s; };
  E.variance = function variance(a, m) { var s = 0; for (var i = 0; i < a.length; i++) s += (a[i] - m) * (a[i] - m); return s / a.length; };
  E.asUTF8 = function asUTF8(s) { return N.utf8(String(s), 'dec'); };
  E.fromUTF8 = function fromUTF8(s) { return N.utf8(String(s), 'enc'); };
  E.isUTF8 = function isUTF8(s) { return /[^\x00-\xff]/.test(String(s)); };
  E.decodeUTF8 = function decodeUTF8(s) { return N.utf8(String(s), 'dec'); };
  E.stopEventPropagation = function stopEventPropagation() {};

  // ---------------------------------------------------------------- process
  var process_ = {};
  hide(process_, 'version', N.info.version);
  process_.env = JSON.parse(N.info.env);
  process_.memory = function memory(gc) {
    var m = N.memory(gc === undefined || !!gc);
    var r = { free: m[0], usage: m[1], total: m[2], history: m[3] };
    if (m[4] >= 0) { r.gc = m[4]; r.gctime = m[5]; }
    r.blocksize = m[6];
    return r;
  };

  // ---------------------------------------------------------------- require
  var cache = Object.create(null);
  var makers = {};
  function require(name) {
    if (typeof name !== 'string') throw new TypeError('Expecting module name as a string, got ' + typeof name);
    if (name.length >= 128) throw new TypeError('Module name too long (max 128 chars)');
    if (name in cache) return cache[name];
    var kind = N.hasModule(name);
    var m;
    if (kind === 'builtin' && makers[name]) m = makers[name]();
    else if (kind === 'unemulated') throw new Error('Module ' + JSON.stringify(name) + ' is built into the board but not emulated');
    else {
      var code = name.length <= 28 ? N.stRead(name) : undefined;
      if (code === undefined) throw new Error('Module ' + JSON.stringify(name) + ' not found');
      m = evalModule(name, code);
    }
    cache[name] = m;
    return m;
  }
  function evalModule(name, code) {
    var fn = N.compileModule(name, code);
    var module = { exports: {} };
    fn.call(module.exports, module.exports, module);
    return module.exports;
  }
  var Modules = {
    getCached: function getCached() { return Object.keys(cache); },
    removeCached: function removeCached(id) {
      if (!(id in cache)) throw new Error('Module ' + JSON.stringify(id) + ' not found');
      delete cache[id];
    },
    removeAllCached: function removeAllCached() { for (var k in cache) delete cache[k]; },
    addCached: function addCached(id, src) { cache[id] = evalModule(id, typeof src === 'function' ? '(' + src + ')()' : String(src)); },
  };

  // ---------------------------------------------------------------- net
  function Socket() {}
  method(Socket.prototype, 'write', function write(data) {
    if (this[ID] === undefined) return false;
    var s = data === undefined ? '' : data === null ? 'null' : String(data);
    if (!N.sWrite(this[ID], s)) throw new Error('This socket is closed');
    return false;
  });
  method(Socket.prototype, 'end', function end(data) {
    if (data !== undefined) this.write(data);
    N.sEnd(this[ID]);
  });
  method(Socket.prototype, 'available', function available() { return N.sAvail(this[ID]); });
  method(Socket.prototype, 'read', function read(n) { return N.sRead(this[ID], n | 0); });
  method(Socket.prototype, 'pipe', function pipe(dest, opts) {
    var src = this;
    src.on('data', function (d) { dest.write(d); });
    if (!opts || opts.end !== false) src.on('close', function () { if (dest.end) dest.end(); });
    if (opts && typeof opts.complete === 'function') src.on('close', opts.complete);
  });
  function newSocket(id) {
    var s = new Socket();
    hide(s, ID, id);
    return s;
  }
  function Server() {}
  method(Server.prototype, 'listen', function listen(port) { N.nListen(this[ID], Number(port)); return this; });
  method(Server.prototype, 'close', function close() { N.nClose(this[ID]); });
  makers.net = function () {
    return {
      createServer: function createServer(cb) {
        if (typeof cb !== 'function') throw new Error('Expecting Callback Function but got ' + typeof cb);
        var s = new Server();
        hide(s, ID, N.nServer(s));
        s.on('connect', cb);
        return s;
      },
      connect: function connect(opts, cb) {
        if (typeof opts === 'string') opts = urlParse(opts);
        if (!isObj(opts)) throw new Error('Expecting Options to be an Object but it was ' + typeof opts);
        if (cb !== undefined && typeof cb !== 'function') throw new Error('Expecting Callback Function but got ' + typeof cb);
        var s = new Socket();
        if (cb) s.on('connect', cb);
        hide(s, ID, N.nConnect(s, opts.host, Number(opts.port) || 0));
        return s;
      },
    };
  };
  // ---------------------------------------------------------------- dgram (libs/network/jswrap_net.c; host side: dgram.js)
  function dgramSocket() {}
  method(dgramSocket.prototype, 'bind', function bind(port, cb) {
    // The callback becomes the "bind" listener (replacing any), queued after the bind even when it threw.
    var m = listenersOf(this, true);
    if (cb !== undefined && cb !== null) m.bind = [cb]; else delete m.bind;
    var err = null;
    try { N.uBind(this[ID], Number(port) | 0); } catch (e) { err = e; }
    if (m.bind) N.queue(this, m.bind, [this]);
    if (err) throw err;
    return this;
  });
  method(dgramSocket.prototype, 'send', function send(buffer, offset, length) {
    var port = arguments[3], address, msg;
    if (typeof port === 'number' || typeof port === 'boolean') {
      // send(msg, offset, length, port, address): `length` chars of String(msg) from `offset`.
      var from = Number(offset) | 0, count = Number(length) | 0;
      msg = from < 0 ? '' : count < 0 ? String(buffer).substr(from) : String(buffer).substr(from, count);
      address = arguments[4];
    } else {
      // send(msg, port, address)
      msg = buffer === undefined ? undefined : buffer === null ? 'null' : String(buffer);
      port = offset;
      address = length;
    }
    N.uSend(this[ID], msg, String(address), Number(port) | 0);
  });
  method(dgramSocket.prototype, 'close', function close() { N.uClose(this[ID]); });
  method(dgramSocket.prototype, 'addMembership', function addMembership() {});
  makers.dgram = function () {
    return {
      createSocket: function createSocket(type, cb) {
        if (cb !== undefined && typeof cb !== 'function') {
          var t = cb === null ? 'null' : typeof cb;
          print('ERROR: Expecting Callback Function but got ' + t.charAt(0).toUpperCase() + t.slice(1));
          return undefined;
        }
        var s = new dgramSocket();
        hide(s, ID, N.uNew(s, isObj(type) && !!type.reuseAddr));
        if (cb) s.on('connect', cb);
        return s;
      },
    };
  };

  function urlParse(u) {
    var m = /^(?:([a-z]+:)\/\/)?([^/:?]*)(?::(\d+))?([^?]*)(\?.*)?$/.exec(String(u)) || [];
    return { protocol: m[1], method: 'GET', host: m[2] || '', path: (m[4] || '/') + (m[5] || ''), pathname: m[4] || '/', search: m[5] || null, port: m[3] ? Number(m[3]) : null, query: m[5] ? m[5].slice(1) : null };
  }
  makers.url = null;

  // ---------------------------------------------------------------- Storage
  function StorageFile() {}
  method(StorageFile.prototype, 'read', function read(len) { return N.sfRead(this, len | 0); });
  method(StorageFile.prototype, 'readLine', function readLine() { return N.sfRead(this, -1); });
  method(StorageFile.prototype, 'getLength', function getLength() { return N.sfLength(this); });
  method(StorageFile.prototype, 'write', function write(d) { N.sfWrite(this, d === undefined ? '' : String(d)); });
  method(StorageFile.prototype, 'erase', function erase() { N.sfErase(this); });
  makers.Storage = function () {
    return {
      eraseAll: function eraseAll() { N.stEraseAll(); },
      erase: function erase(name) { N.stErase(name); },
      read: function read(name, offset, length) { return N.stRead(name, offset | 0, length | 0); },
      readJSON: function readJSON(name, noExceptions) { return fromJSON(N.stReadJSON(name, !!noExceptions)); },
      readArrayBuffer: function readArrayBuffer(name) { var u = N.stReadU8(name); return u === undefined ? undefined : u.buffer; },
      write: function write(name, data, offset, size) { return N.stWrite(name, data, offset | 0, size | 0); },
      writeJSON: function writeJSON(name, data) { return N.stWriteJSON(name, data); },
      list: function list(regex, filter) { return copyArr(N.stList(regex, isObj(filter) && 'sf' in filter ? !!filter.sf : undefined)); },
      hash: function hash(regex) { return N.stHash(regex); },
      compact: function compact() { N.stCompact(); },
      getFree: function getFree() { return N.stFree(); },
      getStats: function getStats() { return JSON.parse(N.stStats()); },
      optimise: function optimise() {},
      open: function open(name, mode) {
        if (mode !== 'r' && mode !== 'w' && mode !== 'a') throw new Error('Invalid mode ' + JSON.stringify(mode));
        var f = new StorageFile();
        N.sfOpen(f, String(name), mode);
        return f;
      },
    };
  };

  // ---------------------------------------------------------------- Wifi
  makers.Wifi = function () {
    var W = {};
    function cbOk(cb) {
      if (cb !== undefined && cb !== null && typeof cb !== 'function') throw new Error('Expecting callback function but got ' + cb);
      return typeof cb === 'function' ? cb : undefined;
    }
    W.scan = function scan(cb) {
      if (typeof cb !== 'function') throw new Error('Expecting callback function but got ' + cb);
      N.wifi('scan', cb);
    };
    W.connect = function connect(ssid, opts, cb) {
      if (typeof ssid !== 'string') throw new Error('No SSID provided');
      if (opts !== undefined && opts !== null && !isObj(opts)) throw new Error('Expecting Object, got ' + typeof opts);
      var pw = opts ? opts.password : undefined;
      if (pw !== undefined && typeof pw !== 'string') throw new Error('Expecting options.password to be a string but got ' + typeof pw);
      N.wifi('connect', cbOk(cb), ssid, pw === undefined ? '' : pw);
    };
    W.disconnect = function disconnect(cb) { N.wifi('disconnect', cbOk(cb)); };
    W.startAP = function startAP(ssid, opts, cb) {
      cb = cbOk(cb);
      if (typeof ssid !== 'string') throw new Error('No SSID');
      if (opts !== undefined && opts !== null && !isObj(opts)) throw new Error('Expecting Object, got ' + typeof opts);
      var o = { channel: undefined, password: undefined, authMode: undefined };
      if (isObj(opts)) {
        if (typeof opts.channel === 'number' && opts.channel % 1 === 0) o.channel = opts.channel;
        if (opts.password !== undefined) {
          if (typeof opts.password !== 'string' || opts.password.length < 8) throw new Error('Password must be string of at least 8 characters');
          o.password = opts.password;
        }
        if (typeof opts.authMode === 'string') o.authMode = opts.authMode;
      }
      N.wifi('startAP', cb, ssid, JSON.stringify(o), isObj(opts));
    };
    W.stopAP = function stopAP(cb) { N.wifi('stopAP', cbOk(cb)); };
    W.getIP = function getIP(cb) { return fromJSON(N.wifi('getIP', cbOk(cb))); };
    W.getAPIP = function getAPIP(cb) { return fromJSON(N.wifi('getAPIP', cbOk(cb))); };
    W.getStatus = function getStatus() { return fromJSON(N.wifi('getStatus')); };
    W.getDetails = function getDetails(cb) { return fromJSON(N.wifi('getDetails', cbOk(cb))); };
    W.getAPDetails = function getAPDetails(cb) { return fromJSON(N.wifi('getAPDetails', cbOk(cb))); };
    W.setHostname = function setHostname(h, cb) { N.wifi('setHostname', cbOk(cb), String(h)); };
    W.getHostname = function getHostname() { return N.wifi('getHostname'); };
    W.save = function save(what) { N.wifi('save', undefined, what === undefined ? undefined : String(what)); };
    W.restore = function restore() { N.wifi('restore'); };
    W.setConfig = function setConfig(s) {
      if (!isObj(s)) throw new Error('Expecting Object, got ' + typeof s);
      N.wifi('setConfig', undefined, JSON.stringify({ phy: s.phy, powersave: s.powersave }));
    };
    W.getHostByName = function getHostByName(h, cb) {
      if (typeof h !== 'string') throw new Error('Hostname parameter is not a string');
      if (typeof cb !== 'function') throw new Error('Callback is not a function');
      N.wifi('getHostByName', cb, h);
    };
    W.setSNTP = function setSNTP() {};
    W.setIP = function setIP(s, cb) { N.wifi('setIP', cbOk(cb), JSON.stringify(s || {})); };
    W.setAPIP = function setAPIP(s, cb) { N.wifi('setAPIP', cbOk(cb), JSON.stringify(s || {})); };
    W.ping = function ping(ip, cb) { N.wifi('ping', cbOk(cb), String(ip)); };
    N.wifi('bind', undefined, W);
    return W;
  };

  // ---------------------------------------------------------------- crypto (libs/crypto/jswrap_crypto.c; ESP32: SHA256, SHA512, TLS)
  makers.crypto = function () {
    var C = {
      SHA1: function SHA1(message) { return N.sha('SHA1', message); },
      SHA224: function SHA224(message) { return N.sha('SHA224', message); },
      SHA256: function SHA256(message) { return N.sha('SHA256', message); },
      SHA384: function SHA384(message) { return N.sha('SHA384', message); },
      SHA512: function SHA512(message) { return N.sha('SHA512', message); },
    };
    C.PBKDF2 = function PBKDF2(passphrase, salt, options) { return N.pbkdf2(passphrase, salt, options); };
    C.AES = {
      encrypt: function encrypt() { N.unemulated('crypto.AES.encrypt'); },
      decrypt: function decrypt() { N.unemulated('crypto.AES.decrypt'); },
    };
    return C;
  };

  // ---------------------------------------------------------------- TelnetServer (libs/network/telnet/jswrap_telnet.c)
  makers.TelnetServer = function () {
    return { setOptions: function setOptions(options) { N.telnet(options); } };
  };

  // ---------------------------------------------------------------- http (Espruino's built-in server)
  makers.http = function () { return N.http(); };

  // ---------------------------------------------------------------- globals
  var globals = {
    global: G,
    print: print,
    console: console_,
    setTimeout: function setTimeout(fn, ms) { return addTimer(fn, ms, arguments, false); },
    setInterval: function setInterval(fn, ms) { return addTimer(fn, ms, arguments, true); },
    clearTimeout: clearer('Timeout'),
    clearInterval: clearer('Interval'),
    changeInterval: function changeInterval(id, ms) { if (!N.tChange(id, Number(ms))) throw new Error('Unknown Interval'); },
    getTime: getTime,
    // Code run with eval (the boot loader runs the app so) meets the same 2v29 syntax check as boot code.
    eval: function (code) {
      if (typeof code === 'string') N.checkCode('eval', code);
      return hostEval(code);
    },
    setTime: setTime,
    Date: EDate,
    E: E,
    process: process_,
    require: require,
    Modules: Modules,
    InternalError: InternalError,
    btoa: function btoa(s) { return N.b64(String(s), 'enc'); },
    atob: function atob(s) { return N.b64(String(s), 'dec'); },
    reset: function reset(clearFlash) { N.reset('reset', !!clearFlash); },
    load: function load(file) { N.reset('load', file === undefined ? undefined : String(file)); },
    save: function save() { print('WARNING: save() (RAM image to flash) is not emulated; use E.setBootCode or Storage'); },
    dump: function dump() { print('// dump() is not emulated'); },
    trace: function trace() {},
    echo: function echo() {},
    edit: function edit() {},
    getSerial: function getSerial() { return N.info.serial; },
    peek8: function peek8(addr, count) { return N.peek(addr, count, 1); },
    peek16: function peek16(addr, count) { return N.peek(addr, count, 2); },
    peek32: function peek32(addr, count) { return N.peek(addr, count, 4); },
    setBusyIndicator: function setBusyIndicator() {},
    setSleepIndicator: function setSleepIndicator() {},
  };
  Object.keys(globals).forEach(function (k) {
    defProp(G, k, { value: globals[k], writable: true, configurable: true, enumerable: false });
  });

  return {
    L: L,
    ID: ID,
    mkErr: mkErr,
    newSocket: newSocket,
    protos: [Socket.prototype, Server.prototype, dgramSocket.prototype, StorageFile.prototype, EP, InternalError.prototype],
    E: E,
    process: process_,
    Uint8Array: Uint8Array,
    Uint16Array: Uint16Array,
    Uint32Array: Uint32Array,
    ArrayBuffer: ArrayBuffer,
    JSON: JSON,
    Function: Function,
    Object: Object,
  };
})
