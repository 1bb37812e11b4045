import { createHash } from 'node:crypto';

// The dashboard is one self-contained page: agents run on hosts without internet access, so no
// CDN, no web font, no chart library. Its script reads `/api/events` and draws on <canvas>.
// The script avoids backticks so that it can live in this template literal as it is.

const STYLE = `
:root {
  color-scheme: dark;
  --bg: #0d1117; --panel: #161b22; --panel-2: #1c232d; --line: #2a3340; --grid: #222a35;
  --text: #e6edf3; --muted: #8b97a6; --faint: #5b6776; --accent: #58a6ff; --ok: #3fb950;
  --warn: #d29922; --bad: #f85149;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
body { padding: 18px 22px 28px; }
.num, td.n, th.n { font-variant-numeric: tabular-nums; }
header { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; margin-bottom: 16px; }
.brand { display: flex; align-items: center; gap: 10px; font-size: 18px; font-weight: 650; letter-spacing: .2px; }
.brand svg { width: 28px; height: 28px; }
.brand small { font-weight: 400; color: var(--muted); font-size: 13px; }
.pill { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px;
  background: var(--panel); border: 1px solid var(--line); color: var(--muted); font-size: 12px; }
.pill .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--faint); }
.pill.live .dot { background: var(--ok); box-shadow: 0 0 0 3px rgba(63,185,80,.18); }
.pill.down .dot { background: var(--bad); }
.pill.ready { color: var(--ok); }
.pill.ready .dot { background: var(--ok); }
.pill.unready { color: var(--bad); }
.pill.unready .dot { background: var(--bad); }
.spacer { flex: 1; }
.meta { color: var(--muted); font-size: 13px; }
.meta b { color: var(--text); font-weight: 600; }
.seg { display: inline-flex; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.seg button { background: var(--panel); color: var(--muted); border: 0; padding: 4px 11px; font: inherit;
  font-size: 12px; cursor: pointer; }
.seg button + button { border-left: 1px solid var(--line); }
.seg button.on { background: var(--panel-2); color: var(--text); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 10px; margin-bottom: 14px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px 11px; }
.card .label { color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: .6px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card .value { font-size: 25px; font-weight: 620; margin-top: 2px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.card .value .unit { font-size: 13px; color: var(--muted); font-weight: 500; margin-left: 3px; }
.card.bad .value { color: var(--bad); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-bottom: 14px; }
.grid-bottom { display: grid; grid-template-columns: minmax(0, 2.2fr) minmax(0, 1fr); gap: 14px; }
@media (max-width: 1100px) { .grid2, .grid-bottom { grid-template-columns: 1fr; } }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; min-width: 0; }
.panel h2 { margin: 0 0 8px; font-size: 13px; font-weight: 600; color: var(--text); display: flex; align-items: baseline; gap: 8px; }
.panel h2 small { color: var(--muted); font-weight: 400; font-size: 12px; }
.chart { position: relative; height: 240px; }
.chart canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; margin-top: 8px; font-size: 12px; color: var(--muted); min-height: 18px; }
.legend button { background: none; border: 0; color: inherit; font: inherit; padding: 1px 2px; cursor: pointer;
  display: inline-flex; align-items: center; gap: 6px; }
.legend button.off { opacity: .35; }
.legend .sw { width: 14px; height: 3px; border-radius: 2px; }
.legend .hint { margin-left: auto; color: var(--faint); }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; color: var(--muted); font-weight: 500; font-size: 11.5px; text-transform: uppercase;
  letter-spacing: .5px; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap;
  cursor: pointer; user-select: none; }
th.sorted::after { content: " \\25BE"; color: var(--accent); }
th.sorted.asc::after { content: " \\25B4"; }
th.n, td.n { text-align: right; }
td { padding: 7px 8px; border-bottom: 1px solid var(--grid); white-space: nowrap; }
tbody tr:hover td { background: var(--panel-2); }
tbody tr:last-child td { border-bottom: 0; }
td.name { max-width: 280px; overflow: hidden; text-overflow: ellipsis; }
td.name .sw { display: inline-block; width: 9px; height: 9px; border-radius: 3px; margin-right: 8px; background: var(--line); vertical-align: 0; }
tr.gone td { color: var(--faint); }
.tag { font-size: 10.5px; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; margin-left: 6px; }
td.bad { color: var(--bad); }
td.spark { width: 128px; padding-top: 3px; padding-bottom: 3px; }
td.spark canvas { width: 120px; height: 24px; display: block; margin-left: auto; }
.empty { color: var(--faint); padding: 18px 8px; text-align: center; }
.models-summary { display: flex; gap: 16px; margin-bottom: 8px; color: var(--muted); font-size: 12.5px; }
.models-summary b { color: var(--text); font-size: 16px; font-weight: 620; margin-right: 4px; }
.state { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--faint); margin-right: 8px; }
.state.on { background: var(--ok); }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); }
footer { margin-top: 16px; color: var(--faint); font-size: 12px; display: flex; gap: 14px; flex-wrap: wrap; }
footer a { color: var(--muted); }
`;

const SCRIPT = `
(function () {
  'use strict';
  var PALETTE = ['#58a6ff', '#f0883e', '#3fb950', '#db61a2', '#a371f7', '#e3b341', '#39c5cf', '#ff7b72'];
  var TOTAL_COLOR = '#e6edf3';
  var MAX_CHARTED = 6;
  var $ = function (id) { return document.getElementById(id); };

  var state = {
    intervalMs: 1000, capacity: 300, t: [], total: null, tenants: new Map(), status: null,
    windowSeconds: 300, hidden: new Set(), colors: new Map(), sort: { key: 'name', dir: 1 }, frame: 0, draws: 0, received: 0
  };

  function emptySeries(n) {
    var s = { rps: [], eps: [], p50: [], p99: [], inflight: [] };
    for (var i = 0; i < n; i++) { s.rps.push(null); s.eps.push(null); s.p50.push(null); s.p99.push(null); s.inflight.push(null); }
    return s;
  }
  function pushPoint(series, p) {
    series.rps.push(p ? p.rps : null); series.eps.push(p ? p.eps : null);
    series.p50.push(p ? p.p50 : null); series.p99.push(p ? p.p99 : null); series.inflight.push(p ? p.inflight : null);
  }
  function trim(series, n) {
    ['rps', 'eps', 'p50', 'p99', 'inflight'].forEach(function (k) { if (series[k].length > n) series[k].splice(0, series[k].length - n); });
  }

  // Formatting
  function fmtRate(v) {
    if (v === null || v === undefined || !isFinite(v)) return '\\u2013';
    if (v === 0) return '0';
    if (v < 10) return v.toFixed(1);
    if (v < 1000) return String(Math.round(v));
    if (v < 1e6) return (v / 1e3).toFixed(v < 1e4 ? 2 : 1) + 'k';
    return (v / 1e6).toFixed(2) + 'M';
  }
  function msParts(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return ['\\u2013', ''];
    if (ms < 1) return [String(Math.round(ms * 1000)), '\\u00b5s'];
    if (ms < 10) return [ms.toFixed(2), 'ms'];
    if (ms < 100) return [ms.toFixed(1), 'ms'];
    if (ms < 1000) return [String(Math.round(ms)), 'ms'];
    return [(ms / 1000).toFixed(2), 's'];
  }
  function fmtMs(ms) { var p = msParts(ms); return p[1] ? p[0] + ' ' + p[1] : p[0]; }
  function fmtInt(v) { return Math.round(v).toLocaleString('en-US'); }
  function fmtUptime(s) {
    s = Math.floor(s);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + m + 'm';
    if (m > 0) return m + 'm ' + (sec < 10 ? '0' : '') + sec + 's';
    return sec + 's';
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function colorOf(name) {
    var c = state.colors.get(name);
    if (c) return c;
    var used = new Set(state.colors.values());
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    for (var k = 0; k < PALETTE.length; k++) {
      var candidate = PALETTE[(h + k) % PALETTE.length];
      if (!used.has(candidate)) { c = candidate; break; }
    }
    c = c || PALETTE[h % PALETTE.length];
    state.colors.set(name, c);
    return c;
  }

  // Data
  function onInit(data) {
    var h = data.history;
    state.intervalMs = h.intervalMs;
    state.capacity = h.capacity;
    state.t = h.t.slice();
    state.total = h.total;
    state.tenants = new Map();
    h.tenants.forEach(function (s) { state.tenants.set(s.name, s); });
    onStatus(data.status);
  }
  function onSample(data) {
    var s = data.sample;
    var n = state.t.length;
    state.received++;
    state.t.push(s.t);
    if (!state.total) state.total = emptySeries(n);
    pushPoint(state.total, s.total);
    var seen = new Set();
    s.tenants.forEach(function (p) {
      seen.add(p.name);
      var series = state.tenants.get(p.name);
      if (!series) { series = emptySeries(n); state.tenants.set(p.name, series); }
      pushPoint(series, p);
    });
    state.tenants.forEach(function (series, name) {
      if (!seen.has(name)) state.tenants.delete(name);
    });
    if (state.t.length > state.capacity) state.t.splice(0, state.t.length - state.capacity);
    trim(state.total, state.capacity);
    state.tenants.forEach(function (series) { trim(series, state.capacity); });
    onStatus(data.status);
  }
  function onStatus(status) {
    state.status = status;
    if (!state.frame) state.frame = requestAnimationFrame(render);
  }

  // Rendering
  function render() {
    state.frame = 0;
    var st = state.status;
    if (!st) return;
    renderHeader(st);
    var charted = chartedTenants();
    renderCharts(charted);
    renderTenants(st, charted);
    renderModels(st);
    state.draws++;
    document.body.dataset.draws = String(state.draws);
    document.body.dataset.samples = String(state.received);
  }

  function card(id, value, unit, bad) {
    var c = $(id);
    var v = c.querySelector('.value');
    v.textContent = value;
    if (unit) v.appendChild(el('span', 'unit', unit));
    c.classList.toggle('bad', !!bad);
  }

  function renderHeader(st) {
    var ready = $('ready');
    ready.className = 'pill ' + (st.ready ? 'ready' : 'unready');
    ready.lastChild.textContent = st.ready ? 'ready' : 'not ready';
    $('uptime').textContent = fmtUptime(st.uptimeSeconds);
    $('listeners').textContent = String(st.listeners);
    var t = st.totals;
    card('c-rps', fmtRate(t.requestRate), 'req/s');
    var p50 = msParts(t.p50Ms), p99 = msParts(t.p99Ms);
    card('c-p50', p50[0], p50[1]);
    card('c-p99', p99[0], p99[1]);
    card('c-inflight', fmtInt(t.inflight));
    card('c-errors', fmtRate(t.failureRate), 'err/s', t.failureRate > 0);
    card('c-requests', fmtInt(t.requests));
    card('c-tenants', fmtInt(t.tenants));
    card('c-connections', fmtInt(t.connections));
    card('c-models', fmtInt(st.models.loaded));
    document.title = 'Ferry \\u00b7 ' + fmtRate(t.requestRate) + ' req/s \\u00b7 p99 ' + fmtMs(t.p99Ms);
  }

  function visibleCount() {
    var want = Math.max(2, Math.round((state.windowSeconds * 1000) / state.intervalMs));
    return Math.min(state.t.length, want, state.capacity);
  }
  function sumTail(values, n) {
    var s = 0;
    for (var i = Math.max(0, values.length - n); i < values.length; i++) s += values[i] || 0;
    return s;
  }
  function chartedTenants() {
    var n = visibleCount();
    var ranked = [];
    state.tenants.forEach(function (series, name) { ranked.push({ name: name, series: series, weight: sumTail(series.rps, n) }); });
    ranked.sort(function (a, b) { return b.weight - a.weight || (a.name < b.name ? -1 : 1); });
    return ranked.slice(0, MAX_CHARTED).filter(function (r) { return r.weight > 0 || ranked.length <= MAX_CHARTED; });
  }

  function setupCanvas(canvas) {
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    var ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return { ctx: ctx, w: w, h: h };
  }

  function niceStep(range, ticks) {
    var raw = range / ticks;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var norm = raw / mag;
    return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  }

  // Draws lines of values aligned with state.t; returns the number of points drawn.
  function drawChart(canvas, lines, opts) {
    var c = setupCanvas(canvas);
    var ctx = c.ctx;
    var n = visibleCount();
    var left = 56, right = 12, top = 10, bottom = 24;
    var w = c.w - left - right, h = c.h - top - bottom;
    var vmin = Infinity, vmax = 0;
    lines.forEach(function (line) {
      for (var i = line.values.length - n; i < line.values.length; i++) {
        var v = line.values[i];
        if (v === null || v === undefined || !isFinite(v)) continue;
        if (v > vmax) vmax = v;
        if (v > 0 && v < vmin) vmin = v;
      }
    });
    var yOf, ticks = [];
    if (opts.log) {
      if (!isFinite(vmin)) { vmin = 0.1; vmax = 10; }
      var lo = Math.pow(10, Math.floor(Math.log10(vmin)));
      var hi = Math.pow(10, Math.ceil(Math.log10(vmax * 1.05)));
      if (hi / lo < 100) hi = lo * 100;
      yOf = function (v) { return top + h - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * h; };
      for (var d = lo; d <= hi * 1.0001; d *= 10) ticks.push(d);
      canvas.dataset.ymax = String(hi);
    } else {
      var step = niceStep(Math.max(vmax, opts.minMax || 1) * 1.08, 4);
      var ymax = Math.ceil((Math.max(vmax, opts.minMax || 1) * 1.08) / step) * step;
      yOf = function (v) { return top + h - (v / ymax) * h; };
      for (var y = 0; y <= ymax * 1.0001; y += step) ticks.push(y);
      canvas.dataset.ymax = String(vmax);
    }
    var xOf = function (i) { return left + (n <= 1 ? w : ((i - (state.t.length - n)) / (n - 1)) * w); };

    // grid and axes labels
    ctx.font = '11px system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    ticks.forEach(function (v) {
      var y = Math.round(yOf(v)) + 0.5;
      ctx.strokeStyle = '#222a35';
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + w, y); ctx.stroke();
      ctx.fillStyle = '#6e7a8a';
      ctx.fillText(opts.format(v), left - 8, y);
    });
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    if (n > 1) {
      var spanS = ((state.t[state.t.length - 1] - state.t[state.t.length - n]) / 1000) || 1;
      var marks = 5;
      for (var m = 0; m <= marks; m++) {
        var x = left + (m / marks) * w;
        var ago = spanS * (1 - m / marks);
        var label = m === marks ? 'now' : ago >= 120 ? '\\u2212' + (ago / 60).toFixed(ago >= 600 ? 0 : 1) + ' min' : '\\u2212' + (ago >= 10 ? Math.round(ago) : ago.toFixed(1)) + ' s';
        ctx.fillStyle = '#6e7a8a';
        ctx.textAlign = m === 0 ? 'left' : m === marks ? 'right' : 'center';
        ctx.fillText(label, x, top + h + 7);
      }
    }

    var points = 0;
    lines.forEach(function (line) {
      if (line.hidden) return;
      var start = line.values.length - n;
      ctx.save();
      ctx.beginPath();
      ctx.rect(left, top - 2, w, h + 4);
      ctx.clip();
      if (line.fill) {
        var grad = ctx.createLinearGradient(0, top, 0, top + h);
        grad.addColorStop(0, line.fill);
        grad.addColorStop(1, 'rgba(0,0,0,0)');
        ctx.fillStyle = grad;
        var open = false, firstX = 0, lastX = 0;
        ctx.beginPath();
        for (var i = start; i < line.values.length; i++) {
          var v = line.values[i];
          if (v === null || v === undefined) {
            if (open) { ctx.lineTo(lastX, top + h); ctx.lineTo(firstX, top + h); ctx.closePath(); open = false; }
            continue;
          }
          var px = xOf(i), py = yOf(v);
          if (!open) { ctx.moveTo(px, py); firstX = px; open = true; } else ctx.lineTo(px, py);
          lastX = px;
        }
        if (open) { ctx.lineTo(lastX, top + h); ctx.lineTo(firstX, top + h); ctx.closePath(); }
        ctx.fill();
      }
      ctx.strokeStyle = line.color;
      ctx.globalAlpha = line.key.indexOf('total') === 0 ? 1 : 0.85;
      ctx.lineWidth = line.width || 1.6;
      ctx.lineJoin = 'round';
      ctx.lineCap = 'round';
      ctx.setLineDash(line.dash || []);
      ctx.beginPath();
      var penDown = false;
      for (var j = start; j < line.values.length; j++) {
        var val = line.values[j];
        if (val === null || val === undefined || (opts.log && val <= 0)) { penDown = false; continue; }
        var x2 = xOf(j), y2 = yOf(val);
        if (!penDown) { ctx.moveTo(x2, y2); penDown = true; } else ctx.lineTo(x2, y2);
        points++;
      }
      ctx.stroke();
      ctx.restore();
    });
    canvas.dataset.points = String(points);
    canvas.dataset.series = lines.filter(function (l) { return !l.hidden; }).map(function (l) { return l.key; }).join(',');
    return points;
  }

  // Axis ticks are round numbers: no trailing zeros.
  function trimZeros(text) { return text.indexOf('.') < 0 ? text : text.replace(/\\.?0+$/, ''); }
  function fmtAxisRate(v) {
    if (v >= 1e6) return trimZeros((v / 1e6).toFixed(2)) + 'M';
    if (v >= 1e3) return trimZeros((v / 1e3).toFixed(2)) + 'k';
    return trimZeros(v.toFixed(v < 10 ? 1 : 0));
  }
  function fmtAxisMs(v) {
    if (v < 1) return trimZeros((v * 1000).toFixed(1)) + ' \u00b5s';
    if (v < 1000) return trimZeros(v.toFixed(2)) + ' ms';
    return trimZeros((v / 1000).toFixed(2)) + ' s';
  }

  function renderCharts(charted) {
    if (!state.total) return;
    var total = { key: 'total', name: 'All tenants', color: TOTAL_COLOR };
    var series = [total].concat(charted.map(function (c) { return { key: c.name, name: c.name, color: colorOf(c.name), data: c.series }; }));
    total.data = state.total;
    // Tenants first, so that the total is drawn on top of them.
    var drawOrder = series.slice(1).concat([total]);
    var thr = [];
    drawOrder.forEach(function (s) {
      thr.push({ key: s.key, color: s.color, values: s.data.rps, width: s.key === 'total' ? 2.2 : 1.6,
        fill: s.key === 'total' ? 'rgba(230,237,243,0.10)' : null, hidden: state.hidden.has(s.key) });
    });
    var anyErrors = state.total.eps.some(function (v) { return v > 0; });
    if (anyErrors) thr.push({ key: 'errors', color: '#f85149', values: state.total.eps, width: 1.4, dash: [2, 3], hidden: state.hidden.has('errors') });
    drawChart($('chart-rps'), thr, { format: fmtAxisRate, minMax: 1 });
    var lat = [];
    drawOrder.forEach(function (s) {
      var hidden = state.hidden.has(s.key);
      lat.push({ key: s.key + ':p99', color: s.color, values: s.data.p99, width: s.key === 'total' ? 2 : 1.5, hidden: hidden });
      lat.push({ key: s.key + ':p50', color: s.color, values: s.data.p50, width: s.key === 'total' ? 1.6 : 1.2, dash: [4, 4], hidden: hidden });
    });
    drawChart($('chart-latency'), lat, { format: fmtAxisMs, log: true });
    renderLegend($('legend-rps'), series, anyErrors, 'rate');
    renderLegend($('legend-latency'), series, false, 'latency');
  }

  function renderLegend(container, series, errors, kind) {
    container.textContent = '';
    var items = series.map(function (s) { return { key: s.key, name: s.name, color: s.color }; });
    if (errors) items.push({ key: 'errors', name: 'errors', color: '#f85149' });
    items.forEach(function (item) {
      var b = el('button', state.hidden.has(item.key) ? 'off' : '');
      b.type = 'button';
      b.dataset.series = item.key;
      var sw = el('span', 'sw');
      sw.style.background = item.color;
      b.appendChild(sw);
      b.appendChild(document.createTextNode(item.name));
      b.addEventListener('click', function () {
        if (state.hidden.has(item.key)) state.hidden.delete(item.key); else state.hidden.add(item.key);
        render();
      });
      container.appendChild(b);
    });
    var more = state.tenants.size - (series.length - 1);
    var hint = kind === 'latency' ? 'solid p99 \\u00b7 dashed p50 \\u00b7 log scale' : more > 0 ? '+' + more + ' more tenants' : '';
    if (kind === 'latency' && more > 0) hint = '+' + more + ' more \\u00b7 ' + hint;
    if (hint) container.appendChild(el('span', 'hint', hint));
  }

  var COLUMNS = [
    { key: 'name', label: 'Tenant', num: false },
    { key: 'connections', label: 'Conns', num: true },
    { key: 'sessions', label: 'Sessions', num: true },
    { key: 'models', label: 'Models', num: true },
    { key: 'inflight', label: 'In flight', num: true },
    { key: 'requestRate', label: 'req/s', num: true },
    { key: 'failureRate', label: 'err/s', num: true },
    { key: 'p50Ms', label: 'p50', num: true },
    { key: 'p99Ms', label: 'p99', num: true },
    { key: 'requests', label: 'Requests', num: true },
    { key: 'failures', label: 'Failed', num: true },
    { key: 'trend', label: 'Last minute', num: true, nosort: true }
  ];

  function buildTenantHead() {
    var tr = $('tenants-head');
    COLUMNS.forEach(function (col) {
      var th = el('th', col.num ? 'n' : '', col.label);
      th.dataset.key = col.key;
      if (!col.nosort) {
        th.addEventListener('click', function () {
          if (state.sort.key === col.key) state.sort.dir = -state.sort.dir;
          else state.sort = { key: col.key, dir: col.num ? -1 : 1 };
          render();
        });
      }
      tr.appendChild(th);
    });
  }

  function renderTenants(st, charted) {
    var body = $('tenants-body');
    var list = st.tenants.slice();
    var key = state.sort.key, dir = state.sort.dir;
    list.sort(function (a, b) {
      var va = a[key], vb = b[key];
      if (va === null) va = -1;
      if (vb === null) vb = -1;
      if (va < vb) return -dir;
      if (va > vb) return dir;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
    Array.prototype.forEach.call($('tenants-head').children, function (th) {
      th.classList.toggle('sorted', th.dataset.key === key);
      th.classList.toggle('asc', dir > 0);
    });
    $('tenant-count').textContent = list.length === 1 ? '1 tenant' : list.length + ' tenants';
    var chartedNames = new Set(charted.map(function (c) { return c.name; }));
    var existing = new Map();
    Array.prototype.forEach.call(body.querySelectorAll('tr[data-tenant]'), function (tr) { existing.set(tr.dataset.tenant, tr); });
    var empty = body.querySelector('tr.placeholder');
    if (list.length === 0) {
      existing.forEach(function (tr) { tr.remove(); });
      if (!empty) {
        empty = el('tr', 'placeholder');
        var td = el('td', 'empty', 'No tenants yet \\u2014 waiting for a listener or a guest connection');
        td.colSpan = COLUMNS.length;
        empty.appendChild(td);
        body.appendChild(empty);
      }
      return;
    }
    if (empty) empty.remove();
    list.forEach(function (t) {
      var tr = existing.get(t.name);
      existing.delete(t.name);
      if (!tr) {
        tr = el('tr');
        tr.dataset.tenant = t.name;
        COLUMNS.forEach(function (col) {
          var td = el('td', (col.num ? 'n ' : '') + col.key);
          if (col.key === 'name') { td.appendChild(el('span', 'sw')); td.appendChild(el('span', 'label')); }
          if (col.key === 'trend') { td.className = 'spark'; td.appendChild(el('canvas')); }
          tr.appendChild(td);
        });
      }
      body.appendChild(tr);
      tr.classList.toggle('gone', !t.active);
      var cells = tr.children;
      var nameCell = cells[0];
      nameCell.title = t.name;
      nameCell.querySelector('.label').textContent = t.name;
      var sw = nameCell.querySelector('.sw');
      sw.style.background = chartedNames.has(t.name) ? colorOf(t.name) : '';
      var tag = nameCell.querySelector('.tag');
      if (!t.active && !tag) nameCell.appendChild(el('span', 'tag', 'gone'));
      if (t.active && tag) tag.remove();
      cells[1].textContent = fmtInt(t.connections);
      cells[2].textContent = fmtInt(t.sessions);
      cells[3].textContent = fmtInt(t.models);
      cells[4].textContent = fmtInt(t.inflight);
      cells[5].textContent = fmtRate(t.requestRate);
      cells[6].textContent = fmtRate(t.failureRate);
      cells[6].classList.toggle('bad', t.failureRate > 0);
      cells[7].textContent = fmtMs(t.p50Ms);
      cells[8].textContent = fmtMs(t.p99Ms);
      cells[9].textContent = fmtInt(t.requests);
      cells[10].textContent = fmtInt(t.failures);
      var series = state.tenants.get(t.name);
      drawSpark(cells[11].firstChild, series ? series.rps : [], chartedNames.has(t.name) ? colorOf(t.name) : '#8b97a6');
    });
    existing.forEach(function (tr) { tr.remove(); });
  }

  function drawSpark(canvas, values, color) {
    var c = setupCanvas(canvas);
    var n = Math.min(values.length, Math.max(2, Math.round(60000 / state.intervalMs)));
    if (n < 2) return;
    var max = 0;
    for (var i = values.length - n; i < values.length; i++) if (values[i] > max) max = values[i];
    var ctx = c.ctx;
    ctx.beginPath();
    for (var j = 0; j < n; j++) {
      var v = values[values.length - n + j] || 0;
      var x = (j / (n - 1)) * (c.w - 2) + 1;
      var y = c.h - 2 - (max > 0 ? (v / max) * (c.h - 5) : 0);
      if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.3;
    ctx.stroke();
    ctx.lineTo(c.w - 1, c.h);
    ctx.lineTo(1, c.h);
    ctx.closePath();
    ctx.globalAlpha = 0.15;
    ctx.fillStyle = color;
    ctx.fill();
    ctx.globalAlpha = 1;
  }

  function renderModels(st) {
    var m = st.models;
    $('m-loaded').textContent = fmtInt(m.loaded);
    $('m-loads').textContent = fmtInt(m.loads);
    $('m-unloads').textContent = fmtInt(m.unloads);
    $('m-restarts').textContent = fmtInt(m.workerRestarts);
    $('m-restarts').parentElement.classList.toggle('bad', m.workerRestarts > 0);
    var body = $('models-body');
    body.textContent = '';
    if (m.items.length === 0) {
      var tr = el('tr');
      var td = el('td', 'empty', m.loaded > 0 ? m.loaded + ' loaded \\u2014 no calls that name a model yet' : 'No models loaded');
      td.colSpan = 4;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    m.items.slice(0, 50).forEach(function (item) {
      var row = el('tr');
      row.dataset.model = item.name;
      var name = el('td', 'name');
      name.appendChild(el('span', 'state' + (item.loaded ? ' on' : '')));
      name.appendChild(document.createTextNode(item.name));
      name.title = item.sha256 ? item.name + '\\nsha256 ' + item.sha256 : item.name;
      row.appendChild(name);
      row.appendChild(el('td', '', item.backend || '\\u2013'));
      row.appendChild(el('td', 'n', fmtInt(item.requests)));
      row.appendChild(el('td', 'n', item.loadMs === null ? '\\u2013' : fmtMs(item.loadMs)));
      body.appendChild(row);
    });
  }

  function setWindow(seconds) {
    state.windowSeconds = seconds;
    Array.prototype.forEach.call(document.querySelectorAll('#range button'), function (b) {
      b.classList.toggle('on', Number(b.dataset.seconds) === seconds);
    });
    try { localStorage.setItem('ferry.window', String(seconds)); } catch { /* storage may be off */ }
    render();
  }

  function connect() {
    var live = $('live');
    var source = new EventSource('api/events');
    source.addEventListener('open', function () { live.className = 'pill live'; live.lastChild.textContent = 'live'; });
    source.addEventListener('error', function () { live.className = 'pill down'; live.lastChild.textContent = 'reconnecting\\u2026'; });
    source.addEventListener('init', function (e) { onInit(JSON.parse(e.data)); });
    source.addEventListener('sample', function (e) { onSample(JSON.parse(e.data)); });
  }

  buildTenantHead();
  Array.prototype.forEach.call(document.querySelectorAll('#range button'), function (b) {
    b.addEventListener('click', function () { setWindow(Number(b.dataset.seconds)); });
  });
  var saved = 0;
  try { saved = Number(localStorage.getItem('ferry.window')) || 0; } catch { saved = 0; }
  setWindow(saved || 300);
  window.addEventListener('resize', function () { if (!state.frame) state.frame = requestAnimationFrame(render); });
  connect();
})();
`;

const BODY = `
<header>
  <div class="brand">
    <svg viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="8" fill="#1f6feb"/>
      <path d="M6 19h20l-3 5H9z" fill="#e6edf3"/><path d="M10 18v-6h7l3 6z" fill="#9ecbff"/>
      <path d="M5 26c2.5 0 2.5-1.2 5-1.2s2.5 1.2 5 1.2 2.5-1.2 5-1.2 2.5 1.2 5 1.2" stroke="#9ecbff" stroke-width="1.6" fill="none" stroke-linecap="round"/></svg>
    <span>Ferry agent <small>admin</small></span>
  </div>
  <span class="pill" id="live"><span class="dot"></span><span>connecting\u2026</span></span>
  <span class="pill" id="ready"><span class="dot"></span><span>\u2013</span></span>
  <span class="spacer"></span>
  <span class="meta">up <b id="uptime" class="num">\u2013</b></span>
  <span class="meta"><b id="listeners" class="num">\u2013</b> listeners</span>
  <span class="seg" id="range" role="group" aria-label="Chart range">
    <button type="button" data-seconds="60">1 min</button><button type="button" data-seconds="300">5 min</button>
  </span>
</header>
<section class="cards">
  <div class="card" id="c-rps"><div class="label">Throughput</div><div class="value">\u2013</div></div>
  <div class="card" id="c-p50"><div class="label">p50 latency</div><div class="value">\u2013</div></div>
  <div class="card" id="c-p99"><div class="label">p99 latency</div><div class="value">\u2013</div></div>
  <div class="card" id="c-errors"><div class="label">Errors</div><div class="value">\u2013</div></div>
  <div class="card" id="c-inflight"><div class="label">In flight</div><div class="value">\u2013</div></div>
  <div class="card" id="c-requests"><div class="label">Requests</div><div class="value">\u2013</div></div>
  <div class="card" id="c-tenants"><div class="label">Tenants</div><div class="value">\u2013</div></div>
  <div class="card" id="c-connections"><div class="label">Connections</div><div class="value">\u2013</div></div>
  <div class="card" id="c-models"><div class="label">Models loaded</div><div class="value">\u2013</div></div>
</section>
<section class="grid2">
  <div class="panel"><h2>Throughput <small>requests per second</small></h2>
    <div class="chart"><canvas id="chart-rps" role="img" aria-label="Requests per second over time"></canvas></div>
    <div class="legend" id="legend-rps"></div></div>
  <div class="panel"><h2>Latency <small>p50 and p99 per sample</small></h2>
    <div class="chart"><canvas id="chart-latency" role="img" aria-label="Latency p50 and p99 over time"></canvas></div>
    <div class="legend" id="legend-latency"></div></div>
</section>
<section class="grid-bottom">
  <div class="panel"><h2>Tenants <small id="tenant-count"></small><small>\u00b7 rates and latency over the last minute</small></h2>
    <table id="tenants"><thead><tr id="tenants-head"></tr></thead><tbody id="tenants-body"></tbody></table></div>
  <div class="panel"><h2>Models</h2>
    <div class="models-summary">
      <span><b id="m-loaded" class="num">\u2013</b>loaded</span><span><b id="m-loads" class="num">\u2013</b>loads</span>
      <span><b id="m-unloads" class="num">\u2013</b>unloads</span><span><b id="m-restarts" class="num">\u2013</b>worker restarts</span>
    </div>
    <table id="models"><thead><tr><th>Model</th><th>Backend</th><th class="n">Requests</th><th class="n">Load</th></tr></thead>
      <tbody id="models-body"></tbody></table></div>
</section>
<footer><span>Ferry \u2014 API remoting for ML inference</span><a href="metrics">/metrics</a><a href="api/status">/api/status</a>
  <a href="healthz">/healthz</a><a href="readyz">/readyz</a></footer>
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The dashboard page: inline style and script, nothing fetched but `/api/events`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry agent</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

/** Allows exactly the page's own inline style and script (by hash) and its event stream. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
