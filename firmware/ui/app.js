/*
 * The device's configuration app (see /tmp/espweb-api.md for the API it uses).
 * Plain ES2017 for the user's browser, not for the interpreter.
 * Every text that comes from the device or the air (device name, SSIDs,
 * messages) goes into the page as a text node: no innerHTML anywhere.
 * Every form control is made by field() or choice(), which give it a label.
 */
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const main = $('main');
  const nav = $('nav');
  const msg = $('msg');
  const PAGES = {
    status: ['Status', statusPage],
    wifi: ['Wi-Fi', wifiPage],
    settings: ['Settings', settingsPage],
    security: ['Security', securityPage],
    system: ['System', systemPage],
    update: ['Update', updatePage],
  };
  /** The last /api/status body. */
  let st = {};
  /** True once signed in: the sections and the nav are shown. */
  let ready = false;
  let timer = 0;
  let uid = 0;

  // ---- DOM ---------------------------------------------------------------

  /** An element: props are properties when the element has them (text safe), else attributes; `on…` are listeners. */
  function h(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const k in props) {
      const v = props[k];
      if (v == null) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k in e) e[k] = v;
      else if (v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    add(e, kids);
    return e;
  }
  function add(e, kids) {
    for (const c of kids) if (c != null && c !== false) Array.isArray(c) ? add(e, c) : e.append(c);
  }
  const p = (...kids) => h('p', null, ...kids);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const num = (n) => (n == null ? '–' : Number(n).toLocaleString());
  const quote = (s) => '“' + s + '”';
  /** The app's address on another interface of the device: the same scheme and port, that IP. */
  const urlOf = (ip) => location.protocol + '//' + ip + (location.port ? ':' + location.port : '') + '/';
  /** The device's sentences start in lower case ("wrong password"): shown as sentences. */
  const cap = (s) => String(s).charAt(0).toUpperCase() + String(s).slice(1);

  /** A labelled input or select: [wrapper, control]. The control's error line is control.err. */
  function field(label, tag, props, help) {
    const id = 'c' + ++uid;
    const hid = help ? id + 'h ' : '';
    const c = h(tag, Object.assign({ id, 'aria-describedby': hid + id + 'e' }, props));
    const l = h('label', { htmlFor: id }, label);
    const box = h('div', { className: 'field' + (props.type == 'checkbox' ? ' check' : '') });
    add(box, props.type == 'checkbox' ? [c, l] : [l, c]);
    if (help) box.append(h('p', { id: id + 'h', className: 'help' }, help));
    box.append((c.err = h('p', { id: id + 'e', className: 'err' })));
    return [box, c];
  }
  /** A radio button (or checkbox) wrapped in its label with any other content. */
  function choice(props, ...kids) {
    const c = h('input', props);
    return [h('label', { className: 'opt' }, c, ...kids), c];
  }
  /** Mark a control invalid with message m, or valid when m is empty. */
  function bad(c, m) {
    c.setAttribute('aria-invalid', !!m);
    c.err.textContent = m ? cap(m) : '';
  }
  /** Put a message in a note (a live region): kind 'ok' or 'bad' or none. */
  function note(n, text, kind) {
    n.className = 'note' + (kind ? ' ' + kind : '');
    n.textContent = text ? cap(text) : '';
  }
  /** The page-wide message under the nav (it is an aria-live region). */
  const say = (text, kind) => note(msg, text, kind);
  function lock() {
    return $('lock').content.firstChild.cloneNode(true);
  }
  /** Signal bars for an RSSI in dBm: [bars, word]. */
  function signal(rssi) {
    const lv = rssi >= -55 ? 4 : rssi >= -67 ? 3 : rssi >= -75 ? 2 : 1;
    const word = ['weak', 'fair', 'good', 'excellent'][lv - 1];
    const b = h('span', { className: 'sig', role: 'img', 'aria-label': 'signal ' + word });
    for (let i = 0; i < 4; i++) b.append(h('i', { className: i < lv ? 'on' : '' }));
    return [b, word];
  }

  /**
   * A form: the note at its top (a live region) and a submit button; `run(note)`
   * does the work, and an error it throws is shown in the note. After a 429 the
   * button stays disabled for the Retry-After seconds.
   */
  function form(label, run, ...kids) {
    const b = h('button', { type: 'submit' }, label);
    const out = h('div', { className: 'note', role: 'status', tabIndex: -1 });
    const f = h('form', {
      noValidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        if (b.disabled) return;
        b.disabled = true;
        note(out, '');
        let hold = 0;
        try {
          await run(out);
        } catch (e) {
          note(out, e.message, 'bad');
          hold = (e.retry || 0) * 1000;
        }
        setTimeout(() => (b.disabled = false), hold);
      },
    }, out, kids, h('div', { className: 'row' }, b));
    return f;
  }

  /** A confirmation as a modal <dialog>: resolves true when confirmed. */
  function ask(title, text, ok, danger) {
    return new Promise((res) => {
      const back = document.activeElement;
      let yes = false;
      const end = () => {
        d.remove();
        if (back) back.focus();
        res(yes);
      };
      // Esc closes the dialog too (as a no).
      const shut = (v) => ((yes = v), d.close ? d.close() : end());
      const d = h('dialog', { 'aria-labelledby': 'dt', onclose: end },
        h('h2', { id: 'dt' }, title), p(text),
        h('div', { className: 'row end' },
          h('button', { type: 'button', className: 'ghost', onclick: () => shut(false) }, 'Cancel'),
          h('button', { type: 'button', className: danger ? 'danger' : '', onclick: () => shut(true) }, ok)));
      document.body.append(d);
      if (d.showModal) d.showModal();
      else d.setAttribute('open', '');
    });
  }

  // ---- API ---------------------------------------------------------------

  /**
   * Call the device. Resolves with the JSON body of a 2xx; otherwise throws an
   * Error with the device's sentence, `.status`, `.errors` (a 400's fields) and
   * `.retry` (Retry-After, s). A 401 (except from the sign-in itself) shows the
   * sign-in screen.
   */
  /** The password typed on this page, in memory only (never stored): sent as HTTP Basic with every call. */
  let remembered = '';
  async function api(path, method, body, wait, tries) {
    const o = { method: method || 'GET', credentials: 'same-origin', headers: { Accept: 'application/json' } };
    // Once a password was typed on this page, every call carries it: a captive-portal sheet may keep no cookie at
    // all (and /api/status answers without one, as signed out, instead of 401).
    if (remembered && path != '/api/login') o.headers.Authorization = 'Basic ' + btoa(unescape(encodeURIComponent('admin:' + remembered)));
    if (body != null) {
      o.headers['Content-Type'] = 'application/json';
      o.body = typeof body == 'string' ? body : JSON.stringify(body);
    }
    let r;
    let d = {};
    if (wait && window.AbortController) {
      const a = new AbortController();
      o.signal = a.signal;
      setTimeout(() => a.abort(), wait);
    }
    try {
      r = await fetch(path, o);
      d = await r.json();
    } catch (e) {
      if (!r) throw Object.assign(new Error('The device is not answering. Is this phone or computer still on its network?'), { status: 0 });
    }
    if (r.ok) return d;
    // Every connection slot of the board busy (the runtime's own plain-text 503, sent before the request was
    // read: nothing happened): a small board has 3 slots and a browser opens up to 6 connections. Try again.
    if (r.status == 503 && !/json/.test(r.headers.get('Content-Type') || '') && (tries || 0) < 3) {
      await new Promise((res) => setTimeout(res, 1000 * (+r.headers.get('Retry-After') || 1)));
      return api(path, method, body, wait, (tries || 0) + 1);
    }
    const e = new Error(d.error || (d.errors ? 'Some fields need attention.' : 'The device answered ' + r.status + '.'));
    e.status = r.status;
    e.errors = d.errors;
    e.retry = +r.headers.get('Retry-After') || 0;
    if (r.status == 401 && path != '/api/login') signIn('Your session has ended: sign in again.');
    else if (r.status == 403 && !d.errors) api('/api/status').then((s) => s.passwordSet || show(s), () => {});
    throw e;
  }
  /** Show field errors {name: message} on the controls of `ctl` (name → control); the rest are returned. */
  function fieldErrors(ctl, errors) {
    const rest = {};
    for (const k in errors) ctl[k] ? bad(ctl[k], errors[k]) : (rest[k] = errors[k]);
    return rest;
  }

  // ---- Screens and routing -------------------------------------------------

  function setStatus(s) {
    st = s;
    $('name').textContent = s.name || s.title || 'espweb';
  }
  /** Start over from /api/status: the first-run screen, the sign-in screen or the app. */
  async function start() {
    try {
      show(await api('/api/status'));
    } catch (e) {
      screen('Cannot reach the device', p(e.message), h('button', { type: 'button', onclick: start }, 'Try again'));
    }
  }
  function show(s) {
    setStatus(s);
    if (!s.passwordSet) firstRun();
    else if (!s.signedIn) signIn();
    else {
      ready = true;
      nav.hidden = false;
      route();
    }
  }
  /** A screen outside the app (first run, sign-in): no nav. */
  function screen(title, ...kids) {
    ready = false;
    clearInterval(timer);
    nav.hidden = true;
    document.title = title + ' · ' + $('name').textContent;
    const h2 = h('h2', { tabIndex: -1 }, title);
    main.replaceChildren(h('section', { className: 'card narrow' }, h2, ...kids));
    return h2;
  }
  function firstRun() {
    const [pb, pw] = field('Password', 'input', { type: 'password', autocomplete: 'new-password', minLength: 8, required: true }, 'At least 8 characters. It protects every setting of this device.');
    const [cb, cf] = field('Confirm password', 'input', { type: 'password', autocomplete: 'new-password', required: true });
    screen('Welcome — set an admin password',
      form('Set password', async () => {
        if (!newPassword(pw, cf)) return;
        try {
          await api('/api/password', 'POST', { password: pw.value });
        } catch (e) {
          throw shown(e, { password: pw });
        }
        remembered = pw.value;
        start();
      }, pb, cb));
    pw.focus();
  }
  /** Client-side check of a new password and its confirmation; false (with the errors shown) when they do not do. */
  function newPassword(pw, cf) {
    bad(pw, pw.value.length < 8 ? 'Use at least 8 characters.' : '');
    bad(cf, cf.value != pw.value ? 'The two passwords differ.' : '');
    return pw.value.length >= 8 && cf.value == pw.value;
  }
  /** Show a 400/403's field errors on the controls; the error, for its sentence. */
  function shown(e, ctl) {
    if (e.errors) {
      const rest = fieldErrors(ctl, e.errors);
      e.message = Object.keys(rest).map((k) => rest[k]).join(' ') || 'Please correct the marked field.';
    }
    return e;
  }
  function signIn(why) {
    if (!ready && main.querySelector('#signin')) return;
    const [pb, pw] = field('Admin password', 'input', { type: 'password', autocomplete: 'current-password', required: true });
    screen('Sign in',
      p('Enter the admin password of this device.'),
      form('Sign in', async () => {
        if (!pw.value) return bad(pw, 'Enter the password.');
        bad(pw, '');
        await api('/api/login', 'POST', { password: pw.value });
        remembered = pw.value;
        start();
      }, pb)).id = 'signin';
    if (why) say(why);
    pw.focus();
  }
  function route(moved) {
    clearInterval(timer);
    if (!ready) return;
    let k = location.hash.slice(2);
    if (!PAGES[k]) k = 'status';
    for (const a of nav.querySelectorAll('a')) {
      if (a.getAttribute('href') == '#/' + k) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const [title, page] = PAGES[k];
    document.title = title + ' · ' + $('name').textContent;
    const h2 = h('h2', { tabIndex: -1 }, title);
    main.replaceChildren(h2);
    page(main);
    // After a click in the nav, or when the focused element went away (signed in): the new heading.
    if (moved || document.activeElement == document.body) h2.focus();
  }
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#/')) {
      say('');
      route(true);
    }
  });
  function card(title, ...kids) {
    return h('section', { className: 'card' }, title && h('h3', null, title), ...kids);
  }
  /** A definition list from [term, value] rows; rows without a value are left out. */
  function rows(list) {
    const dl = h('dl');
    for (const [t, v] of list) if (v || v === 0) dl.append(h('div', null, h('dt', null, t), h('dd', null, v)));
    return dl;
  }

  // ---- Status ------------------------------------------------------------

  function uptime(s) {
    if (s == null) return null;
    const d = Math.floor(s / 86400), hr = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    return (d ? d + ' d ' : '') + (d || hr ? hr + ' h ' : '') + (d || hr || m ? m + ' min' : (s % 60) + ' s');
  }
  function meter(used, total, text) {
    const pc = total ? Math.round((used / total) * 100) : 0;
    const i = h('i');
    i.style.width = pc + '%';
    return [h('div', { className: 'bar' + (pc > 85 ? ' hot' : ''), 'aria-hidden': 'true' }, i), p(text + ' (' + pc + ' %)')];
  }
  const MODES = { ap: 'Own access point', sta: 'Joined a network', 'ap+sta': 'Access point + joined', off: 'Off' };
  const STATES = { joining: 'Joining a network…', retry: 'Trying the saved network again', fallback: 'The saved network is away: own network back, still trying' };

  function statusPage(root) {
    const box = h('div', { className: 'cards', 'aria-live': 'off' });
    root.append(box);
    const draw = (s) => {
      const w = s.wifi || {};
      const m = s.mem || {};
      const pool = s.pool || {};
      const rq = s.requests || {};
      const q = s.mqtt || {};
      const ip = w.ip && h('a', { href: urlOf(w.ip) }, w.ip);
      const [bars, word] = signal(w.rssi);
      box.replaceChildren(
        card('Device', rows([['Name', s.name], ['Board', s.title || s.board], ['Version', s.version], ['Up for', uptime(s.uptime)]])),
        card('Memory', ...meter(m.used, m.total, num(m.used) + ' of ' + num(m.total) + ' ' + (m.unit || '') + ' used')),
        card('Wi-Fi', rows([
          ['Mode', MODES[w.mode] || w.mode],
          ['Network', w.ssid],
          ['Address', ip],
          ['Signal', w.ssid && w.rssi != null && h('span', null, bars, ' ' + word + ' (' + w.rssi + ' dBm)')],
          ['Own network', /ap/.test(w.mode) && w.apSsid],
          ['Its address', /ap/.test(w.mode) && w.apIp],
          ['Own network off in', w.apOffIn ? w.apOffIn + ' s' : null],
          ['Now', STATES[w.state]],
          ['Last problem', w.lastError && w.state != 'sta' && w.state != 'grace' ? cap(w.lastError) : null],
        ])),
        card('Server', ...meter(pool.used, pool.total, num(pool.used) + ' of ' + num(pool.total) + ' connection slots in use'),
          rows([['2xx answers', num(rq['2xx'])], ['3xx answers', num(rq['3xx'])], ['4xx answers', num(rq['4xx'])], ['5xx answers', num(rq['5xx'])], ['Errors since boot', num(s.errors)]])),
        ...((q.state && q.state != 'off') || q.why ? [card('MQTT', rows([
          ['Broker', q.broker],
          ['Now', q.state == 'connected' ? 'Connected' : q.state == 'connecting' ? 'Connecting…' : q.state == 'off' ? 'Off' : 'Not connected: next try in ' + q.retryIn + ' s'],
          [q.state == 'off' ? 'Why' : 'Last problem', q.state != 'connected' && q.why ? cap(q.why) : null],
          ['Topics', q.base && q.base + '/…'],
        ]))] : []));
    };
    const tick = async () => {
      if (document.hidden) return;
      try {
        const s = await api('/api/status');
        setStatus(s);
        if (!s.signedIn || !s.passwordSet) return show(s);
        if (msg.classList.contains('bad')) say('');
        draw(s);
      } catch (e) {
        say(e.message, 'bad');
      }
    };
    draw(st);
    tick();
    timer = setInterval(tick, 3000);
  }

  // ---- Wi-Fi ---------------------------------------------------------------

  function wifiPage(root) {
    const w = st.wifi || {};
    const scanB = h('button', { type: 'button', onclick: scan }, 'Scan for networks');
    const list = h('div', { className: 'nets' });
    const join = h('div', { className: 'join' });
    const now = (ssid, ip) => (ssid ? 'Now joined to ' + quote(ssid) + (ip ? ' at ' + ip : '') + '.' : 'Not joined to any network: the device runs its own access point.');
    const intro = p(now(w.ssid, w.ip));
    root.append(intro, h('div', { className: 'row' }, scanB), list);

    async function scan() {
      scanB.disabled = true;
      scanB.textContent = 'Scanning…';
      list.setAttribute('aria-busy', 'true');
      join.remove();
      try {
        const nets = best((await api('/api/wifi/scan')).networks || []);
        const fs = h('fieldset', null, h('legend', null, nets.length + ' network' + (nets.length == 1 ? '' : 's') + ' found'));
        for (const n of nets) {
          const open = n.auth == 'open';
          const [b, word] = signal(n.rssi);
          fs.append(choice({ type: 'radio', name: 'net', onclick: pick(n) },
            h('span', { className: 'ssid' }, n.ssid),
            h('span', { className: 'meta' }, open ? 'open' : [lock(), ' ', h('span', { className: 'vh' }, 'secured, '), String(n.auth).toUpperCase().replace('_', '/')]),
            b, h('span', { className: 'vh' }, ', ' + word))[0]);
        }
        fs.append(choice({ type: 'radio', name: 'net', onclick: pick(null) }, h('span', { className: 'ssid' }, 'Other network…'))[0]);
        list.replaceChildren(fs);
        say(nets.length ? 'Scan done: ' + nets.length + ' network' + (nets.length == 1 ? '' : 's') + '. Pick one.' : 'No networks found.');
      } catch (e) {
        list.replaceChildren();
        say(e.message, 'bad');
      }
      list.removeAttribute('aria-busy');
      scanB.disabled = false;
      scanB.textContent = 'Scan again';
    }

    /**
     * The click handler of network n's radio button (n null: a hidden network,
     * its name typed in): opens the join form under it. A tap or a click (not
     * the arrow keys moving through the list) also puts the focus in the form.
     */
    const pick = (n) => (ev) => {
      const item = ev.target.parentNode;
      if (join.parentNode && join.previousSibling == item) return;
      const open = n && n.auth == 'open';
      const [sb, sf] = field('Network name (SSID)', 'input', { type: 'text', autocapitalize: 'none', autocomplete: 'off', spellcheck: false });
      const [pb, pw] = field('Password', 'input', { type: 'password', autocomplete: 'off', autocapitalize: 'none' });
      const [showB, showC] = choice({ type: 'checkbox', onchange: () => (pw.type = showC.checked ? 'text' : 'password') }, 'Show password');
      const res = h('div', { className: 'result', role: 'status' });
      const f = form('Connect', async (out) => {
        const ssid = n ? n.ssid : sf.value;
        if (!n) bad(sf, ssid ? '' : 'Enter the network name.');
        if (!ssid) return;
        if (n && /^wpa/.test(n.auth) && pw.value.length < 8) return bad(pw, 'A WPA password has at least 8 characters.');
        if (!open) bad(pw, '');
        note(out, '');
        const prog = h('div', { className: 'progress' }, h('progress', { 'aria-label': 'Joining' }), p('Joining ' + quote(ssid) + '… this can take 20 s.'));
        res.replaceChildren(prog);
        try {
          const r = await api('/api/wifi/connect', 'POST', { ssid, password: open ? '' : pw.value }, 45000);
          f.hidden = true;
          if (r.switching) {
            // A board that cannot run its access point and a station at once: it said where to go before it leaves.
            const local = location.protocol + '//' + (r.host || 'espweb') + '.local/';
            res.replaceChildren(h('div', { className: 'note ok' },
              p('The device now leaves ' + quote(r.apSsid) + ' and joins ' + quote(ssid) + '. This page will stop answering.'),
              p('Connect this phone or computer to ' + quote(ssid) + ', then open the address your router lists for ' + quote(r.name) + ' (on many networks ', h('a', { href: local }, local), ').'),
              p('If it cannot join, ' + quote(r.apSsid) + ' comes back within a minute: join it again and this page says why.')));
            return;
          }
          const url = urlOf(r.ip);
          intro.textContent = now(r.ssid || ssid, r.ip);
          const left = h('span', null, String(r.apOffIn || 0));
          res.replaceChildren(h('div', { className: 'note ok' },
            p('Joined ' + quote(r.ssid || ssid) + '. From now on, find the device at:'),
            p(h('a', { href: url, className: 'big' }, url)),
            p('Connect this phone or computer to ' + quote(r.ssid || ssid) + ' first if it is on another network.'),
            r.apOffIn ? p('The device\'s own network stays on for another ', left, ' s, then goes off.') : null));
          if (r.apOffIn) {
            const t0 = Date.now();
            const tick = setInterval(() => {
              const n = Math.max(0, r.apOffIn - Math.floor((Date.now() - t0) / 1000));
              left.textContent = String(n);
              if (!n || !left.isConnected) clearInterval(tick);
            }, 1000);
          }
          res.querySelector('a').focus();
        } catch (e) {
          res.replaceChildren();
          if (e.status == 0) e.message = 'The device stopped answering while joining. If it joined ' + quote(ssid) + ', find it on that network.';
          throw e;
        }
      }, open ? p('This network is open: no password needed.') : !n && sb, !open && [pb, h('div', { className: 'field' }, showB)]);
      join.replaceChildren(f, res);
      item.after(join);
      if (ev.detail) (n ? (open ? f.querySelector('button') : pw) : sf).focus();
    };
  }
  /** One entry per SSID (the strongest), hidden ones left out, strongest first. */
  function best(nets) {
    const by = {};
    for (const n of nets) if (n.ssid && (!by[n.ssid] || by[n.ssid].rssi < n.rssi)) by[n.ssid] = n;
    return Object.keys(by).map((k) => by[k]).sort((a, b) => b.rssi - a.rssi);
  }

  // ---- Settings --------------------------------------------------------------

  /** The settings schema, fetched once per page load. */
  let schemaP;
  const schema = () => (schemaP = schemaP || api('/api/schema').catch((e) => ((schemaP = null), Promise.reject(e))));

  function settingsPage(root) {
    const box = h('div', null, p('Loading settings…'));
    root.append(box);
    Promise.all([schema(), api('/api/config')]).then(([schema, cfg]) => box.replaceChildren(settingsForm(schema.fields || [], cfg)),
      (e) => box.replaceChildren(h('div', { className: 'note bad' }, e.message)));
  }
  const opt = (c) => (c && typeof c == 'object' ? [c.value, c.label == null ? c.value : c.label] : [c, c]);

  function settingsForm(fields, cfg) {
    const ctl = {};
    const groups = {};
    const sets = [];
    for (const f of fields) {
      const g = f.group || 'General';
      if (!groups[g]) sets.push((groups[g] = h('fieldset', null, h('legend', null, g))));
      const t = f.type;
      const props = {
        int: { type: 'number', inputMode: 'numeric', step: 1, min: f.min, max: f.max, required: true },
        bool: { type: 'checkbox' },
        string: { type: 'text', minLength: f.min, maxLength: f.max, required: f.min > 0 },
        secret: { type: 'password', autocomplete: 'new-password', minLength: f.min, maxLength: f.max },
      }[t] || {};
      const limits = t == 'int' && f.min != null && f.max != null ? f.min + ' to ' + f.max + '. ' : '';
      const help = limits + (f.help || '') || null;
      const [b, c] = field(f.label || f.name, t == 'choice' ? 'select' : 'input', props, help);
      if (t == 'choice') for (const x of f.choices || []) c.append(h('option', { value: String(opt(x)[0]) }, String(opt(x)[1])));
      if (t == 'secret') {
        const [cb, cc] = choice({ type: 'checkbox', onchange: () => (c.disabled = cc.checked) }, 'Clear the saved value');
        c.clear = cc;
        c.clearBox = cb;
        b.insertBefore(cb, c.err);
      }
      c.f = f;
      ctl[f.name] = c;
      groups[g].append(b);
    }
    /** Put the device's config into the controls. */
    function fill(v) {
      cfg = v;
      for (const k in ctl) {
        const c = ctl[k];
        const x = v[k];
        bad(c, '');
        if (c.type == 'checkbox') c.checked = !!x;
        else if (c.f.type == 'secret') {
          c.value = '';
          c.disabled = c.clear.checked = false;
          c.placeholder = x && x.set ? 'set — leave empty to keep' : 'not set';
          c.clearBox.hidden = !(x && x.set);
        } else c.value = x == null ? '' : String(x);
      }
    }
    /** The value of a control in the type of its field, for the fields that changed: {name: value}. */
    function changes() {
      const out = {};
      for (const k in ctl) {
        const c = ctl[k];
        const t = c.f.type;
        const old = cfg[k];
        if (t == 'bool') {
          if (c.checked != !!old) out[k] = c.checked;
        } else if (t == 'secret') {
          if (c.clear.checked) out[k] = '';
          else if (c.value) out[k] = c.value;
        } else if (c.value != (old == null ? '' : String(old))) {
          if (t == 'int') out[k] = c.value == '' ? c.value : +c.value;
          else if (t == 'choice') out[k] = opt((c.f.choices || []).find((x) => String(opt(x)[0]) == c.value))[0];
          else out[k] = c.value;
        }
      }
      return out;
    }
    let summary;
    const f = form('Save', async (out) => {
      const ch = changes();
      const errors = {};
      for (const k in ctl) bad(ctl[k], '');
      for (const k in ch) if (!ctl[k].checkValidity()) errors[k] = ctl[k].validationMessage;
      if (!Object.keys(ch).length) return note(out, 'Nothing changed.');
      try {
        if (Object.keys(errors).length) throw Object.assign(new Error(), { errors });
        fill(await api('/api/config', 'PUT', ch));
        api('/api/status').then(setStatus, () => {});
        note(out, 'Saved ' + Object.keys(ch).length + ' setting' + (Object.keys(ch).length > 1 ? 's' : '') + '.', 'ok');
      } catch (e) {
        if (!e.errors) throw e;
        const rest = fieldErrors(ctl, e.errors);
        const ul = h('ul');
        for (const k in e.errors) {
          const c = ctl[k];
          ul.append(h('li', null, c ? h('a', { href: '#' + c.id, onclick: (ev) => (ev.preventDefault(), c.focus()) }, (c.f.label || k) + ': ' + e.errors[k]) : k + ': ' + rest[k]));
        }
        const n = Object.keys(e.errors).length;
        note(out, 'Not saved: ' + n + ' field' + (n > 1 ? 's need' : ' needs') + ' attention.', 'bad');
        out.append(ul);
        out.focus();
      }
    }, sets);
    fill(cfg);
    return f;
  }

  // ---- Security --------------------------------------------------------------

  function securityPage(root) {
    const [cb, cur] = field('Current password', 'input', { type: 'password', autocomplete: 'current-password', required: true });
    const [nb, pw] = field('New password', 'input', { type: 'password', autocomplete: 'new-password', minLength: 8, required: true }, 'At least 8 characters.');
    const [fb, cf] = field('Confirm new password', 'input', { type: 'password', autocomplete: 'new-password', required: true });
    root.append(
      card('Change the admin password', form('Change password', async (out) => {
        bad(cur, cur.value ? '' : 'Enter the current password.');
        if (!newPassword(pw, cf) || !cur.value) return;
        try {
          await api('/api/password', 'POST', { password: pw.value, current: cur.value });
        } catch (e) {
          throw shown(e, { current: cur, password: pw });
        }
        if (remembered) remembered = pw.value;
        cur.value = pw.value = cf.value = '';
        note(out, 'Password changed.', 'ok');
      }, cb, nb, fb)),
      card('Sign out', p('End this browser\'s session. The device keeps running.'),
        h('div', { className: 'row' }, h('button', {
          type: 'button', className: 'ghost', onclick: async () => {
            try {
              remembered = '';
              await api('/api/logout', 'POST', {});
              signIn('Signed out.');
            } catch (e) {
              say(e.message, 'bad');
            }
          },
        }, 'Sign out'))));
  }

  // ---- System ----------------------------------------------------------------

  function systemPage(root) {
    const [ib, file] = field('Settings file', 'input', { type: 'file', accept: '.json,application/json' });
    root.append(
      card('Restart', p('Restart the device. It is unreachable for a few seconds.'),
        h('div', { className: 'row' }, h('button', { type: 'button', onclick: reboot }, 'Reboot…'))),
      card('Back up settings', p('Download the settings as a file (passwords and other secrets are left out).'),
        h('div', { className: 'row' }, h('a', { className: 'btn', href: '/api/config/export', download: '' }, 'Export settings'))),
      card('Restore settings', form('Import', async (out) => {
        const fl = file.files[0];
        bad(file, fl ? '' : 'Choose a settings file first.');
        if (!fl) return;
        const text = await fl.text();
        try {
          JSON.parse(text);
        } catch (e) {
          return bad(file, 'This is not a settings file (it is not JSON).');
        }
        try {
          await api('/api/config/import', 'POST', text);
        } catch (e) {
          if (!e.errors) throw e;
          const fields = await schema().then((s) => s.fields || [], () => []);
          note(out, 'Not imported:', 'bad');
          out.append(h('ul', null, Object.keys(e.errors).map((k) => {
            const f = fields.find((x) => x.name == k);
            return h('li', null, (f && f.label ? f.label : k) + ': ' + e.errors[k]);
          })));
          return;
        }
        note(out, 'Settings imported.', 'ok');
      }, ib)),
      card('Factory reset', p('Erase every setting and the admin password. The device restarts as new, with its own access point.'),
        h('div', { className: 'row' }, h('button', { type: 'button', className: 'danger', onclick: reset }, 'Factory reset…'))));
  }
  /** Reboot or factory reset: confirm, ask the device, wait until it answers again, and say how it came back. */
  async function restart(route, q, body, yes, danger, doing, backNote, lost, always) {
    if (!(await ask(q, body, yes, danger))) return;
    try {
      await api(route, 'POST', {});
    } catch (e) {
      return say(e.message, 'bad');
    }
    const s = await waitBack(doing);
    if (!s) return say(lost, 'bad');
    say(backNote, 'ok');
    if (always || !s.signedIn || !s.passwordSet) show(s);
  }
  const reboot = () => restart('/api/reboot', 'Reboot the device?', 'It is unreachable for a few seconds.', 'Reboot', false, 'Rebooting',
    'The device is back.', 'The device has not answered for 90 s. It may have joined another network.');
  const reset = () => restart('/api/factory-reset', 'Erase everything?', 'Every setting and the admin password are erased, and the device restarts. This cannot be undone.',
    'Erase and restart', true, 'Erasing and restarting', 'The device is back, as new.',
    'The device has not answered for 90 s. It now runs its own access point: join it and open this page again.', true);
  /** After a restart was asked for: wait until /api/status answers again from the restarted device; its body, or null after 90 s. */
  async function waitBack(what) {
    clearInterval(timer);
    const t0 = Date.now();
    let down = false;
    for (;;) {
      const s = Math.round((Date.now() - t0) / 1000);
      if (s > 90) return null;
      say(what + '… waiting for the device to answer again (' + s + ' s).');
      await sleep(1500);
      try {
        const r = await api('/api/status', 0, null, 3000);
        // Until it restarts, the device still answers as before: the same session, the same uptime.
        if (down || !r.signedIn || r.uptime < (Date.now() - t0) / 1000) return r;
      } catch (e) {
        down = true;
      }
    }
  }

  // ---- Update ----------------------------------------------------------------

  /**
   * SHA-256 of bytes (FIPS 180-4), for X-Update-SHA256: the page is served over plain HTTP, where browsers
   * give no crypto.subtle. The round constants are the fractional parts of the primes' roots, computed.
   */
  function sha256(data) {
    const K = [];
    const H = [];
    for (let n = 2, i = 0; i < 64; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) if (n % d == 0) prime = false;
      if (!prime) continue;
      if (i < 8) H[i] = ((Math.pow(n, 1 / 2) % 1) * 4294967296) | 0;
      K[i++] = ((Math.pow(n, 1 / 3) % 1) * 4294967296) | 0;
    }
    const len = data.length;
    const m = new Uint8Array(((len + 72) >> 6) << 6);
    m.set(data);
    m[len] = 0x80;
    const dv = new DataView(m.buffer);
    dv.setUint32(m.length - 8, Math.floor(len / 536870912));
    dv.setUint32(m.length - 4, len * 8);
    const w = new Int32Array(64);
    const r = (x, k) => (x >>> k) | (x << (32 - k));
    for (let o = 0; o < m.length; o += 64) {
      for (let i = 0; i < 16; i++) w[i] = dv.getInt32(o + i * 4);
      for (let i = 16; i < 64; i++) {
        const a = w[i - 15];
        const b = w[i - 2];
        w[i] = (w[i - 16] + (r(a, 7) ^ r(a, 18) ^ (a >>> 3)) + w[i - 7] + (r(b, 17) ^ r(b, 19) ^ (b >>> 10))) | 0;
      }
      let [a, b, c, d, e, f, g, hh] = H;
      for (let i = 0; i < 64; i++) {
        const t1 = (hh + (r(e, 6) ^ r(e, 11) ^ r(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
        const t2 = ((r(a, 2) ^ r(a, 13) ^ r(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      [a, b, c, d, e, f, g, hh].forEach((x, i) => (H[i] = (H[i] + x) | 0));
    }
    const out = new Uint8Array(32);
    H.forEach((x, i) => new DataView(out.buffer).setInt32(i * 4, x));
    return out;
  }
  const hex = (b) => Array.from(b, (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
  /** HMAC-SHA256 (RFC 2104) of bytes under a key of printable ASCII, for X-Update-Signature. */
  function hmac(key, data) {
    let k = new TextEncoder().encode(key);
    if (k.length > 64) k = sha256(k);
    const pad = (x) => {
      const b = new Uint8Array(64).fill(x);
      k.forEach((v, i) => (b[i] ^= v));
      return b;
    };
    const join = (a, b) => {
      const c = new Uint8Array(a.length + b.length);
      c.set(a);
      c.set(b, a.length);
      return c;
    };
    return sha256(join(pad(0x5c), sha256(join(pad(0x36), data))));
  }

  /** POST the app with real upload progress (fetch reports none): resolves { status, body }. */
  function upload(bytes, headers, bar) {
    return new Promise((res, rej) => {
      const x = new XMLHttpRequest();
      x.open('POST', '/api/update');
      for (const k in headers) x.setRequestHeader(k, headers[k]);
      if (remembered) x.setRequestHeader('Authorization', 'Basic ' + btoa(unescape(encodeURIComponent('admin:' + remembered))));
      x.upload.onprogress = (e) => e.lengthComputable && ((bar.value = e.loaded), (bar.max = e.total));
      x.onload = () => {
        let body = {};
        try {
          body = JSON.parse(x.responseText);
        } catch (e) {
          /* the runtime's plain-text answers */
        }
        res({ status: x.status, body, text: x.responseText });
      };
      x.onerror = () => rej(new Error('The upload broke off (the network, or the device went away). The device keeps its app.'));
      x.send(bytes);
    });
  }

  /** The state of the apps on the device, in words: rows for a definition list. */
  function updateRows(u) {
    return [
      ['Running', u.running.version + (u.state == 'trial' ? ' — on trial, confirms itself in ' + u.confirmIn + ' s' : ' — confirmed')],
      ['Kept', u.previous ? u.previous.version + ' (the app it can return to)' : 'No previous app is kept on this device.'],
      ['Last return', u.back && u.back.from + ' → ' + u.back.to + ': ' + u.back.why],
      ['Signed updates', u.signed ? 'required (an update key is set)' : 'not required'],
      ['Room for an app', num(Math.floor(u.room / 1024)) + ' KB'],
    ];
  }

  function updatePage(root) {
    const box = h('div', { 'aria-live': 'polite' });
    const state = card('This device', box);
    const [fb, file] = field('App file', 'input', { type: 'file', accept: '.js,application/javascript,text/javascript' }, 'The app.js of a build for this kind of board (dist/<board>/app.js).');
    const [kb, key] = field('Update key', 'input', { type: 'password', autocomplete: 'off' }, 'This device takes only signed updates: the key set under Settings → Security.');
    kb.hidden = true;
    const bar = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
    const back = h('div', { className: 'row' });
    // Shown only while an app is kept to return to.
    const ret = card('Return', p('Run the app kept before this one. The device restarts.'), back);
    ret.hidden = true;
    let cur = null;
    const draw = (u) => {
      cur = u;
      box.replaceChildren(rows(updateRows(u)));
      kb.hidden = !u.signed;
      ret.hidden = !u.previous;
      back.replaceChildren(u.previous ? h('button', { type: 'button', className: 'ghost', onclick: () => returnTo(u) }, 'Return to ' + u.previous.version + '…') : '');
    };
    const load = () => api('/api/update').then(draw, (e) => box.replaceChildren(p(e.message)));
    load();
    timer = setInterval(() => cur && cur.state == 'trial' && load(), 2000);
    root.append(state,
      card('Install an update', form('Upload and install', async (out) => {
        const fl = file.files[0];
        bad(file, fl ? '' : 'Choose an app file first.');
        if (!fl) return;
        const bytes = new Uint8Array(await fl.arrayBuffer());
        const id = /^\/\*espweb (\S+) (\S+)\*\//.exec(new TextDecoder('latin1').decode(bytes.subarray(0, 80)));
        if (!id) return bad(file, 'This is not an espweb app: its first line is not /*espweb <version> <board>*/.');
        if (cur && cur.signed && !key.value) return bad(key, 'Enter the update key.');
        bad(key, '');
        const headers = { 'Content-Type': 'application/octet-stream', 'X-Update-SHA256': hex(sha256(bytes)) };
        if (cur && cur.signed) headers['X-Update-Signature'] = hex(hmac(key.value, bytes));
        bar.hidden = false;
        bar.max = bytes.length;
        bar.value = 0;
        note(out, 'Sending ' + id[1] + ' (' + num(bytes.length) + ' bytes)…');
        let r;
        try {
          r = await upload(bytes, headers, bar);
        } finally {
          bar.hidden = true;
        }
        if (r.status != 200) {
          const b = r.body;
          throw new Error((b.error || 'The device answered ' + r.status + ': ' + r.text) + (b.expected ? ' (sent ' + b.expected.slice(0, 12) + '…, stored ' + b.actual.slice(0, 12) + '…)' : ''));
        }
        note(out, 'The device checked ' + r.body.version + ' and restarts into it.', 'ok');
        await follow(r.body.version, out);
      }, fb, kb, bar)),
      ret);
    /** After the restart: wait for the device, then until the new app has confirmed itself or the device went back. */
    async function follow(version, out) {
      const was = cur ? cur.running.slot : -1;
      const s = await waitBack('Restarting into ' + version);
      if (!s) return say('The device has not answered for 90 s.', 'bad');
      if (!s.signedIn) return signIn('The device restarted into the update: sign in again to see how it went.');
      say('');
      for (let i = 0; i < 90; i++) {
        let u;
        try {
          u = await api('/api/update', 0, null, 3000);
        } catch (e) {
          await sleep(1500);
          continue;
        }
        if (!root.isConnected) return;
        draw(u);
        if (u.state == 'confirmed') {
          if (u.running.slot != was) note(out, u.running.version + ' runs and has confirmed itself.', 'ok');
          else note(out, 'The device went back to ' + u.running.version + (u.back ? ': ' + u.back.from + ' failed (' + u.back.why + ')' : '') + '.', 'bad');
          return;
        }
        note(out, u.running.version + ' runs on trial: it confirms itself in ' + u.confirmIn + ' s.');
        await sleep(1500);
      }
    }
    async function returnTo(u) {
      if (!(await ask('Return to ' + u.previous.version + '?', 'The device restarts into the app it ran before ' + u.running.version + '.', 'Return and restart'))) return;
      try {
        await api('/api/update/rollback', 'POST', {});
      } catch (e) {
        return say(e.message, 'bad');
      }
      const s = await waitBack('Returning to ' + u.previous.version);
      if (!s) return say('The device has not answered for 90 s.', 'bad');
      if (!s.signedIn) return show(s);
      say('The device runs ' + s.version + ' again.', 'ok');
      if (root.isConnected) load();
    }
  }

  start();
})();
