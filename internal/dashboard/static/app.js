// antifragile ops dashboard.
//
// Plain JavaScript, no build step, no dependencies, no requests to any other
// origin. Every API URL is relative to the page, so the ops API and this page
// can be mounted under any prefix. State arrives three ways:
//   - a full fetch of every route at start, on every (re)connection of the
//     event stream, and when the tab becomes visible again;
//   - the server-sent events of GET events (kinds hello, breaker, health,
//     recovery, chaos), applied as they come;
//   - polling: the bus (traffic) and metering every second, the cluster
//     view (in cluster mode, which the hello event announces) every 2 s, so that rates
//     come from consecutive samples from the first second on; as a
//     fallback for the event stream, health history every 2 s and the rest
//     every 5 s (?poll=N sets the slow period in seconds).
// Breaker cells are keyed by name and updated in place, batched per
// animation frame, so the page stays responsive with thousands of breakers.
(() => {
  'use strict';

  // ---------- configuration ----------
  const params = new URLSearchParams(location.search);
  const SLOW_MS = clampNum(Number(params.get('poll')) || 5, 1, 3600) * 1000;
  const FAST_MS = Math.min(2000, SLOW_MS);
  const RATE_MS = 1000; // traffic and metering samples
  const WINDOWS = [60000, 300000, 900000]; // timeline spans to choose from
  const HISTORY_MS = 15 * 60 * 1000; // the longest one: what is kept
  let windowChoice = 'auto'; // or one of WINDOWS
  const TOKEN_KEY = 'antifragile.ops.token';
  const DEGRADED_AT = 0.7;
  const CRITICAL_AT = 0.5;
  const STATES = ['closed', 'half_open', 'open', 'forced_open', 'disabled'];

  // The directory the page lives in: relative API paths resolve against it.
  const BASE = (() => {
    let p = location.pathname;
    if (p.endsWith('/index.html')) p = p.slice(0, -'index.html'.length);
    if (!p.endsWith('/')) p += '/';
    return new URL(p, location.origin);
  })();
  const url = (path) => new URL(path, BASE).toString();

  // ---------- small helpers ----------
  function $(sel, root) { return (root || document).querySelector(sel); }
  function clampNum(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  const SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, cls) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (cls) e.setAttribute('class', cls);
    return e;
  }
  function setText(node, text) {
    const s = String(text);
    if (node.textContent !== s) node.textContent = s;
  }
  function fmtCount(n) {
    n = Number(n) || 0;
    const a = Math.abs(n);
    if (a < 1000) return String(Math.round(n));
    if (a < 1e6) return (n / 1e3).toFixed(a < 1e4 ? 1 : 0) + 'k';
    if (a < 1e9) return (n / 1e6).toFixed(a < 1e7 ? 1 : 0) + 'M';
    return (n / 1e9).toFixed(1) + 'G';
  }
  function fmtInt(n) { return (Number(n) || 0).toLocaleString('en-US'); }
  function fmtScore(s) { return (typeof s === 'number' && isFinite(s)) ? s.toFixed(3) : '–'; }
  function fmtSecs(ms) {
    if (!isFinite(ms)) return '–';
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  }
  function fmtLatency(ns) {
    if (!isFinite(ns) || ns <= 0) return '–';
    const ms = ns / 1e6;
    if (ms < 1) return (ns / 1e3).toFixed(0) + 'µs';
    if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + 'ms';
    return (ms / 1000).toFixed(2) + 's';
  }
  function ago(t) {
    const ms = Date.now() - t;
    return ms < 1500 ? 'just now' : fmtSecs(ms) + ' ago';
  }
  function parseTime(s) {
    if (!s) return NaN;
    const t = Date.parse(s);
    return (isNaN(t) || t < 0) ? NaN : t; // Go's zero time is year 1
  }
  // parseDuration reads a Go duration string ("1m30s", "250ms") into ms.
  const DURATION_RE = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/;
  const UNIT_MS = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  function parseDuration(s) {
    if (typeof s === 'number') return s / 1e6; // nanoseconds
    if (typeof s !== 'string' || s === '') return NaN;
    if (s === '0') return 0;
    let rest = s, neg = false, total = 0;
    if (rest[0] === '-' || rest[0] === '+') { neg = rest[0] === '-'; rest = rest.slice(1); }
    if (rest === '') return NaN;
    while (rest !== '') {
      const m = DURATION_RE.exec(rest);
      if (!m) return NaN;
      total += parseFloat(m[1]) * UNIT_MS[m[3]];
      rest = rest.slice(m[0].length);
    }
    return neg ? -total : total;
  }
  function listOf(v, ...keys) {
    if (Array.isArray(v)) return v;
    if (v && typeof v === 'object') {
      for (const k of keys) if (Array.isArray(v[k])) return v[k];
    }
    return [];
  }

  // ---------- toasts ----------
  const toasts = $('#toasts');
  function toast(msg, kind) {
    const t = el('div', 'toast' + (kind ? ' ' + kind : ''), msg);
    toasts.appendChild(t);
    while (toasts.childElementCount > 4) toasts.firstElementChild.remove();
    setTimeout(() => t.remove(), kind === 'error' ? 7000 : 3500);
  }

  // ---------- HTTP ----------
  class APIError extends Error {
    constructor(status, env) {
      super((env && env.error) || ('HTTP ' + status));
      this.status = status;
      this.field = env && env.field;
      this.detail = env && env.detail;
    }
  }
  async function envelope(res) {
    try { return await res.json(); } catch (_) { return { error: res.status + ' ' + res.statusText }; }
  }
  async function getJSON(path) {
    const res = await fetch(url(path), { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) throw new APIError(res.status, await envelope(res));
    return res.json();
  }
  // available marks a panel as served (or not: 503 means the server runs
  // without that component) and passes errors on.
  function available(panel, promise) {
    return promise.then((v) => {
      $('#' + panel).classList.remove('unavailable');
      return v;
    }, (err) => {
      if (err && err.status === 503) $('#' + panel).classList.add('unavailable');
      throw err;
    });
  }

  // ---------- token ----------
  const tokenDialog = $('#token-dialog');
  const tokenInput = $('#token-input');
  const tokenMessage = $('#token-message');
  let tokenAsk = null; // the pending prompt, shared by concurrent writers

  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (_) { return ''; }
  }
  function setToken(v) {
    try {
      if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) { /* storage disabled: the token lives for this request only */ }
    renderTokenState();
  }
  function renderTokenState() {
    const set = getToken() !== '';
    const box = $('#token-state');
    box.dataset.token = set ? 'set' : 'unset';
    setText($('#token-text'), set ? 'Token set' : 'Read-only');
    $('#token-set').hidden = set;
    $('#token-forget').hidden = !set;
  }
  // askToken opens the token dialog and resolves to the entered token, or
  // to '' when the operator cancels.
  function askToken(message) {
    if (tokenAsk) return tokenAsk;
    tokenAsk = new Promise((resolve) => {
      setText(tokenMessage, message || '');
      tokenInput.value = '';
      const onClose = () => {
        tokenDialog.removeEventListener('close', onClose);
        const v = tokenDialog.returnValue === 'ok' ? tokenInput.value.trim() : '';
        tokenInput.value = '';
        tokenAsk = null;
        if (v) setToken(v);
        resolve(v);
      };
      tokenDialog.addEventListener('close', onClose);
      tokenDialog.returnValue = '';
      tokenDialog.showModal();
      tokenInput.focus();
    });
    return tokenAsk;
  }
  $('#token-form').addEventListener('submit', (ev) => {
    // An empty token is no answer: keep the dialog open.
    if (ev.submitter && ev.submitter.value === 'ok' && tokenInput.value.trim() === '') {
      ev.preventDefault();
      setText(tokenMessage, 'Enter the token, or cancel.');
      tokenInput.focus();
    }
  });
  $('#token-set').addEventListener('click', () => { askToken(''); });
  $('#token-forget').addEventListener('click', () => { setToken(''); toast('Token forgotten'); });

  // write sends a state-changing request with the bearer token, asking for
  // the token first when there is none. A 401 or 403 forgets the token and
  // asks again. It resolves to the response body (or null), or to undefined
  // when the operator cancelled; other failures throw an APIError.
  async function write(method, path, body) {
    let message = '';
    for (;;) {
      let token = getToken();
      if (!token) {
        token = await askToken(message);
        if (!token) return undefined;
      }
      const init = { method, headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' }, cache: 'no-store' };
      if (body !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      const res = await fetch(url(path), init);
      if (res.status === 401 || res.status === 403) {
        const env = await envelope(res);
        setToken('');
        message = (res.status === 401 ? 'Token required' : 'Token refused') + (env.error ? ': ' + env.error : '') + '.';
        continue;
      }
      if (!res.ok) throw new APIError(res.status, await envelope(res));
      if (res.status === 204) return null;
      try { return await res.json(); } catch (_) { return null; }
    }
  }
  async function act(label, method, path, body, after) {
    try {
      const r = await write(method, path, body);
      if (r === undefined) return false;
      toast(label, 'ok');
      if (after) after(r);
      return true;
    } catch (err) {
      toast(label + ' failed: ' + err.message + (err.detail ? ' (' + err.detail + ')' : ''), 'error');
      return false;
    }
  }

  // confirmAction asks the operator to confirm a destructive action in a
  // modal dialog; it resolves to true only for an explicit confirmation.
  // The answer is taken from the buttons themselves, not from the dialog's
  // close event, which comes a task later and could otherwise answer the
  // next question.
  const confirmDialog = $('#confirm-dialog');
  let confirmResolve = null;
  function confirmAction(title, text, okLabel) {
    if (confirmResolve) return Promise.resolve(false); // one question at a time
    return new Promise((resolve) => {
      confirmResolve = resolve;
      setText($('#confirm-title'), title);
      setText($('#confirm-text'), text);
      setText($('#confirm-ok'), okLabel || 'Confirm');
      confirmDialog.showModal();
      $('#confirm-cancel').focus();
    });
  }
  function answerConfirm(ok) {
    const resolve = confirmResolve;
    confirmResolve = null;
    if (confirmDialog.open) confirmDialog.close();
    if (resolve) resolve(ok);
  }
  $('#confirm-ok').addEventListener('click', () => answerConfirm(true));
  $('#confirm-cancel').addEventListener('click', () => answerConfirm(false));
  // Escape closes the dialog: a no. A late close event of an earlier
  // question finds the dialog open again and is ignored.
  confirmDialog.addEventListener('close', () => { if (!confirmDialog.open) answerConfirm(false); });

  // ---------- connection indicator ----------
  function setConn(stateName) {
    const c = $('#conn');
    if (c.dataset.conn === stateName) return;
    c.dataset.conn = stateName;
    setText($('#conn-text'), stateName === 'live' ? 'Live' : stateName === 'connecting' ? 'Reconnecting…' : 'Offline · polling');
  }

  // ---------- health ----------
  const history = new Map(); // timestamp ms -> {t, score, status}
  let lastHealthAt = 0; // newest snapshot timestamp (server clock, ms)
  let clockSkew = 0; // server time − client time, from the newest snapshot
  let healthLatest = null;

  function serverNow() { return Date.now() + clockSkew; }

  function addPoint(snap) {
    const t = parseTime(snap.timestamp);
    if (isNaN(t)) return false;
    const score = Number(snap.health_score);
    history.set(t, { t, score: isFinite(score) ? score : 0, status: snap.status || 'UNKNOWN' });
    if (t >= lastHealthAt) {
      lastHealthAt = t;
      clockSkew = t - Date.now();
      healthLatest = snap;
    }
    return true;
  }
  function applyHealth(snap) {
    if (!snap || typeof snap !== 'object') return;
    // A full report (not a history snapshot) lists every breaker at risk.
    if (Array.isArray(snap.circuit_details)) applyAnomalies(snap.anomalies || []);
    addPoint(snap);
    renderHealth();
    scheduleChart();
  }
  function renderHealth() {
    const h = healthLatest;
    const status = (h && h.status) || 'UNKNOWN';
    const pill = $('#status');
    if (pill.dataset.status !== status) pill.dataset.status = status;
    setText(pill, status);
    const big = $('#status-big');
    big.dataset.status = status;
    setText(big, status);
    setText($('#score'), h ? fmtScore(h.health_score) : '–');
    setText($('#score-big'), h ? fmtScore(h.health_score) : '–');
    setText($('#count-closed'), h ? fmtInt(h.closed_breakers) : '0');
    setText($('#count-half-open'), h ? fmtInt(h.half_open_breakers) : '0');
    // The report counts forced-open breakers as open; the panel splits
    // them out as the state chips do, so the two always add up alike.
    const forced = h ? forcedOpenOf(h) : 0;
    setText($('#count-open'), h ? fmtInt(Math.max(0, (h.open_breakers || 0) - forced)) : '0');
    setText($('#count-forced-open'), fmtInt(forced));
    setText($('#count-disabled'), h ? fmtInt(h.disabled_breakers) : '0');
    document.title = (status === 'HEALTHY' || status === 'UNKNOWN' ? '' : '● ' + status + ' · ') + 'antifragile · ops';
    updateHealthAge();
  }
  // forcedOpenOf counts the forced-open breakers among a report's open ones:
  // from its circuits when it has them (a full report), else from the
  // breaker cells (a history snapshot has only the totals).
  function forcedOpenOf(h) {
    if (Array.isArray(h.circuit_details)) return h.circuit_details.filter((c) => c.state === 'forced_open').length;
    let n = 0;
    for (const row of rows.values()) if (row.state === 'forced_open') n++;
    return Math.min(n, h.open_breakers || 0);
  }
  function updateHealthAge() {
    setText($('#health-updated'), lastHealthAt ? 'updated ' + ago(lastHealthAt - clockSkew) : 'no data yet');
  }

  let chartQueued = false;
  function scheduleChart() {
    if (chartQueued) return;
    chartQueued = true;
    requestAnimationFrame(() => { chartQueued = false; drawTimeline(); });
  }
  function drawTimeline() {
    const box = $('#timeline');
    const W = Math.max(200, box.clientWidth || 600), H = Math.max(80, box.clientHeight || 150);
    const padL = 30, padR = 8, padT = 8, padB = 18;
    const iw = W - padL - padR, ih = H - padT - padB;
    const end = Math.max(serverNow(), lastHealthAt);
    for (const t of history.keys()) if (t < end - HISTORY_MS - 10000) history.delete(t);
    const span = windowMs(end), start = end - span;
    updateWindowTitle(span);
    const pts = [...history.values()].filter((p) => p.t >= start).sort((a, b) => a.t - b.t);
    const x = (t) => padL + ((t - start) / span) * iw;
    const y = (s) => padT + (1 - clampNum(s, 0, 1)) * ih;
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    for (const v of [0, 0.25, 1]) {
      root.appendChild(svg('line', { x1: padL, x2: W - padR, y1: y(v), y2: y(v) }, 'ch-grid'));
    }
    for (const v of [0, 0.5, 0.7, 1]) {
      const label = svg('text', { x: padL - 5, y: y(v) + 3.5, 'text-anchor': 'end' }, 'ch-axis');
      label.textContent = v === 0 || v === 1 ? String(v) : v.toFixed(1);
      root.appendChild(label);
    }
    drawFaults(root, start, end, x, padT, ih);
    const step = span <= 60000 ? 10000 : span <= 300000 ? 60000 : 180000;
    for (let k = Math.round(span / step); k >= 0; k--) {
      const t = end - k * step;
      const lx = x(t);
      root.appendChild(svg('line', { x1: lx, x2: lx, y1: padT, y2: padT + ih }, 'ch-grid'));
      const label = svg('text', { x: lx, y: H - 4, 'text-anchor': k === 0 ? 'end' : k === Math.round(span / step) ? 'start' : 'middle' }, 'ch-axis');
      label.textContent = k === 0 ? 'now' : '−' + fmtAgo(k * step);
      root.appendChild(label);
    }
    const thresholds = [[DEGRADED_AT, 'degraded'], [CRITICAL_AT, 'critical']];
    for (const [v, name] of thresholds) {
      root.appendChild(svg('line', { x1: padL, x2: W - padR, y1: y(v), y2: y(v) }, 'ch-th ch-th-' + name));
    }
    if (pts.length === 0) {
      const t = svg('text', { x: padL + iw / 2, y: padT + ih / 2, 'text-anchor': 'middle' }, 'ch-empty');
      t.textContent = 'waiting for health data…';
      root.appendChild(t);
    } else {
      // Area under the whole line, then one polyline per run of equal
      // status so the line takes the colour of the status it shows.
      let area = `M${x(pts[0].t).toFixed(1)},${y(0).toFixed(1)}`;
      for (const p of pts) area += `L${x(p.t).toFixed(1)},${y(p.score).toFixed(1)}`;
      area += `L${x(pts[pts.length - 1].t).toFixed(1)},${y(0).toFixed(1)}Z`;
      root.appendChild(svg('path', { d: area }, 'ch-area'));
      let run = [pts[0]];
      const flush = (status) => {
        if (run.length > 1) {
          root.appendChild(svg('polyline', { points: run.map((p) => `${x(p.t).toFixed(1)},${y(p.score).toFixed(1)}`).join(' ') }, 'ch-line s-' + status));
        }
      };
      for (let i = 1; i < pts.length; i++) {
        const p = pts[i];
        run.push(p);
        if (p.status !== run[0].status) {
          flush(run[0].status);
          run = [p];
        }
      }
      flush(run[0].status);
      const last = pts[pts.length - 1];
      root.appendChild(svg('circle', { cx: x(last.t), cy: y(last.score), r: 4 }, 'ch-dot s-' + last.status));
    }
    box.replaceChildren(root);
  }

  // windowMs is the timeline's span: the operator's choice, or in auto mode
  // the shortest of 1, 5 and 15 minutes that holds what is running — the
  // faults of the last 15 minutes with a little lead-in when there are any,
  // else the health history seen so far — so that a 40-second game day
  // fills the chart instead of being a sliver of it.
  function windowMs(end) {
    if (windowChoice !== 'auto') return windowChoice;
    let first = end;
    const faults = faultWindows().filter((f) => (f.end === null ? end : f.end) >= end - HISTORY_MS);
    if (faults.length) {
      for (const f of faults) first = Math.min(first, f.start - 5000);
    } else {
      for (const t of history.keys()) first = Math.min(first, t);
    }
    const seen = end - first;
    return WINDOWS.find((w) => w >= seen * 1.05) || WINDOWS[WINDOWS.length - 1];
  }
  function fmtAgo(ms) {
    return ms < 60000 ? Math.round(ms / 1000) + 's' : (ms % 60000 ? (ms / 60000).toFixed(1) : ms / 60000) + 'm';
  }
  function updateWindowTitle(span) {
    const words = { 60000: 'last minute', 300000: 'last 5 minutes', 900000: 'last 15 minutes' };
    setText($('#timeline-title'), 'Health score · ' + (words[span] || 'last ' + fmtAgo(span)) + (windowChoice === 'auto' ? ' (auto)' : ''));
  }
  $('#window-select').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-window]');
    if (!b) return;
    windowChoice = b.dataset.window === 'auto' ? 'auto' : Number(b.dataset.window);
    for (const o of ev.currentTarget.querySelectorAll('[data-window]')) o.setAttribute('aria-pressed', String(o === b));
    scheduleChart();
  });
  // drawFaults shades the window of every fault the chart spans: active
  // scenarios from their start to now, ended ones to their end.
  function drawFaults(root, start, end, x, top, height) {
    const lanes = [];
    for (const f of faultWindows()) {
      const a = Math.max(f.start, start), b = Math.min(f.end === null ? end : f.end, end);
      if (b <= a) continue;
      const g = svg('g', {}, null);
      const rect = svg('rect', { x: x(a).toFixed(1), y: top, width: Math.max(1.5, x(b) - x(a)).toFixed(1), height }, 'ch-fault' + (f.end === null ? '' : ' ended'));
      rect.dataset.fault = f.name;
      const tip = svg('title', {});
      tip.textContent = f.name + ' · ' + f.what + (f.why ? ' · ended: ' + f.why : ' · active');
      rect.appendChild(tip);
      g.appendChild(rect);
      // Labels stack in lanes so that overlapping faults stay readable.
      let lane = lanes.findIndex((r) => r <= x(a));
      if (lane < 0) { lane = lanes.length; lanes.push(0); }
      lanes[lane] = x(a) + 6 * f.name.length + 10;
      if (lane < 4) {
        // A label that would run past the chart's right edge ends there.
        const right = x(a) + 5.5 * f.name.length > x(end) - 4;
        const label = svg('text', { x: (right ? x(end) - 3 : x(a) + 3).toFixed(1), y: top + 10 + lane * 11, 'text-anchor': right ? 'end' : 'start' }, 'ch-fault-label');
        label.textContent = f.name;
        g.appendChild(label);
      }
      root.appendChild(g);
    }
  }

  async function fetchHealth() {
    applyHealth(await available('health-panel', getJSON('health')));
  }
  async function fetchHistory(full) {
    let win = '15m';
    if (!full && lastHealthAt) {
      const secs = Math.ceil((serverNow() - lastHealthAt) / 1000) + 5;
      win = clampNum(secs, 10, 900) + 's';
    }
    const r = await getJSON('health/history?window=' + encodeURIComponent(win));
    const snaps = listOf(r, 'snapshots', 'history', 'items');
    let any = false;
    for (const s of snaps) any = addPoint(s) || any;
    if (any) { renderHealth(); scheduleChart(); }
  }

  let healthRefetch = 0;
  function refetchHealthSoon() {
    // The aggregator collects right after a breaker changes state; the
    // status event comes only when the status changes, so fetch the new
    // score shortly after any change.
    if (healthRefetch) return;
    healthRefetch = setTimeout(() => { healthRefetch = 0; fetchHistory(false).catch(() => {}); }, 300);
  }

  // ---------- breakers ----------
  const grid = $('#breaker-grid');
  const tpl = $('#breaker-tpl');
  const rows = new Map(); // name -> row
  const pending = new Map(); // name -> partial data, or null to remove
  let needOrder = false;
  let flushQueued = false;
  let filterText = '';
  let filterState = '';
  let sortMode = 'problems';
  // Problems first: the states that reject calls, then half-open, then
  // the rest; by name within a state.
  const RANK = { forced_open: 0, open: 1, half_open: 2, disabled: 3, closed: 4 };
  const datalist = $('#breaker-names');
  let datalistDirty = false;

  function makeRow(name) {
    const node = tpl.content.firstElementChild.cloneNode(true);
    node.dataset.breaker = name;
    const row = {
      name, el: node, state: '', lname: name.toLowerCase(),
      nameEl: $('.cell-name', node), stateEl: $('.cell-state', node),
      f: {}, btn: {}, vals: {}, hidden: false,
    };
    for (const b of node.querySelectorAll('[data-f]')) row.f[b.dataset.f] = b;
    for (const b of node.querySelectorAll('[data-action]')) {
      row.btn[b.dataset.action] = b;
      b.setAttribute('aria-label', b.textContent + ' ' + name);
    }
    row.nameEl.textContent = name;
    row.nameEl.title = name;
    return row;
  }
  // The at-risk signals of anomaly detection, by breaker then metric: a
  // full health report replaces them, an anomaly event changes one.
  const risks = new Map();
  function riskValue(metric, v) {
    v = Number(v) || 0;
    return metric === 'latency' ? (v < 1 ? (1000 * v).toFixed(1) + ' ms' : v.toFixed(2) + ' s') : (100 * v).toFixed(1) + '%';
  }
  function riskText(a) {
    const t = parseTime(a.since);
    return `${a.metric.replace('_', ' ')} ${riskValue(a.metric, a.current)} — baseline ${riskValue(a.metric, a.baseline)}, ` +
      `threshold ${riskValue(a.metric, a.threshold)}` + (isNaN(t) ? '' : ', since ' + new Date(t).toLocaleTimeString());
  }
  function setRisk(a, on) {
    let m = risks.get(a.breaker);
    if (on) {
      if (!m) risks.set(a.breaker, (m = new Map()));
      m.set(a.metric, a);
    } else if (m) {
      m.delete(a.metric);
      if (!m.size) risks.delete(a.breaker);
    }
  }
  function showRisk(row) {
    if (!row || !row.f.risk) return;
    const m = risks.get(row.name);
    const on = m ? '1' : '';
    if (row.el.dataset.risk === on) { if (m) row.f.risk.title = [...m.values()].map(riskText).join('\n'); return; }
    row.el.dataset.risk = on;
    row.f.risk.hidden = !m;
    row.f.risk.title = m ? [...m.values()].map(riskText).join('\n') : '';
  }
  function applyAnomalies(list) {
    const before = [...risks.keys()];
    risks.clear();
    for (const a of list) if (a && a.breaker) setRisk(a, true);
    for (const name of new Set([...before, ...risks.keys()])) showRisk(rows.get(name));
  }
  function onAnomalyEvent(ev) {
    if (!ev || !ev.anomaly || !ev.anomaly.breaker) return;
    setRisk(ev.anomaly, ev.kind === 'at_risk');
    showRisk(rows.get(ev.anomaly.breaker));
  }
  function queueBreaker(name, data) {
    if (data === null) {
      pending.set(name, null);
    } else {
      const prev = pending.get(name);
      pending.set(name, prev ? Object.assign(prev, data) : Object.assign({}, data));
    }
    scheduleFlush();
  }
  function scheduleFlush() {
    if (flushQueued) return;
    flushQueued = true;
    requestAnimationFrame(flushBreakers);
  }
  function matches(row) {
    return (!filterState || row.state === filterState) && (!filterText || row.lname.includes(filterText));
  }
  // nowText says what a breaker's rules see in its current state, from a
  // /breakers snapshot: the run of failures and the rate window while
  // closed, when an open breaker moves to half-open, the trials of a
  // half-open one.
  function nowText(d) {
    const pct = (r) => Math.round(100 * (r || 0)) + '%';
    switch (d.state) {
      case 'closed': {
        let s = (d.consecutive_failures || 0) + ' failing in a row';
        const w = d.window;
        if (w && w.calls > 0) {
          s += ' · window ' + fmtInt(w.calls) + ': ' + pct(w.failure_rate) + ' failed';
          if (w.slow_calls > 0) s += ', ' + pct(w.slow_call_rate) + ' slow';
        }
        return s;
      }
      case 'open': {
        const t = parseTime(d.half_open_at);
        return isNaN(t) ? '' : 'half-open at ' + new Date(t).toLocaleTimeString() + ' (open ' + (d.open_timeout || '?') + ')';
      }
      case 'half_open':
        return (d.trial_calls || 0) + ' trial' + (d.trial_calls === 1 ? '' : 's') + ' out, ' + (d.trial_successes || 0) + ' ok';
    }
    return '';
  }
  // lifeText sums up a breaker's lifetime counters, which its resets (by an
  // operator or a recovery) do not clear.
  function lifeText(l) {
    const r = Number(l.resets) || 0, trips = Number(l.trips) || 0;
    return 'lifetime ' + fmtCount(l.calls) + ' calls · ' + fmtCount(l.failures) + ' fail · ' + fmtCount(trips) +
      (trips === 1 ? ' trip' : ' trips') + (r ? ' · ' + fmtCount(r) + (r === 1 ? ' reset' : ' resets') : '');
  }
  function applyRow(row, d) {
    if (d.state && d.state !== row.state) {
      const wasKnown = row.state !== '';
      row.state = d.state;
      row.el.dataset.state = d.state;
      setText(row.stateEl, d.state.replace('_', ' '));
      row.btn['force-open'].disabled = d.state === 'forced_open';
      row.btn.release.disabled = d.state !== 'forced_open';
      if (sortMode === 'problems') needOrder = true;
      if (wasKnown) flashes.push(row);
    }
    for (const k of ['calls', 'failures', 'rejections', 'trips']) {
      if (d[k] !== undefined && row.vals[k] !== d[k]) {
        row.vals[k] = d[k];
        setText(row.f[k], fmtCount(d[k]));
      }
    }
    if (d.lifetime) {
      const life = lifeText(d.lifetime);
      if (life !== row.vals.life) {
        row.vals.life = life;
        setText(row.f.life, life);
        const l = d.lifetime;
        row.f.life.title = `Since the breaker was created, across resets: ${fmtInt(l.calls)} calls, ${fmtInt(l.successes)} ok, ` +
          `${fmtInt(l.failures)} failed, ${fmtInt(l.rejections)} rejected, ${fmtInt(l.trips)} trips, ${fmtInt(l.resets)} resets`;
      }
    }
    // A snapshot carries what the rules see; an event only the new state,
    // so the line is cleared until the next snapshot.
    const now = d.calls !== undefined ? nowText(d) : (d.state ? '' : row.vals.now);
    if (now !== row.vals.now) {
      row.vals.now = now;
      setText(row.f.now, now);
    }
    if (Array.isArray(d.rules)) row.rules = d.rules.length ? d.rules.join(' or ') : 'no trip rule';
    if (d.last_transition) {
      const t = parseTime(d.last_transition);
      if (!isNaN(t) && t !== row.since) row.since = t;
    }
    if (d.last_transition || d.rules) {
      let title = row.name + ' · ' + row.state.replace('_', ' ');
      if (row.since) title += ' since ' + new Date(row.since).toLocaleTimeString();
      if (row.rules) title += ' · trips on ' + row.rules;
      row.el.title = title;
    }
    const hide = !matches(row);
    if (hide !== row.hidden) { row.hidden = hide; row.el.hidden = hide; }
  }
  // A cell that changes state pulses once, through the Web Animations API
  // (no forced layout, allowed by the CSP). A burst of changes, such as a
  // reset of every breaker, does not animate.
  const FLASH = { closed: '34,197,94', half_open: '245,158,11', open: '239,68,68', forced_open: '179,92,245', disabled: '100,116,139' };
  const calm = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  let flashes = [];
  function runFlashes() {
    if (!calm && flashes.length <= 50 && Element.prototype.animate) {
      for (const row of flashes) {
        const c = FLASH[row.state] || '148,163,184';
        row.el.animate([{ boxShadow: `0 0 0 3px rgba(${c},0.9)` }, { boxShadow: `0 0 0 0 rgba(${c},0)` }], { duration: 1200, easing: 'ease-out' });
      }
    }
    flashes = [];
  }
  let flushMax = 0;
  function flushBreakers() {
    flushQueued = false;
    const t0 = performance.now();
    for (const [name, d] of pending) {
      let row = rows.get(name);
      if (d === null) {
        if (row) { row.el.remove(); rows.delete(name); datalistDirty = true; }
        continue;
      }
      if (!row) {
        row = makeRow(name);
        rows.set(name, row);
        needOrder = true;
        datalistDirty = true;
        showRisk(row);
      }
      applyRow(row, d);
    }
    pending.clear();
    if (needOrder) {
      needOrder = false;
      // Append every cell in order; existing nodes move, none is rebuilt.
      const list = [...rows.values()];
      if (sortMode === 'problems') {
        list.sort((a, b) => ((RANK[a.state] ?? 5) - (RANK[b.state] ?? 5)) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      } else {
        list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      }
      const frag = document.createDocumentFragment();
      for (const row of list) frag.appendChild(row.el);
      grid.appendChild(frag);
    }
    runFlashes();
    if (datalistDirty) {
      datalistDirty = false;
      const frag = document.createDocumentFragment();
      const names = [...rows.keys()].sort();
      for (const n of names.slice(0, 2000)) { const o = document.createElement('option'); o.value = n; frag.appendChild(o); }
      datalist.replaceChildren(frag);
    }
    renderBreakerSummary();
    if (healthLatest && !Array.isArray(healthLatest.circuit_details)) renderHealth();
    // What applying a batch costs, for tests and the curious (data-flush-ms).
    const ms = performance.now() - t0;
    flushMax = Math.max(flushMax, ms);
    grid.dataset.flushMs = ms.toFixed(1);
    grid.dataset.flushMaxMs = flushMax.toFixed(1);
  }
  function renderBreakerSummary() {
    const counts = { closed: 0, half_open: 0, open: 0, forced_open: 0, disabled: 0 };
    let shown = 0;
    for (const row of rows.values()) {
      if (row.state in counts) counts[row.state]++;
      if (!row.hidden) shown++;
    }
    setText($('#breaker-total'), fmtInt(rows.size));
    setText($('#chip-all'), fmtInt(rows.size));
    for (const s of STATES) setText($('#chip-' + s), fmtInt(counts[s]));
    $('#breaker-empty').hidden = rows.size !== 0;
    setText($('#breaker-shown'), rows.size && shown !== rows.size ? `showing ${fmtInt(shown)} of ${fmtInt(rows.size)}` : '');
  }
  function applyFilter() {
    for (const row of rows.values()) {
      const hide = !matches(row);
      if (hide !== row.hidden) { row.hidden = hide; row.el.hidden = hide; }
    }
    renderBreakerSummary();
  }
  function applyBreakers(list) {
    const seen = new Set();
    for (const b of list) {
      if (!b || typeof b.name !== 'string') continue;
      seen.add(b.name);
      queueBreaker(b.name, b);
    }
    for (const name of rows.keys()) if (!seen.has(name)) queueBreaker(name, null);
  }
  async function fetchBreakers() {
    applyBreakers(listOf(await getJSON('breakers'), 'breakers'));
  }
  let breakerRefetch = 0;
  function refetchBreakersSoon() {
    // Counters change with every call; an event asks for fresh ones, at most
    // once a second however many events arrive.
    if (breakerRefetch) return;
    breakerRefetch = setTimeout(() => {
      breakerRefetch = 0;
      fetchBreakers().catch(() => {});
    }, 1000);
  }
  function onBreakerEvent(ev) {
    if (!ev || typeof ev.breaker !== 'string') return;
    if (ev.reason === 'removed') {
      queueBreaker(ev.breaker, null);
      return;
    }
    queueBreaker(ev.breaker, { state: ev.to, last_transition: ev.at });
    refetchBreakersSoon();
    refetchHealthSoon();
  }

  let filterQueued = false;
  $('#breaker-filter').addEventListener('input', (ev) => {
    filterText = ev.target.value.trim().toLowerCase();
    if (filterQueued) return;
    filterQueued = true;
    requestAnimationFrame(() => { filterQueued = false; applyFilter(); });
  });
  $('#breaker-sort').addEventListener('change', (ev) => {
    sortMode = ev.target.value;
    needOrder = true;
    scheduleFlush();
  });
  $('#state-chips').addEventListener('click', (ev) => {
    const chip = ev.target.closest('[data-filter-state]');
    if (!chip) return;
    filterState = chip.dataset.filterState;
    for (const c of ev.currentTarget.querySelectorAll('[data-filter-state]')) {
      c.setAttribute('aria-pressed', String(c === chip));
    }
    applyFilter();
  });
  // What the operator confirms before a breaker action that cuts traffic
  // or clears what the breaker has counted; release needs no confirmation.
  const CONFIRM_BREAKER = {
    reset: ['Reset breaker', 'Close %s and clear its counters? Its lifetime counts are kept.', 'Reset'],
    'force-open': ['Force breaker open', 'Hold %s open? Every call to it is rejected until it is released.', 'Force open'],
  };
  grid.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b || b.disabled) return;
    const cell = b.closest('[data-breaker]');
    if (!cell) return;
    const name = cell.dataset.breaker;
    const action = b.dataset.action;
    const label = { reset: 'Reset', 'force-open': 'Forced open', release: 'Released' }[action] + ' ' + name;
    const ask = CONFIRM_BREAKER[action];
    if (ask && !(await confirmAction(ask[0], ask[1].replace('%s', name), ask[2]))) return;
    b.disabled = true;
    act(label, 'POST', 'breakers/' + encodeURIComponent(name) + '/' + action, undefined, () => refetchBreakersSoon())
      .finally(() => {
        const row = rows.get(name);
        if (row) {
          b.disabled = (action === 'force-open' && row.state === 'forced_open') || (action === 'release' && row.state !== 'forced_open');
        }
      });
  });

  // ---------- tuning ledger ----------
  async function fetchLedger() {
    const [ledger, trial] = await Promise.all([getJSON('tune/ledger'), getJSON('tune/trial').catch(() => null)]);
    renderLedger(ledger);
    renderTrial(trial);
  }
  // renderTrial shows a tuning trial in progress (antifragile tune -remote):
  // candidate settings are in force on its services until it ends.
  function renderTrial(tr) {
    const banner = $('#trial-banner');
    banner.hidden = !(tr && tr.active);
    if (banner.hidden) return;
    const exp = parseTime(tr.expires);
    const fields = [tr.breaker, tr.recovery].filter((f) => f && Object.keys(f).length).map((f) => JSON.stringify(f)).join(' ');
    banner.textContent = `Tuning trial in progress on ${listOf(tr.services).join(', ')}` + (tr.by ? ` by ${tr.by}` : '') +
      ` — run ${tr.runs || 0}, candidate ${fields || 'none (their own settings)'}` +
      (isNaN(exp) ? '' : `; restored at the latest ${new Date(exp).toLocaleTimeString()}`);
  }
  // metricsText sums up a tuning run's metrics (tune.Metrics: durations in
  // nanoseconds).
  function metricsText(m) {
    if (!m || typeof m !== 'object') return '';
    const s = (ns) => (Number(ns) / 1e9).toFixed(1) + ' s';
    return `below minimum ${s(m.time_below_min)}, ${m.failed || 0} failed, recover ${s(m.time_to_recover)}`;
  }
  function renderLedger(l) {
    const entries = listOf(l && l.entries).slice().reverse(); // the latest first
    setText($('#ledger-count'), entries.length);
    $('#ledger-empty').hidden = entries.length !== 0;
    const frag = document.createDocumentFragment();
    for (const e of entries.slice(0, 50)) {
      const li = el('li', 'item');
      li.dataset.ledger = String(e.seq);
      const head = el('div', 'item-head');
      head.appendChild(el('span', 'item-name', '#' + e.seq));
      const t = parseTime(e.at);
      head.appendChild(el('span', 'muted small', isNaN(t) ? '' : new Date(t).toLocaleString()));
      li.appendChild(head);
      li.appendChild(el('div', 'item-meta', e.why || ''));
      li.appendChild(el('div', 'item-meta muted', `${listOf(e.applied).length} settings on ${listOf(e.services).join(', ')}`));
      const ba = el('div', 'item-meta muted', `before: ${metricsText(e.before)} → after: ${metricsText(e.after)}`);
      li.appendChild(ba);
      frag.appendChild(li);
    }
    $('#ledger-list').replaceChildren(frag);
  }

  // ---------- recovery ----------
  const recoveryList = $('#recovery-list');
  async function fetchRecovery() {
    renderRecovery(await available('recovery-panel', getJSON('recovery')));
  }
  function renderRecovery(st) {
    const tasks = listOf(st && st.services).slice().sort((a, b) => (b.priority - a.priority) || (a.service < b.service ? -1 : 1));
    setText($('#recovery-count'), tasks.length);
    $('#recovery-empty').hidden = tasks.length !== 0;
    const hist = st && st.history;
    const pred = st && st.predictions && st.predictions.total;
    const stats = st ? `${st.queued_count || 0} queued · ${st.in_progress_count || 0} running` + (st.running === false ? ' · orchestrator stopped' : '') +
      (hist && hist.outages ? ` · ${hist.outages} past outages` : '') +
      (pred && (pred.true_positives || pred.false_positives || pred.pending)
        ? ` · predictions ${pred.true_positives}✓ ${pred.false_positives}✗ ${pred.misses} missed` : '') : '';
    setText($('#recovery-stats'), stats);
    const frag = document.createDocumentFragment();
    for (const t of tasks) {
      const li = el('li', 'item');
      li.dataset.recovery = t.service;
      li.dataset.state = t.state;
      const head = el('div', 'item-head');
      head.appendChild(el('span', 'item-name', t.service));
      head.appendChild(el('span', 'tag tag-' + t.state, String(t.state).replace('_', ' ')));
      li.appendChild(head);
      const meta = el('div', 'item-meta');
      const attempts = el('span', null, 'attempt ');
      attempts.appendChild(el('b', null, `${t.attempt_count || 0}/${t.max_attempts || '∞'}`));
      meta.appendChild(attempts);
      meta.appendChild(el('span', null, String(t.strategy || '').replace(/_/g, ' ')));
      if (t.priority) meta.appendChild(el('span', null, 'priority ' + t.priority));
      const next = parseTime(t.next_attempt_at);
      if (!isNaN(next)) {
        const n = el('span', 'countdown', '');
        n.dataset.deadline = String(next - clockSkew);
        n.dataset.prefix = 'next in ';
        meta.appendChild(n);
      }
      li.appendChild(meta);
      // a learned task says why it waits as it does (recovery.Learning.reason)
      if (t.learning && t.learning.reason) li.appendChild(el('div', 'item-learning', t.learning.reason));
      if (t.last_error) li.appendChild(el('div', 'item-error', t.last_error));
      const actions = el('div', 'item-actions');
      const manual = t.state === 'awaiting_manual';
      for (const [a, label, title] of [
        ['resume', 'Resume', 'Retry the recovery now'],
        ['resolve', 'Resolve', 'Mark as fixed by hand'],
        ['cancel', 'Cancel', 'Stop tracking this recovery'],
      ]) {
        const b = el('button', 'btn btn-xs', label);
        b.type = 'button';
        b.dataset.action = a;
        b.title = title;
        if ((a === 'resume' || a === 'resolve') && !manual) {
          b.disabled = true;
          b.title = title + ' (only while awaiting an operator)';
        }
        actions.appendChild(b);
      }
      li.appendChild(actions);
      frag.appendChild(li);
    }
    recoveryList.replaceChildren(frag);
    const results = listOf(st && st.recent_results).slice(-6).reverse();
    const rf = document.createDocumentFragment();
    if (results.length === 0) rf.appendChild(el('li', 'empty-row', 'none yet'));
    for (const r of results) {
      const li = el('li');
      li.appendChild(el('span', r.success ? 'ok' : 'fail', r.success ? '✓' : '✗'));
      li.appendChild(el('span', 'r-name', r.service));
      li.appendChild(el('span', null, `#${r.attempt_number}/${r.total_attempts}`));
      li.appendChild(el('span', null, fmtLatency(parseDuration(r.elapsed) * 1e6)));
      const ts = parseTime(r.timestamp);
      if (!isNaN(ts)) li.appendChild(el('span', null, new Date(ts).toLocaleTimeString()));
      if (r.error) li.title = r.error;
      rf.appendChild(li);
    }
    $('#recovery-results').replaceChildren(rf);
    tickCountdowns();
  }
  recoveryList.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b || b.disabled) return;
    const name = b.closest('[data-recovery]').dataset.recovery;
    if (b.dataset.action === 'cancel' && !(await confirmAction('Cancel recovery', 'Stop tracking the recovery of ' + name + '? No further attempt is made.', 'Cancel recovery'))) return;
    const p = 'recovery/' + encodeURIComponent(name);
    const done = () => fetchRecovery().catch(() => {});
    b.disabled = true;
    switch (b.dataset.action) {
      case 'resume': act('Resumed recovery of ' + name, 'POST', p + '/resume', undefined, done); break;
      case 'resolve': act('Resolved ' + name, 'POST', p + '/resolve', undefined, done); break;
      case 'cancel': act('Cancelled recovery of ' + name, 'DELETE', p, undefined, done); break;
    }
  });
  let recoveryRefetch = 0;
  function refetchRecoverySoon() {
    if (recoveryRefetch) return;
    recoveryRefetch = setTimeout(() => { recoveryRefetch = 0; fetchRecovery().catch(() => {}); }, 250);
  }

  // ---------- chaos ----------
  const scenarioList = $('#scenario-list');
  let chaosStopped = false;
  async function fetchScenarios() {
    const r = await available('chaos-panel', getJSON('chaos/scenarios'));
    if (r && typeof r.emergency_stop === 'boolean' && r.emergency_stop !== chaosStopped) {
      setStopped(r.emergency_stop, '');
    }
    renderScenarios(listOf(r, 'scenarios'));
    renderEnded(listOf(r && r.recent));
    scheduleChart();
  }
  async function fetchChaosMetrics() {
    renderChaosMetrics(await getJSON('chaos/metrics'));
  }
  function describe(s) {
    switch (s.type) {
      case 'latency': return '+' + (s.delay || '0s') + ' delay';
      case 'error': return Math.round((s.error_rate || 0) * 100) + '% errors';
      case 'resource_exhaustion': return (s.resource_type || 'resource') + ' at ' + Math.round((s.resource_level || 0) * 100) + '%';
      case 'circuit_breaker': return 'breaker forced open';
      case 'network_partition': return 'partitioned';
      case 'timeout': return 'calls hang';
    }
    return s.type;
  }
  let activeScenarios = [];
  let endedScenarios = [];
  // faultWindows lists when each known fault ran, on the server's clock:
  // the active scenarios (end null: still running) and the recently ended.
  function faultWindows() {
    const out = [];
    for (const s of activeScenarios) {
      const t = parseTime(s.created_at);
      if (!isNaN(t)) out.push({ name: s.name, what: describe(s), start: t, end: null });
    }
    for (const e of endedScenarios) {
      const sc = e.scenario || {};
      const t = parseTime(sc.created_at), u = parseTime(e.ended_at);
      if (!isNaN(t) && !isNaN(u)) out.push({ name: sc.name, what: describe(sc), start: t, end: Math.max(t, u), why: whyEnded(e) });
    }
    return out;
  }
  const WHY = {
    expired: 'expired', deactivated: 'stopped', replaced: 'replaced', emergency_stop: 'emergency stop',
    stop_condition: 'stop condition', closed: 'engine closed', unwatched: 'stop conditions unwatched',
  };
  function whyEnded(e) {
    const w = WHY[e.reason] || String(e.reason || 'ended').replace(/_/g, ' ');
    return e.detail && e.reason === 'stop_condition' ? e.detail : w;
  }
  function renderEnded(list) {
    endedScenarios = list.filter((e) => e && e.scenario && e.scenario.name);
    const frag = document.createDocumentFragment();
    if (endedScenarios.length === 0) frag.appendChild(el('li', 'empty-row', 'none yet'));
    for (const e of endedScenarios.slice(0, 8)) {
      const sc = e.scenario;
      const li = el('li');
      li.dataset.ended = sc.name;
      li.dataset.reason = e.reason;
      li.appendChild(el('span', 'tag tag-' + sc.type, String(sc.type).replace(/_/g, ' ')));
      const nm = el('span', 'r-name', sc.name);
      li.appendChild(nm);
      li.appendChild(el('span', 'why why-' + e.reason, whyEnded(e)));
      const t = parseTime(e.ended_at), c = parseTime(sc.created_at);
      if (!isNaN(t)) li.appendChild(el('span', null, new Date(t - clockSkew).toLocaleTimeString()));
      li.title = sc.name + ' · ' + describe(sc) + ' on ' + sc.target + (isNaN(t) || isNaN(c) ? '' : ' · ran ' + fmtSecs(t - c)) +
        ' · ended: ' + whyEnded(e) + (e.detail && e.reason !== 'stop_condition' ? ' (' + e.detail + ')' : '');
      frag.appendChild(li);
    }
    $('#ended-list').replaceChildren(frag);
  }
  function renderScenarios(list) {
    const items = list.filter((s) => s && s.name).sort((a, b) => (a.name < b.name ? -1 : 1));
    activeScenarios = items;
    setText($('#chaos-count'), items.length);
    $('#scenario-empty').hidden = items.length !== 0;
    const frag = document.createDocumentFragment();
    for (const s of items) {
      const li = el('li', 'item');
      li.dataset.scenario = s.name;
      li.dataset.type = s.type;
      const head = el('div', 'item-head');
      head.appendChild(el('span', 'tag tag-' + s.type, String(s.type).replace(/_/g, ' ')));
      const nm = el('span', 'item-name', s.name);
      nm.title = s.name;
      head.appendChild(nm);
      const start = parseTime(s.created_at);
      const dur = parseDuration(s.duration);
      const left = el('span', 'time-left countdown', '');
      if (!isNaN(start) && isFinite(dur)) {
        left.dataset.deadline = String(start + dur - clockSkew);
        left.dataset.total = String(dur);
        left.dataset.suffix = ' left';
      }
      head.appendChild(left);
      li.appendChild(head);
      const meta = el('div', 'item-meta');
      const target = el('span', null, 'target ');
      target.appendChild(el('b', null, s.target));
      meta.appendChild(target);
      meta.appendChild(el('span', null, describe(s)));
      const radius = listOf(s.blast_radius).filter((t) => t !== s.target);
      if (radius.length) meta.appendChild(el('span', null, '+' + radius.length + ' in blast radius'));
      if (s.capped_from) meta.appendChild(el('span', null, 'capped from ' + s.capped_from));
      li.appendChild(meta);
      const bar = el('div', 'progress');
      const fill = el('div', 'progress-bar');
      bar.appendChild(fill);
      li.appendChild(bar);
      const actions = el('div', 'item-actions');
      const end = el('button', 'btn btn-xs', 'End now');
      end.type = 'button';
      end.dataset.action = 'end';
      actions.appendChild(end);
      li.appendChild(actions);
      frag.appendChild(li);
    }
    scenarioList.replaceChildren(frag);
    tickCountdowns();
  }
  function setStopped(stopped, reason) {
    chaosStopped = stopped;
    document.body.dataset.chaosStopped = String(stopped);
    $('#chaos-stopped').hidden = !stopped;
    if (reason !== '') setText($('#chaos-stopped-reason'), reason ? 'Reason: ' + reason + '.' : '');
    $('#chaos-submit').disabled = stopped;
  }
  function renderChaosMetrics(m) {
    if (!m || typeof m !== 'object') return;
    setStopped(!!m.emergency_stop, m.stop_reason);
    setText($('#chaos-stats'), `${fmtCount(m.scenarios_run)} run · ${fmtCount(m.errors_injected)} errors · ${fmtCount(m.latency_injections)} delays injected`);
  }
  scenarioList.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-action="end"]');
    if (!b) return;
    const name = b.closest('[data-scenario]').dataset.scenario;
    if (!(await confirmAction('End scenario', 'End the chaos scenario ' + name + ' now?', 'End now'))) return;
    b.disabled = true;
    act('Ended scenario ' + name, 'DELETE', 'chaos/scenarios/' + encodeURIComponent(name), undefined, refreshChaos)
      .finally(() => { b.disabled = false; });
  });
  function refreshChaos() {
    fetchScenarios().catch(() => {});
    fetchChaosMetrics().catch(() => {});
  }
  let chaosRefetch = 0;
  function refetchChaosSoon() {
    if (chaosRefetch) return;
    chaosRefetch = setTimeout(() => { chaosRefetch = 0; refreshChaos(); }, 150);
  }

  // Inject form: show only the fields of the chosen type.
  const chaosForm = $('#chaos-form');
  const chaosType = $('#chaos-type');
  function syncChaosFields() {
    for (const l of chaosForm.querySelectorAll('[data-for]')) l.hidden = l.dataset.for !== chaosType.value;
  }
  chaosType.addEventListener('change', syncChaosFields);
  syncChaosFields();
  chaosForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const errBox = $('#chaos-form-error');
    setText(errBox, '');
    const type = chaosType.value;
    const target = $('#chaos-target').value.trim();
    const duration = $('#chaos-duration').value.trim() || '30s';
    if (!target) { setText(errBox, 'Target is required.'); $('#chaos-target').focus(); return; }
    if (!(parseDuration(duration) > 0)) { setText(errBox, 'Duration must be a positive duration such as "30s".'); return; }
    const sc = { name: '', type, target, duration };
    let suffix = '';
    if (type === 'latency') {
      sc.delay = $('#chaos-delay').value.trim() || '0s';
      if (isNaN(parseDuration(sc.delay))) { setText(errBox, 'Delay must be a duration such as "250ms".'); return; }
      suffix = '_' + sc.delay;
    } else if (type === 'error') {
      sc.error_rate = Number($('#chaos-error-rate').value);
      suffix = '_' + sc.error_rate;
    } else if (type === 'resource_exhaustion') {
      sc.resource_type = $('#chaos-resource-type').value;
      sc.resource_level = Number($('#chaos-resource-level').value);
      suffix = '_' + sc.resource_type;
    }
    sc.name = $('#chaos-name').value.trim() || (type + '_' + target + suffix);
    const submit = $('#chaos-submit');
    submit.disabled = true;
    try {
      const r = await write('POST', 'chaos/scenarios', sc);
      if (r !== undefined) {
        toast('Injected ' + sc.name, 'ok');
        $('#chaos-name').value = '';
        refreshChaos();
      }
    } catch (err) {
      setText(errBox, (err.field ? err.field + ': ' : '') + err.message);
    } finally {
      submit.disabled = chaosStopped;
    }
  });

  const stopBtn = $('#emergency-stop');
  stopBtn.addEventListener('click', async () => {
    const ok = await confirmAction('Emergency stop',
      'End every chaos scenario now and refuse new ones until the engine is reset?', 'Stop all chaos');
    if (!ok) return;
    stopBtn.setAttribute('aria-busy', 'true');
    stopBtn.disabled = true;
    try {
      await act('Emergency stop: every chaos scenario ended', 'POST', 'chaos/emergency-stop', undefined, refreshChaos);
    } finally {
      stopBtn.removeAttribute('aria-busy');
      stopBtn.disabled = false;
    }
  });

  // ---------- metering ----------
  let meterPrev = null; // {t, queued}
  const rates = []; // recent throughput samples {t, v}
  async function fetchMetering() {
    renderMetering(await available('metering-panel', getJSON('metering')));
  }
  function renderMetering(r) {
    const m = (r && (r.metrics || r.Metrics)) || r || {};
    const now = performance.now();
    const queued = Number(m.queued) || 0;
    if (meterPrev && now > meterPrev.t && queued >= meterPrev.queued) {
      const v = (queued - meterPrev.queued) / ((now - meterPrev.t) / 1000);
      rates.push(v);
      while (rates.length > 180) rates.shift();
      setText($('#meter-rate'), v < 10 ? v.toFixed(1) : fmtCount(v));
    }
    meterPrev = { t: now, queued };
    setText($('#meter-queued'), fmtCount(queued));
    const dropped = (Number(m.dropped) || 0) + (Number(m.failed) || 0);
    const dEl = $('#meter-dropped');
    setText(dEl, fmtCount(dropped));
    dEl.classList.toggle('bad', dropped > 0);
    dEl.title = `${m.dropped || 0} dropped (queue full) · ${m.failed || 0} failed delivery`;
    setText($('#meter-queue'), `${fmtCount(m.queue_size)}/${fmtCount(m.max_queue_size)}`);
    setText($('#metering-state'), m.enabled === false ? 'disabled' : m.running === false ? 'not running' : `${fmtCount(m.flushed)} flushed`);
    drawSpark();
    const usage = listOf(r && (r.usage || r.Usage));
    const byTenant = new Map();
    for (const u of usage) {
      const k = u.tenant_id || '(none)';
      const a = byTenant.get(k) || { count: 0, tokens: 0, errors: 0, rejected: 0, injected: 0, lat: 0 };
      a.count += Number(u.count) || 0;
      a.tokens += Number(u.tokens) || 0;
      a.errors += Number(u.errors) || 0;
      a.rejected += Number(u.rejected) || 0;
      a.injected += Number(u.injected) || 0;
      a.lat += Number(u.latency_sum_ns) || 0;
      byTenant.set(k, a);
    }
    const total = (a) => a.count + a.rejected + a.injected;
    const tenants = [...byTenant.entries()].sort((a, b) => total(b[1]) - total(a[1]));
    const frag = document.createDocumentFragment();
    for (const [name, a] of tenants.slice(0, 50)) {
      const tr = el('tr');
      tr.dataset.tenant = name;
      const td = el('td', 'tenant', name);
      td.title = name;
      tr.appendChild(td);
      tr.appendChild(el('td', 'num', fmtCount(a.count)));
      tr.appendChild(el('td', 'num', fmtCount(a.tokens)));
      tr.appendChild(el('td', 'num', fmtCount(a.errors)));
      tr.appendChild(el('td', 'num', fmtCount(a.rejected)));
      tr.appendChild(el('td', 'num', fmtCount(a.injected)));
      tr.appendChild(el('td', 'num', fmtLatency(a.count ? a.lat / a.count : 0)));
      frag.appendChild(tr);
    }
    $('#usage-body').replaceChildren(frag);
    $('#usage-empty').hidden = tenants.length !== 0;
    $('#usage-table').hidden = tenants.length === 0;
  }
  function drawSpark() {
    const box = $('#meter-spark');
    const W = Math.max(100, box.clientWidth || 360), H = Math.max(20, box.clientHeight || 44);
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    root.appendChild(svg('line', { x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5 }, 'ch-grid'));
    const label = svg('text', { x: 2, y: 10 }, 'sp-label');
    label.textContent = rates.length > 0 ? 'events/s · last 3 min · peak ' + fmtCount(Math.max(...rates)) : 'events/s · collecting…';
    root.appendChild(label);
    if (rates.length > 0) {
      const max = Math.max(1, ...rates);
      const n = 180;
      const x = (i) => W - (rates.length - 1 - i) * (W / (n - 1));
      const y = (v) => H - 2 - (v / max) * (H - 16);
      let line = '';
      rates.forEach((v, i) => { line += (i ? 'L' : 'M') + x(i).toFixed(1) + ',' + y(v).toFixed(1); });
      if (rates.length === 1) line = 'M' + (W - W / (n - 1)).toFixed(1) + ',' + y(rates[0]).toFixed(1) + 'L' + W + ',' + y(rates[0]).toFixed(1);
      root.appendChild(svg('path', { d: line + `L${x(rates.length - 1).toFixed(1)},${H}L${x(0).toFixed(1)},${H}Z` }, 'sp-area'));
      root.appendChild(svg('path', { d: line }, 'sp-line'));
    }
    box.replaceChildren(root);
  }

  // ---------- traffic (the agent bus) ----------
  // Every second the page samples GET bus. Rates and latency quantiles come
  // from the difference of two consecutive samples: they show from the
  // second sample on (a second after load) and describe that second, not
  // the whole run, so a latency fault shows the moment it starts.
  const TRAFFIC_KEEP = HISTORY_MS / RATE_MS; // samples kept: 15 minutes
  let busPrev = null; // {t (performance.now), agents: Map name -> AgentMetrics}
  let busBounds = []; // upper bounds of the latency buckets, ns (0: none)
  let busLatest = null;
  const traffic = []; // samples {t (server ms), rate, fail, p50, p99, agents: [{name, rate, fail, p50, p99}]}
  async function fetchBus() {
    applyBus(await available('traffic-panel', getJSON('bus')), performance.now());
  }
  function applyBus(m, now) {
    if (!m || typeof m !== 'object') return;
    if (Array.isArray(m.latency_bounds_ns)) busBounds = m.latency_bounds_ns;
    const agents = new Map(listOf(m.per_agent).filter((a) => a && a.name).map((a) => [a.name, a]));
    if (busPrev && now - busPrev.t > 200) {
      traffic.push(trafficSample(agents, busPrev.agents, (now - busPrev.t) / 1000));
      while (traffic.length > TRAFFIC_KEEP) traffic.shift();
    }
    if (!busPrev || now - busPrev.t > 200) busPrev = { t: now, agents };
    busLatest = m;
    renderTraffic();
  }
  const msgs = (a) => (Number(a.delivered) || 0) + (Number(a.failed) || 0) + (Number(a.rejected) || 0) + (Number(a.injected) || 0);
  const fails = (a) => (Number(a.failed) || 0) + (Number(a.rejected) || 0) + (Number(a.injected) || 0);
  // trafficSample is one second of traffic: what the counters of cur added
  // to those of prev over dt seconds, per agent and in all.
  function trafficSample(cur, prev, dt) {
    const sample = { t: serverNow(), rate: 0, fail: 0, p50: NaN, p99: NaN, agents: [] };
    const all = [];
    for (const [name, a] of cur) {
      const p = prev.get(name);
      if (!p || msgs(a) < msgs(p)) continue; // registered again since: counters restarted
      const hist = listOf(a.latency).map((v, i) => Math.max(0, v - (listOf(p.latency)[i] || 0)));
      hist.forEach((v, i) => { all[i] = (all[i] || 0) + v; });
      const ag = { name, rate: (msgs(a) - msgs(p)) / dt, fail: (fails(a) - fails(p)) / dt, p50: quantile(hist, 0.5), p99: quantile(hist, 0.99) };
      sample.rate += ag.rate;
      sample.fail += ag.fail;
      sample.agents.push(ag);
    }
    sample.p50 = quantile(all, 0.5);
    sample.p99 = quantile(all, 0.99);
    return sample;
  }
  // quantile reads the q-th quantile of a latency histogram as the upper
  // bound of its bucket (in ns), the way the bus's LatencyQuantile does;
  // NaN when the histogram is empty.
  function quantile(hist, q) {
    let total = 0;
    for (const v of hist) total += v || 0;
    if (!total) return NaN;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < hist.length; i++) {
      seen += hist[i] || 0;
      if (seen >= rank) {
        const b = busBounds[i];
        return b > 0 ? b : (busBounds[i - 1] || NaN);
      }
    }
    return NaN;
  }
  function fmtRate(v) {
    if (!isFinite(v)) return '–';
    return v < 10 ? v.toFixed(1) : fmtCount(v);
  }
  function renderTraffic() {
    const m = busLatest || {};
    const last = traffic[traffic.length - 1];
    const per = listOf(m.per_agent);
    setText($('#traffic-agents'), per.length);
    // A bus without agents has no traffic to chart.
    const none = !!busLatest && per.length === 0;
    $('#traffic-empty').hidden = !none;
    $('#traffic-body').hidden = none;
    setText($('#traffic-state'), m.running === false ? 'bus not running' : last ? 'last second · ' + fmtCount(m.sent) + ' sent in all' : 'sampling…');
    // data-value holds the figure unformatted (per second; latencies in ns).
    for (const [id, k, f] of [['rate', 'rate', fmtRate], ['fail', 'fail', fmtRate], ['p50', 'p50', fmtLatency], ['p99', 'p99', fmtLatency]]) {
      const e = $('#traffic-' + id);
      setText(e, last ? f(last[k]) : '–');
      e.dataset.value = last && isFinite(last[k]) ? String(last[k]) : '';
    }
    $('#traffic-fail').classList.toggle('bad', !!last && last.fail > 0);
    const now = new Map(last ? last.agents.map((a) => [a.name, a]) : []);
    const frag = document.createDocumentFragment();
    for (const a of per) {
      const s = now.get(a.name);
      const tr = el('tr');
      tr.dataset.agent = a.name;
      if (s) Object.assign(tr.dataset, { rate: String(s.rate), fail: String(s.fail), p50: String(s.p50), p99: String(s.p99) });
      tr.appendChild(el('td', 'tenant', a.name));
      tr.appendChild(el('td', 'num', s ? fmtRate(s.rate) : '–'));
      tr.appendChild(el('td', 'num' + (s && s.fail > 0 ? ' bad' : ''), s ? fmtRate(s.fail) : '–'));
      tr.appendChild(el('td', 'num', s ? fmtLatency(s.p50) : '–'));
      tr.appendChild(el('td', 'num', s ? fmtLatency(s.p99) : '–'));
      tr.appendChild(el('td', 'num', fmtCount(a.delivered)));
      tr.appendChild(el('td', 'num', fmtCount(fails(a))));
      tr.title = `${a.name}: ${fmtInt(a.delivered)} delivered · ${fmtInt(a.failed)} failed · ${fmtInt(a.rejected)} rejected by its breaker · ` +
        `${fmtInt(a.injected)} injected by chaos · ${fmtInt(a.tokens)} tokens · mean ${fmtLatency(a.latency_sum_ns / Math.max(1, msgs(a) - (a.rejected || 0)))}`;
      frag.appendChild(tr);
    }
    $('#agents-body').replaceChildren(frag);
    drawTraffic();
  }
  let trafficView = null; // {start, span, x0, iw, W}: how the chart maps time
  function drawTraffic() {
    const box = $('#traffic-chart');
    const W = Math.max(200, box.clientWidth || 600), H = Math.max(60, box.clientHeight || 120);
    const padL = 34, padR = 8, padT = 14, padB = 16;
    const iw = W - padL - padR, ih = H - padT - padB;
    const end = serverNow(), span = windowMs(end), start = end - span;
    const pts = traffic.filter((p) => p.t >= start);
    const max = Math.max(1, ...pts.map((p) => p.rate));
    const x = (t) => padL + ((t - start) / span) * iw;
    const y = (v) => padT + (1 - v / max) * ih;
    trafficView = { start, span, x0: padL, iw, W };
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    for (const v of [0, max / 2, max]) {
      root.appendChild(svg('line', { x1: padL, x2: W - padR, y1: y(v), y2: y(v) }, 'ch-grid'));
      const label = svg('text', { x: padL - 4, y: y(v) + 3.5, 'text-anchor': 'end' }, 'ch-axis');
      label.textContent = fmtRate(v);
      root.appendChild(label);
    }
    const title = svg('text', { x: padL, y: 9 }, 'ch-axis-title');
    title.textContent = 'msg/s (blue) · failures/s (red) · last ' + fmtAgo(span);
    root.appendChild(title);
    drawFaults(root, start, end, x, padT, ih);
    if (pts.length === 0) {
      const t = svg('text', { x: padL + iw / 2, y: padT + ih / 2, 'text-anchor': 'middle' }, 'ch-empty');
      t.textContent = busLatest ? 'sampling… (rates from the next second)' : 'waiting for the bus…';
      root.appendChild(t);
    } else {
      const line = (f) => pts.map((p, i) => (i ? 'L' : 'M') + x(p.t).toFixed(1) + ',' + y(f(p)).toFixed(1)).join('');
      const l = line((p) => p.rate);
      root.appendChild(svg('path', { d: l + `L${x(pts[pts.length - 1].t).toFixed(1)},${y(0)}L${x(pts[0].t).toFixed(1)},${y(0)}Z` }, 'sp-area'));
      root.appendChild(svg('path', { d: l }, 'sp-line'));
      root.appendChild(svg('path', { d: line((p) => p.fail) }, 'ch-fail'));
    }
    if (trafficHover !== null) {
      const hx = x(trafficHover.t);
      root.appendChild(svg('line', { x1: hx, x2: hx, y1: padT, y2: padT + ih }, 'ch-cursor'));
    }
    box.replaceChildren(root);
  }
  // Hovering the chart shows each agent's traffic at that second.
  let trafficHover = null;
  const trafficBox = $('#traffic-chart');
  trafficBox.addEventListener('mousemove', (ev) => {
    const v = trafficView;
    if (!v || traffic.length === 0) return;
    const r = trafficBox.getBoundingClientRect();
    const t = v.start + ((((ev.clientX - r.left) / r.width) * v.W - v.x0) / v.iw) * v.span;
    let best = null;
    for (const p of traffic) if (!best || Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
    if (!best || best.t < v.start) return;
    trafficHover = best;
    showTrafficTip(best, ev.clientX - r.left, r.width);
    drawTraffic();
  });
  trafficBox.addEventListener('mouseleave', () => {
    trafficHover = null;
    $('#traffic-tip').hidden = true;
    drawTraffic();
  });
  function showTrafficTip(p, px, width) {
    const tip = $('#traffic-tip');
    const head = el('div', 'tip-head', new Date(p.t - clockSkew).toLocaleTimeString() + ' · ' + fmtRate(p.rate) + ' msg/s · ' +
      fmtRate(p.fail) + ' fail/s · P50 ' + fmtLatency(p.p50) + ' · P99 ' + fmtLatency(p.p99));
    const table = el('table');
    const hr = el('tr');
    for (const h of ['agent', 'msg/s', 'fail/s', 'P50', 'P99']) hr.appendChild(el('td', h === 'agent' ? 'muted' : 'num muted', h));
    table.appendChild(hr);
    for (const a of p.agents) {
      const tr = el('tr');
      tr.dataset.tipAgent = a.name;
      tr.appendChild(el('td', null, a.name));
      tr.appendChild(el('td', 'num', fmtRate(a.rate)));
      tr.appendChild(el('td', 'num', fmtRate(a.fail)));
      tr.appendChild(el('td', 'num', fmtLatency(a.p50)));
      tr.appendChild(el('td', 'num', fmtLatency(a.p99)));
      table.appendChild(tr);
    }
    tip.replaceChildren(head, table);
    tip.hidden = false;
    const w = tip.offsetWidth;
    tip.style.transform = 'translateX(' + Math.round(px + 14 + w > width ? Math.max(0, px - w - 14) : px + 14) + 'px)';
  }

  // ---------- cluster ----------
  // The panel shows only when GET cluster answers: a 404 (an older server)
  // or 503 (no cluster mode) hides it. Instance rows and breaker rollups are
  // keyed and updated in place, one batch per animation frame, so a view of
  // hundreds of instances costs a few text updates a second.
  const clusterPanel = $('#cluster-panel');
  const clusterRows = new Map(); // instance -> {el, f: {}, vals: {}}
  const rollupRows = new Map(); // breaker -> {el, name, text}
  let clusterView = null;
  let clusterQueued = false;
  let clusterRenderMax = 0;
  let clusterRenders = 0;
  let clusterLever = null;
  // The hello event says whether the server is in cluster mode and serves
  // cluster usage; the page asks for those routes only then, so that a
  // server without them sees no failing requests.
  let clusterMode = false;
  let clusterUsageMode = false;
  function onClusterHello(d) {
    clusterMode = !!(d && d.cluster);
    clusterUsageMode = !!(d && d.cluster_usage);
    if (!clusterMode) { clusterOff(); return; }
    fetchCluster().catch(() => {});
  }
  function clusterOff() {
    clusterPanel.hidden = true;
    clusterPanel.dataset.cluster = 'off';
  }
  async function fetchCluster() {
    if (!clusterMode) return;
    let v;
    try {
      v = await getJSON('cluster');
    } catch (err) {
      if (err && (err.status === 404 || err.status === 503)) { clusterOff(); return; }
      throw err;
    }
    clusterPanel.hidden = false;
    clusterPanel.dataset.cluster = 'on';
    clusterView = v;
    scheduleCluster();
    await settle([fetchLever(), fetchClusterUsage()]);
  }
  async function fetchLever() {
    clusterLever = await getJSON('cluster/lever');
    scheduleCluster();
  }
  async function fetchClusterUsage() {
    let u;
    try {
      if (!clusterUsageMode) throw new Error('no cluster usage');
      u = await getJSON('cluster/usage');
    } catch (_) {
      $('#cluster-usage').hidden = true;
      return;
    }
    renderClusterUsage(u);
  }
  function scheduleCluster() {
    if (clusterQueued) return;
    clusterQueued = true;
    requestAnimationFrame(() => { clusterQueued = false; renderCluster(); });
  }
  function renderCluster() {
    const v = clusterView;
    if (!v) return;
    const t0 = performance.now();
    const list = Array.isArray(v.instances) ? v.instances : [];
    setText($('#cluster-name'), v.cluster || '');
    setText($('#cluster-count'), fmtInt(list.length));
    const st = $('#cluster-status');
    setText(st, v.status || 'UNKNOWN');
    st.dataset.status = v.status || 'UNKNOWN';
    setText($('#cluster-fresh'), `${fmtInt(v.live)} live · ${fmtInt(v.stale_count)} stale · ${fmtInt(v.lost)} lost`);
    $('#cluster-stale').hidden = !v.stale;
    if (v.stale) setText($('#cluster-stale-text'), 'the control plane could not be read (' + (v.error || 'no answer') + '); ages count from the last read.');
    renderInstances(list);
    renderRollups(Array.isArray(v.breakers) ? v.breakers : []);
    renderPulled(v.pulled_down_by || {});
    renderLever(clusterLever || v.lever || {});
    // What a render costs, for tests and the curious (data-render-ms).
    const ms = performance.now() - t0;
    clusterRenderMax = Math.max(clusterRenderMax, ms);
    clusterPanel.dataset.renderMs = ms.toFixed(1);
    clusterPanel.dataset.renderMaxMs = clusterRenderMax.toFixed(1);
    clusterPanel.dataset.renders = String(++clusterRenders);
  }
  function makeInstanceRow(name) {
    const tr = el('tr');
    tr.dataset.instance = name;
    const row = { el: tr, f: {}, vals: {} };
    for (const [k, cls] of [['name', 'inst'], ['labels', 'labels'], ['status', 'st'], ['score', 'num'], ['open', 'num'], ['chaos', 'num'], ['age', 'num'], ['fresh', 'fresh']]) {
      row.f[k] = el('td', cls);
      tr.appendChild(row.f[k]);
    }
    setText(row.f.name, name);
    row.f.name.title = name;
    return row;
  }
  function instanceCells(in_) {
    const labels = Object.keys(in_.labels || {}).sort().map((k) => k + '=' + in_.labels[k]).join(' ');
    const fresh = in_.lost ? 'lost' : in_.stale ? 'stale' : in_.hash_mismatch ? 'hash mismatch' : 'live';
    const ageMs = parseDuration(in_.age);
    return {
      labels, status: in_.status || 'UNKNOWN', score: !in_.status || in_.status === 'UNKNOWN' ? '–' : fmtScore(in_.health_score),
      open: fmtInt(in_.open_count) + (in_.forced_count ? ' · ' + fmtInt(in_.forced_count) + ' forced' : ''),
      chaos: (in_.chaos_stopped ? 'stopped ' : '') + fmtInt(in_.chaos_count),
      age: isFinite(ageMs) ? (ageMs < 1000 ? Math.round(ageMs) + 'ms' : fmtSecs(ageMs)) + ' ago' : '–',
      fresh,
    };
  }
  function renderInstances(list) {
    const seen = new Set();
    let added = false;
    for (const in_ of list) {
      if (!in_ || typeof in_.instance !== 'string') continue;
      seen.add(in_.instance);
      let row = clusterRows.get(in_.instance);
      if (!row) { row = makeInstanceRow(in_.instance); clusterRows.set(in_.instance, row); added = true; }
      const c = instanceCells(in_);
      for (const k in c) {
        if (row.vals[k] !== c[k]) { row.vals[k] = c[k]; setText(row.f[k], c[k]); }
      }
      if (row.el.dataset.fresh !== c.fresh) row.el.dataset.fresh = c.fresh;
      if (row.f.status.dataset.status !== c.status) row.f.status.dataset.status = c.status;
      row.f.labels.title = c.labels;
    }
    for (const [name, row] of clusterRows) if (!seen.has(name)) { row.el.remove(); clusterRows.delete(name); }
    if (added) {
      // The view is sorted by name: append in its order, moving nodes.
      const frag = document.createDocumentFragment();
      for (const in_ of list) { const row = in_ && clusterRows.get(in_.instance); if (row) frag.appendChild(row.el); }
      $('#cluster-instances').appendChild(frag);
    }
  }
  const MAX_ROLLUPS = 100;
  function renderRollups(list) {
    const box = $('#cluster-breakers');
    const shown = list.slice(0, MAX_ROLLUPS);
    const keep = new Set(shown.map((b) => b.name));
    for (const [name, r] of rollupRows) if (!keep.has(name)) { r.el.remove(); rollupRows.delete(name); }
    let order = false;
    for (const b of shown) {
      let r = rollupRows.get(b.name);
      if (!r) {
        const li = el('li');
        li.dataset.rollup = b.name;
        r = { el: li, name: el('span', 'r-name', b.name), text: el('span', 'fail'), who: el('span') };
        li.append(r.name, r.text, r.who);
        rollupRows.set(b.name, r);
        order = true;
      }
      const text = `open on ${b.open + (b.forced || 0)} of ${b.of}` + (b.half_open ? ` · half-open on ${b.half_open}` : '');
      setText(r.text, text);
      setText(r.who, (b.open_on || []).length ? 'pulled down by ' + b.open_on.join(', ') : '');
      r.el.dataset.open = String(b.open + (b.forced || 0));
      r.el.title = b.summary || '';
    }
    if (order) {
      const frag = document.createDocumentFragment();
      for (const b of shown) frag.appendChild(rollupRows.get(b.name).el);
      box.appendChild(frag);
    }
    $('#cluster-breakers-empty').hidden = shown.length !== 0;
  }
  function renderPulled(p) {
    const ins = (p.instances || []).map((c) => c.instance + ' (' + c.reason + ')');
    const brs = p.breakers || [];
    let s = '';
    if (ins.length) s += 'Pulled down by ' + ins.slice(0, 10).join(', ') + (ins.length > 10 ? ` and ${ins.length - 10} more` : '');
    if (brs.length) s += (s ? '; breakers ' : 'Breakers open: ') + brs.slice(0, 10).join(', ') + (brs.length > 10 ? '…' : '');
    setText($('#cluster-pulled'), s);
  }
  function renderLever(l) {
    const box = $('#cluster-lever');
    box.dataset.stopped = l.stopped ? 'true' : 'false';
    const at = parseTime(l.at);
    setText($('#cluster-lever-text'), l.stopped
      ? 'Cluster emergency stop latched' + (l.by ? ' by ' + l.by : '') + (isNaN(at) ? '' : ' at ' + new Date(at).toLocaleTimeString()) + '.'
      : 'Cluster lever: not latched.');
    const acked = (l.acked || []).filter((a) => a.revision === l.revision).map((a) => a.instance);
    const pending = l.pending || [];
    let s = '';
    if (l.revision > 0 && (l.acked || l.pending)) { // revision 0: never pulled, nothing to acknowledge
      s = 'acknowledged by ' + acked.length + ' of ' + (acked.length + pending.length) + (acked.length ? ': ' + acked.slice(0, 10).join(', ') + (acked.length > 10 ? '…' : '') : '');
      if (pending.length) s += ' · pending: ' + pending.slice(0, 10).join(', ') + (pending.length > 10 ? '…' : '');
    }
    setText($('#cluster-lever-acks'), s);
    $('#cluster-stop').disabled = !!l.stopped;
    $('#cluster-reset').disabled = !l.stopped;
  }
  function renderClusterUsage(u) {
    const list = (u && Array.isArray(u.usage)) ? u.usage : [];
    $('#cluster-usage').hidden = false;
    setText($('#cluster-usage-stream'), u && u.stream ? 'stream ' + u.stream : '');
    const frag = document.createDocumentFragment();
    for (const x of list.slice(0, 200)) {
      const tr = el('tr');
      tr.dataset.tenant = x.tenant_id;
      tr.append(el('td', 'tenant', x.tenant_id), el('td', 'num', fmtCount(x.count)), el('td', 'num', fmtCount(x.tokens)),
        el('td', 'num', fmtCount(x.errors)), el('td', 'num', fmtCount(x.rejected)), el('td', 'num', fmtCount(x.injected)));
      frag.appendChild(tr);
    }
    $('#cluster-usage-body').replaceChildren(frag);
  }
  function refreshCluster(l) {
    if (l && typeof l.stopped === 'boolean') { clusterLever = l; scheduleCluster(); }
    fetchCluster().catch(() => {});
    refreshChaos();
  }
  async function pullClusterLever(stop) {
    const ok = stop
      ? await confirmAction('Cluster emergency stop', 'Latch the emergency stop on every instance of the cluster? Each ends all its chaos, releases forced breakers and refuses new injections until a cluster reset.', 'Stop the whole cluster')
      : await confirmAction('Reset the cluster stop', 'Clear the cluster-wide emergency stop? Instances accept chaos injections again.', 'Reset cluster');
    if (!ok) return;
    const b = $(stop ? '#cluster-stop' : '#cluster-reset');
    b.disabled = true;
    try {
      await act(stop ? 'Cluster emergency stop latched' : 'Cluster stop reset', 'POST', stop ? 'cluster/emergency-stop' : 'cluster/reset', { by: 'ops dashboard' }, refreshCluster);
    } finally {
      renderLever(clusterLever || {});
    }
  }
  $('#cluster-stop').addEventListener('click', () => pullClusterLever(true));
  $('#cluster-reset').addEventListener('click', () => pullClusterLever(false));

  // ---------- countdowns (every second) ----------
  function tickCountdowns() {
    const now = Date.now();
    for (const c of document.querySelectorAll('.countdown[data-deadline]')) {
      const left = Number(c.dataset.deadline) - now;
      setText(c, (c.dataset.prefix || '') + fmtSecs(left) + (c.dataset.suffix || ''));
      const total = Number(c.dataset.total);
      if (total > 0) {
        const item = c.closest('.item');
        const bar = item && $('.progress-bar', item);
        if (bar) bar.style.transform = 'scaleX(' + clampNum(left / total, 0, 1).toFixed(4) + ')';
      }
    }
  }

  // ---------- live events ----------
  let source = null;
  let retryMs = 1000;
  function connect() {
    if (source) source.close();
    setConn('connecting');
    const es = new EventSource(url('events'));
    source = es;
    const parse = (e) => { try { return JSON.parse(e.data); } catch (_) { return null; } };
    es.addEventListener('open', () => {
      retryMs = 1000;
      setConn('live');
      refreshAll(); // events may have been missed while disconnected
    });
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error): reconnect by hand, backing off.
        setConn('down');
        es.close();
        if (source === es) source = null;
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      } else {
        setConn('connecting');
      }
    });
    es.addEventListener('hello', (e) => {
      const d = parse(e);
      if (d && d.health) applyHealth(d.health);
      onClusterHello(d);
    });
    es.addEventListener('breaker', (e) => onBreakerEvent(parse(e)));
    es.addEventListener('health', (e) => applyHealth(parse(e)));
    es.addEventListener('anomaly', (e) => onAnomalyEvent(parse(e)));
    es.addEventListener('recovery', () => refetchRecoverySoon());
    es.addEventListener('chaos', () => refetchChaosSoon());
  }

  // ---------- polling ----------
  function settle(promises) {
    return Promise.allSettled(promises).then((rs) => {
      const failed = rs.filter((r) => r.status === 'rejected');
      if (failed.length === rs.length && rs.length) setConn(source && source.readyState === EventSource.OPEN ? 'live' : 'down');
      return rs;
    });
  }
  let refreshing = null;
  function refreshAll() {
    if (refreshing) return refreshing;
    refreshing = settle([
      fetchHealth(), fetchHistory(true), fetchBreakers(), fetchRecovery(),
      fetchScenarios(), fetchChaosMetrics(), fetchMetering(), fetchBus(), fetchCluster(), fetchLedger(),
    ]).finally(() => { refreshing = null; });
    return refreshing;
  }
  function loop(ms, fn) {
    const run = async () => {
      if (!document.hidden) {
        try { await fn(); } catch (_) { /* the next round tries again */ }
      }
      setTimeout(run, ms);
    };
    setTimeout(run, ms);
  }

  // ---------- start ----------
  renderTokenState();
  renderHealth();
  drawTimeline();
  drawSpark();
  renderTraffic();
  renderEnded([]);
  renderBreakerSummary();
  renderRecovery(null);
  renderScenarios([]);
  refreshAll();
  connect();
  loop(RATE_MS, () => settle([fetchBus(), fetchMetering()]));
  loop(FAST_MS, () => settle([fetchHistory(false)]));
  loop(FAST_MS, () => settle([fetchCluster()])); // a view costs the instance asked: every 2 s, not every second
  loop(SLOW_MS, () => settle([fetchBreakers(), fetchRecovery(), fetchScenarios(), fetchChaosMetrics(), fetchLedger()]));
  setInterval(() => { tickCountdowns(); updateHealthAge(); scheduleChart(); }, 1000);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshAll(); });
  if (window.ResizeObserver) {
    new ResizeObserver(() => { scheduleChart(); drawSpark(); drawTraffic(); }).observe($('#timeline'));
  }
})();
