// @ts-check
// The agent's live dashboard: reads /api/events and draws on <canvas>. Agents run on hosts without internet
// access, so no CDN, no web font, no chart library. The admin server inlines this file into index.html.
/** @typedef {import('../src/admin/admin-views.js').AdminStatus} AdminStatus */
/** @typedef {import('../src/admin/admin-views.js').AdminHistory} AdminHistory */
/** @typedef {import('../src/admin/admin-views.js').AdminSample} AdminSample */
/** @typedef {import('../src/admin/admin-views.js').SamplePoint} SamplePoint */
/** @typedef {import('../src/admin/admin-views.js').TenantStatus} TenantStatus */
/** @typedef {{ -readonly [K in keyof import('../src/admin/admin-views.js').SeriesHistory]: (number | null)[] }} Series */
/** @typedef {{ name: string, series: Series, weight: number }} Charted */
/** @typedef {{ key: string, name: string, color: string, data: Series }} ChartSeries */
/**
 * @typedef {{ key: string, color: string, values: readonly (number | null)[], width: number, fill?: string | null,
 *   dash?: number[], hidden: boolean }} ChartLine
 */
/** @typedef {{ format: (v: number) => string, minMax?: number, log?: boolean }} ChartOptions */

const PALETTE = ['#58a6ff', '#f0883e', '#3fb950', '#db61a2', '#a371f7', '#e3b341', '#39c5cf', '#ff7b72'];
const TOTAL_COLOR = '#e6edf3';
const MAX_CHARTED = 6;
/**
 * The element with this id; the page has them all, so a missing one is a bug worth failing on.
 * @param {string} id
 * @returns {HTMLElement}
 */
function $(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`no element #${id}`);
  return e;
}

/**
 * The element under `parent` matching `selector`; the page's markup has it, so a missing one is a bug.
 * @param {Element} parent
 * @param {string} selector
 * @returns {HTMLElement}
 */
function child(parent, selector) {
  const e = parent.querySelector(selector);
  if (!(e instanceof HTMLElement)) throw new Error(`no ${selector} in #${parent.id}`);
  return e;
}

/**
 * The canvas with this id.
 * @param {string} id
 * @returns {HTMLCanvasElement}
 */
function canvasOf(id) {
  const e = $(id);
  if (!(e instanceof HTMLCanvasElement)) throw new Error(`#${id} is not a canvas`);
  return e;
}

const state = {
  intervalMs: 1000,
  capacity: 300,
  /** @type {number[]} */
  t: [],
  /** @type {Series | null} */
  total: null,
  /** @type {Map<string, Series>} */
  tenants: new Map(),
  /** @type {AdminStatus | null} */
  status: null,
  windowSeconds: 300,
  hidden: new Set(),
  colors: new Map(),
  sort: { key: 'name', dir: 1 },
  frame: 0,
  draws: 0,
  received: 0,
};

/**
 * @param {number} n
 * @returns {Series}
 */
function emptySeries(n) {
  /** @type {Series} */
  const s = { rps: [], eps: [], p50: [], p99: [], inflight: [] };
  for (let i = 0; i < n; i++) {
    s.rps.push(null);
    s.eps.push(null);
    s.p50.push(null);
    s.p99.push(null);
    s.inflight.push(null);
  }
  return s;
}
/**
 * @param {Series} series
 * @param {SamplePoint | undefined} p
 */
function pushPoint(series, p) {
  series.rps.push(p ? p.rps : null);
  series.eps.push(p ? p.eps : null);
  series.p50.push(p ? p.p50 : null);
  series.p99.push(p ? p.p99 : null);
  series.inflight.push(p ? p.inflight : null);
}
/**
 * @param {Series} series
 * @param {number} n
 */
function trim(series, n) {
  /** @type {(keyof Series)[]} */ (['rps', 'eps', 'p50', 'p99', 'inflight']).forEach((k) => {
    if (series[k].length > n) series[k].splice(0, series[k].length - n);
  });
}

// Formatting
/** @param {number | null | undefined} v */
function fmtRate(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '\u2013';
  if (v === 0) return '0';
  if (v < 10) return v.toFixed(1);
  if (v < 1000) return String(Math.round(v));
  if (v < 1e6) return `${(v / 1e3).toFixed(v < 1e4 ? 2 : 1)}k`;
  return `${(v / 1e6).toFixed(2)}M`;
}
/**
 * @param {number | null | undefined} ms
 * @returns {[string, string]}
 */
function msParts(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return ['\u2013', ''];
  if (ms < 1) return [String(Math.round(ms * 1000)), '\u00b5s'];
  if (ms < 10) return [ms.toFixed(2), 'ms'];
  if (ms < 100) return [ms.toFixed(1), 'ms'];
  if (ms < 1000) return [String(Math.round(ms)), 'ms'];
  return [(ms / 1000).toFixed(2), 's'];
}
/** @param {number | null | undefined} ms */
function fmtMs(ms) {
  const p = msParts(ms);
  return p[1] ? `${p[0]} ${p[1]}` : p[0];
}
/** @param {number} v */
function fmtInt(v) {
  return Math.round(v).toLocaleString('en-US');
}
/** @param {number} s */
function fmtUptime(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60),
    sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec < 10 ? '0' : ''}${sec}s`;
  return `${sec}s`;
}
/**
 * @param {string} tag
 * @param {string} [cls]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * @param {string} name
 * @returns {string}
 */
function colorOf(name) {
  let c = state.colors.get(name);
  if (c) return c;
  const used = new Set(state.colors.values());
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  for (let k = 0; k < PALETTE.length; k++) {
    const candidate = PALETTE[(h + k) % PALETTE.length];
    if (!used.has(candidate)) {
      c = candidate;
      break;
    }
  }
  c = c || PALETTE[h % PALETTE.length];
  state.colors.set(name, c);
  return c;
}

// Data
/**
 * A series of the history, as the page keeps it (growing and trimmed as samples arrive).
 * @param {import('../src/admin/admin-views.js').SeriesHistory} h
 * @returns {Series}
 */
function seriesOf(h) {
  return { rps: [...h.rps], eps: [...h.eps], p50: [...h.p50], p99: [...h.p99], inflight: [...h.inflight] };
}

/** @param {{ history: AdminHistory, status: AdminStatus }} data */
function onInit(data) {
  const h = data.history;
  state.intervalMs = h.intervalMs;
  state.capacity = h.capacity;
  state.t = h.t.slice();
  state.total = seriesOf(h.total);
  state.tenants = new Map();
  h.tenants.forEach((s) => {
    state.tenants.set(s.name, seriesOf(s));
  });
  onStatus(data.status);
}
/** @param {{ sample: AdminSample, status: AdminStatus }} data */
function onSample(data) {
  const s = data.sample;
  const n = state.t.length;
  state.received++;
  state.t.push(s.t);
  if (!state.total) state.total = emptySeries(n);
  pushPoint(state.total, s.total);
  const seen = new Set();
  s.tenants.forEach((p) => {
    seen.add(p.name);
    let series = state.tenants.get(p.name);
    if (!series) {
      series = emptySeries(n);
      state.tenants.set(p.name, series);
    }
    pushPoint(series, p);
  });
  state.tenants.forEach((_series, name) => {
    if (!seen.has(name)) state.tenants.delete(name);
  });
  if (state.t.length > state.capacity) state.t.splice(0, state.t.length - state.capacity);
  trim(state.total, state.capacity);
  state.tenants.forEach((series) => {
    trim(series, state.capacity);
  });
  onStatus(data.status);
}
/** @param {AdminStatus} status */
function onStatus(status) {
  state.status = status;
  if (!state.frame) state.frame = requestAnimationFrame(render);
}

// Rendering
function render() {
  state.frame = 0;
  const st = state.status;
  if (!st) return;
  renderHeader(st);
  const charted = chartedTenants();
  renderCharts(charted);
  renderTenants(st, charted);
  renderModels(st);
  state.draws++;
  document.body.dataset.draws = String(state.draws);
  document.body.dataset.samples = String(state.received);
}

/**
 * @param {string} id
 * @param {string} value
 * @param {string} [unit]
 * @param {boolean} [bad]
 */
function card(id, value, unit, bad) {
  const c = $(id);
  const v = child(c, '.value');
  v.textContent = value;
  if (unit) v.appendChild(el('span', 'unit', unit));
  c.classList.toggle('bad', !!bad);
}

/** @param {AdminStatus} st */
function renderHeader(st) {
  const ready = $('ready');
  ready.className = `pill ${st.ready ? 'ready' : 'unready'}`;
  child(ready, 'span:last-child').textContent = st.ready ? 'ready' : 'not ready';
  $('uptime').textContent = fmtUptime(st.uptimeSeconds);
  $('listeners').textContent = String(st.listeners);
  const t = st.totals;
  card('c-rps', fmtRate(t.requestRate), 'req/s');
  const p50 = msParts(t.p50Ms),
    p99 = msParts(t.p99Ms);
  card('c-p50', p50[0], p50[1]);
  card('c-p99', p99[0], p99[1]);
  card('c-inflight', fmtInt(t.inflight));
  card('c-errors', fmtRate(t.failureRate), 'err/s', t.failureRate > 0);
  card('c-requests', fmtInt(t.requests));
  card('c-tenants', fmtInt(t.tenants));
  card('c-connections', fmtInt(t.connections));
  card('c-models', fmtInt(st.models.loaded));
  document.title = `Ferry \u00b7 ${fmtRate(t.requestRate)} req/s \u00b7 p99 ${fmtMs(t.p99Ms)}`;
}

function visibleCount() {
  const want = Math.max(2, Math.round((state.windowSeconds * 1000) / state.intervalMs));
  return Math.min(state.t.length, want, state.capacity);
}
/**
 * @param {readonly (number | null)[]} values
 * @param {number} n
 */
function sumTail(values, n) {
  let s = 0;
  for (let i = Math.max(0, values.length - n); i < values.length; i++) s += values[i] || 0;
  return s;
}
/** @returns {Charted[]} */
function chartedTenants() {
  const n = visibleCount();
  /** @type {Charted[]} */
  const ranked = [];
  state.tenants.forEach((series, name) => {
    ranked.push({ name: name, series: series, weight: sumTail(series.rps, n) });
  });
  ranked.sort((a, b) => b.weight - a.weight || (a.name < b.name ? -1 : 1));
  return ranked.slice(0, MAX_CHARTED).filter((r) => r.weight > 0 || ranked.length <= MAX_CHARTED);
}

/** @param {HTMLCanvasElement} canvas */
function setupCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth,
    h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx: ctx, w: w, h: h };
}

/**
 * @param {number} range
 * @param {number} ticks
 */
function niceStep(range, ticks) {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

// Draws lines of values aligned with state.t; returns the number of points drawn.
/**
 * @param {HTMLCanvasElement} canvas
 * @param {ChartLine[]} lines
 * @param {ChartOptions} opts
 */
function drawChart(canvas, lines, opts) {
  const c = setupCanvas(canvas);
  const ctx = c.ctx;
  const n = visibleCount();
  const left = 56,
    right = 12,
    top = 10,
    bottom = 24;
  const w = c.w - left - right,
    h = c.h - top - bottom;
  let vmin = Infinity,
    vmax = 0;
  lines.forEach((line) => {
    for (let i = line.values.length - n; i < line.values.length; i++) {
      const v = line.values[i];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      if (v > vmax) vmax = v;
      if (v > 0 && v < vmin) vmin = v;
    }
  });
  /** @type {(v: number) => number} */
  let yOf;
  /** @type {number[]} */
  const ticks = [];
  if (opts.log) {
    if (!Number.isFinite(vmin)) {
      vmin = 0.1;
      vmax = 10;
    }
    const lo = 10 ** Math.floor(Math.log10(vmin));
    let hi = 10 ** Math.ceil(Math.log10(vmax * 1.05));
    if (hi / lo < 100) hi = lo * 100;
    yOf = (v) => top + h - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * h;
    for (let d = lo; d <= hi * 1.0001; d *= 10) ticks.push(d);
    canvas.dataset.ymax = String(hi);
  } else {
    const step = niceStep(Math.max(vmax, opts.minMax || 1) * 1.08, 4);
    const ymax = Math.ceil((Math.max(vmax, opts.minMax || 1) * 1.08) / step) * step;
    yOf = (v) => top + h - (v / ymax) * h;
    for (let y = 0; y <= ymax * 1.0001; y += step) ticks.push(y);
    canvas.dataset.ymax = String(vmax);
  }
  const xOf = (/** @type {number} */ i) => left + (n <= 1 ? w : ((i - (state.t.length - n)) / (n - 1)) * w);

  // grid and axes labels
  ctx.font = '11px system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  ticks.forEach((v) => {
    const y = Math.round(yOf(v)) + 0.5;
    ctx.strokeStyle = '#222a35';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + w, y);
    ctx.stroke();
    ctx.fillStyle = '#6e7a8a';
    ctx.fillText(opts.format(v), left - 8, y);
  });
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  if (n > 1) {
    const spanS = (state.t[state.t.length - 1] - state.t[state.t.length - n]) / 1000 || 1;
    const marks = 5;
    for (let m = 0; m <= marks; m++) {
      const x = left + (m / marks) * w;
      const ago = spanS * (1 - m / marks);
      const label =
        m === marks
          ? 'now'
          : ago >= 120
            ? `\u2212${(ago / 60).toFixed(ago >= 600 ? 0 : 1)} min`
            : `\u2212${ago >= 10 ? Math.round(ago) : ago.toFixed(1)} s`;
      ctx.fillStyle = '#6e7a8a';
      ctx.textAlign = m === 0 ? 'left' : m === marks ? 'right' : 'center';
      ctx.fillText(label, x, top + h + 7);
    }
  }

  let points = 0;
  lines.forEach((line) => {
    if (line.hidden) return;
    const start = line.values.length - n;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top - 2, w, h + 4);
    ctx.clip();
    if (line.fill) {
      const grad = ctx.createLinearGradient(0, top, 0, top + h);
      grad.addColorStop(0, line.fill);
      grad.addColorStop(1, 'rgba(0,0,0,0)');
      ctx.fillStyle = grad;
      let open = false,
        firstX = 0,
        lastX = 0;
      ctx.beginPath();
      for (let i = start; i < line.values.length; i++) {
        const v = line.values[i];
        if (v === null || v === undefined) {
          if (open) {
            ctx.lineTo(lastX, top + h);
            ctx.lineTo(firstX, top + h);
            ctx.closePath();
            open = false;
          }
          continue;
        }
        const px = xOf(i),
          py = yOf(v);
        if (!open) {
          ctx.moveTo(px, py);
          firstX = px;
          open = true;
        } else ctx.lineTo(px, py);
        lastX = px;
      }
      if (open) {
        ctx.lineTo(lastX, top + h);
        ctx.lineTo(firstX, top + h);
        ctx.closePath();
      }
      ctx.fill();
    }
    ctx.strokeStyle = line.color;
    ctx.globalAlpha = line.key.indexOf('total') === 0 ? 1 : 0.85;
    ctx.lineWidth = line.width || 1.6;
    ctx.lineJoin = 'round';
    ctx.lineCap = 'round';
    ctx.setLineDash(line.dash || []);
    ctx.beginPath();
    let penDown = false;
    for (let j = start; j < line.values.length; j++) {
      const val = line.values[j];
      if (val === null || val === undefined || (opts.log && val <= 0)) {
        penDown = false;
        continue;
      }
      const x2 = xOf(j),
        y2 = yOf(val);
      if (!penDown) {
        ctx.moveTo(x2, y2);
        penDown = true;
      } else ctx.lineTo(x2, y2);
      points++;
    }
    ctx.stroke();
    ctx.restore();
  });
  canvas.dataset.points = String(points);
  canvas.dataset.series = lines
    .filter((l) => !l.hidden)
    .map((l) => l.key)
    .join(',');
  return points;
}

// Axis ticks are round numbers: no trailing zeros.
/** @param {string} text */
function trimZeros(text) {
  return text.indexOf('.') < 0 ? text : text.replace(/\.?0+$/, '');
}
/** @param {number} v */
function fmtAxisRate(v) {
  if (v >= 1e6) return `${trimZeros((v / 1e6).toFixed(2))}M`;
  if (v >= 1e3) return `${trimZeros((v / 1e3).toFixed(2))}k`;
  return trimZeros(v.toFixed(v < 10 ? 1 : 0));
}
/** @param {number} v */
function fmtAxisMs(v) {
  if (v < 1) return `${trimZeros((v * 1000).toFixed(1))} µs`;
  if (v < 1000) return `${trimZeros(v.toFixed(2))} ms`;
  return `${trimZeros((v / 1000).toFixed(2))} s`;
}

/** @param {Charted[]} charted */
function renderCharts(charted) {
  if (!state.total) return;
  /** @type {ChartSeries} */
  const total = { key: 'total', name: 'All tenants', color: TOTAL_COLOR, data: state.total };
  const series = [total].concat(
    charted.map((c) => ({ key: c.name, name: c.name, color: colorOf(c.name), data: c.series })),
  );
  // Tenants first, so that the total is drawn on top of them.
  const drawOrder = series.slice(1).concat([total]);
  /** @type {ChartLine[]} */
  const thr = [];
  drawOrder.forEach((s) => {
    thr.push({
      key: s.key,
      color: s.color,
      values: s.data.rps,
      width: s.key === 'total' ? 2.2 : 1.6,
      fill: s.key === 'total' ? 'rgba(230,237,243,0.10)' : null,
      hidden: state.hidden.has(s.key),
    });
  });
  const totalSeries = state.total;
  const anyErrors = totalSeries.eps.some((v) => v !== null && v > 0);
  if (anyErrors)
    thr.push({
      key: 'errors',
      color: '#f85149',
      values: totalSeries.eps,
      width: 1.4,
      dash: [2, 3],
      hidden: state.hidden.has('errors'),
    });
  drawChart(canvasOf('chart-rps'), thr, { format: fmtAxisRate, minMax: 1 });
  /** @type {ChartLine[]} */
  const lat = [];
  drawOrder.forEach((s) => {
    const hidden = state.hidden.has(s.key);
    lat.push({
      key: `${s.key}:p99`,
      color: s.color,
      values: s.data.p99,
      width: s.key === 'total' ? 2 : 1.5,
      hidden: hidden,
    });
    lat.push({
      key: `${s.key}:p50`,
      color: s.color,
      values: s.data.p50,
      width: s.key === 'total' ? 1.6 : 1.2,
      dash: [4, 4],
      hidden: hidden,
    });
  });
  drawChart(canvasOf('chart-latency'), lat, { format: fmtAxisMs, log: true });
  renderLegend($('legend-rps'), series, anyErrors, 'rate');
  renderLegend($('legend-latency'), series, false, 'latency');
}

/**
 * @param {HTMLElement} container
 * @param {ChartSeries[]} series
 * @param {boolean} errors
 * @param {'rate' | 'latency'} kind
 */
function renderLegend(container, series, errors, kind) {
  container.textContent = '';
  const items = series.map((s) => ({ key: s.key, name: s.name, color: s.color }));
  if (errors) items.push({ key: 'errors', name: 'errors', color: '#f85149' });
  items.forEach((item) => {
    const b = /** @type {HTMLButtonElement} */ (el('button', state.hidden.has(item.key) ? 'off' : ''));
    b.type = 'button';
    b.dataset.series = item.key;
    const sw = el('span', 'sw');
    sw.style.background = item.color;
    b.appendChild(sw);
    b.appendChild(document.createTextNode(item.name));
    b.addEventListener('click', () => {
      if (state.hidden.has(item.key)) state.hidden.delete(item.key);
      else state.hidden.add(item.key);
      render();
    });
    container.appendChild(b);
  });
  const more = state.tenants.size - (series.length - 1);
  let hint =
    kind === 'latency' ? 'solid p99 \u00b7 dashed p50 \u00b7 log scale' : more > 0 ? `+${more} more tenants` : '';
  if (kind === 'latency' && more > 0) hint = `+${more} more \u00b7 ${hint}`;
  if (hint) container.appendChild(el('span', 'hint', hint));
}

const COLUMNS = [
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
  { key: 'trend', label: 'Last minute', num: true, nosort: true },
];

function buildTenantHead() {
  const tr = $('tenants-head');
  COLUMNS.forEach((col) => {
    const th = el('th', col.num ? 'n' : '', col.label);
    th.dataset.key = col.key;
    if (!col.nosort) {
      th.addEventListener('click', () => {
        if (state.sort.key === col.key) state.sort.dir = -state.sort.dir;
        else state.sort = { key: col.key, dir: col.num ? -1 : 1 };
        render();
      });
    }
    tr.appendChild(th);
  });
}

/**
 * @param {AdminStatus} st
 * @param {Charted[]} charted
 */
function renderTenants(st, charted) {
  const body = $('tenants-body');
  const list = st.tenants.slice();
  const key = state.sort.key,
    dir = state.sort.dir;
  /** @param {TenantStatus} t */
  const sortValue = (t) => Object.entries(t).find(([k]) => k === key)?.[1] ?? null;
  list.sort((a, b) => {
    let va = sortValue(a),
      vb = sortValue(b);
    if (va === null) va = -1;
    if (vb === null) vb = -1;
    if (va < vb) return -dir;
    if (va > vb) return dir;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  Array.prototype.forEach.call($('tenants-head').children, (th) => {
    th.classList.toggle('sorted', th.dataset.key === key);
    th.classList.toggle('asc', dir > 0);
  });
  $('tenant-count').textContent = list.length === 1 ? '1 tenant' : `${list.length} tenants`;
  const chartedNames = new Set(charted.map((c) => c.name));
  const existing = new Map();
  Array.prototype.forEach.call(body.querySelectorAll('tr[data-tenant]'), (tr) => {
    existing.set(tr.dataset.tenant, tr);
  });
  const empty = body.querySelector('tr.placeholder');
  if (list.length === 0) {
    existing.forEach((tr) => {
      tr.remove();
    });
    if (!empty) {
      const row = el('tr', 'placeholder');
      const td = /** @type {HTMLTableCellElement} */ (
        el('td', 'empty', 'No tenants yet \u2014 waiting for a listener or a guest connection')
      );
      td.colSpan = COLUMNS.length;
      row.appendChild(td);
      body.appendChild(row);
    }
    return;
  }
  if (empty) empty.remove();
  list.forEach((t) => {
    let tr = existing.get(t.name);
    existing.delete(t.name);
    if (!tr) {
      tr = el('tr');
      tr.dataset.tenant = t.name;
      COLUMNS.forEach((col) => {
        const td = el('td', (col.num ? 'n ' : '') + col.key);
        if (col.key === 'name') {
          td.appendChild(el('span', 'sw'));
          td.appendChild(el('span', 'label'));
        }
        if (col.key === 'trend') {
          td.className = 'spark';
          td.appendChild(el('canvas'));
        }
        tr.appendChild(td);
      });
    }
    body.appendChild(tr);
    tr.classList.toggle('gone', !t.active);
    const cells = tr.children;
    const nameCell = cells[0];
    nameCell.title = t.name;
    child(nameCell, '.label').textContent = t.name;
    const sw = nameCell.querySelector('.sw');
    sw.style.background = chartedNames.has(t.name) ? colorOf(t.name) : '';
    const tag = nameCell.querySelector('.tag');
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
    const series = state.tenants.get(t.name);
    drawSpark(cells[11].firstChild, series ? series.rps : [], chartedNames.has(t.name) ? colorOf(t.name) : '#8b97a6');
  });
  existing.forEach((tr) => {
    tr.remove();
  });
}

/**
 * @param {HTMLCanvasElement} canvas
 * @param {readonly (number | null)[]} values
 * @param {string} color
 */
function drawSpark(canvas, values, color) {
  const c = setupCanvas(canvas);
  const n = Math.min(values.length, Math.max(2, Math.round(60000 / state.intervalMs)));
  if (n < 2) return;
  let max = 0;
  for (let i = values.length - n; i < values.length; i++) max = Math.max(max, values[i] ?? 0);
  const ctx = c.ctx;
  ctx.beginPath();
  for (let j = 0; j < n; j++) {
    const v = values[values.length - n + j] || 0;
    const x = (j / (n - 1)) * (c.w - 2) + 1;
    const y = c.h - 2 - (max > 0 ? (v / max) * (c.h - 5) : 0);
    if (j === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
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

/** @param {AdminStatus} st */
function renderModels(st) {
  const m = st.models;
  $('m-loaded').textContent = fmtInt(m.loaded);
  $('m-loads').textContent = fmtInt(m.loads);
  $('m-unloads').textContent = fmtInt(m.unloads);
  $('m-restarts').textContent = fmtInt(m.workerRestarts);
  $('m-restarts').parentElement?.classList.toggle('bad', m.workerRestarts > 0);
  const body = $('models-body');
  body.textContent = '';
  if (m.items.length === 0) {
    const tr = el('tr');
    const td = /** @type {HTMLTableCellElement} */ (
      el('td', 'empty', m.loaded > 0 ? `${m.loaded} loaded \u2014 no calls that name a model yet` : 'No models loaded')
    );
    td.colSpan = 5;
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  m.items.slice(0, 50).forEach((item) => {
    const row = el('tr');
    row.dataset.model = item.name;
    const name = el('td', 'name');
    name.appendChild(el('span', `state${item.loaded ? ' on' : ''}`));
    name.appendChild(document.createTextNode(item.name));
    name.title = item.sha256 ? `${item.name}\nsha256 ${item.sha256}` : item.name;
    row.appendChild(name);
    row.appendChild(el('td', '', item.backend || '\u2013'));
    row.appendChild(el('td', 'n', fmtInt(item.requests)));
    const batch = el('td', 'n', item.meanBatch === null ? '\u2013' : item.meanBatch.toFixed(1));
    batch.title = 'Mean rows of the runs its inferences ran in (over 1: batched with other requests)';
    row.appendChild(batch);
    row.appendChild(el('td', 'n', item.loadMs === null ? '\u2013' : fmtMs(item.loadMs)));
    body.appendChild(row);
  });
}

/** @param {number} seconds */
function setWindow(seconds) {
  state.windowSeconds = seconds;
  Array.prototype.forEach.call(document.querySelectorAll('#range button'), (b) => {
    b.classList.toggle('on', Number(b.dataset.seconds) === seconds);
  });
  try {
    localStorage.setItem('ferry.window', String(seconds));
  } catch {
    /* storage may be off */
  }
  render();
}

function connect() {
  const live = $('live');
  const source = new EventSource('api/events');
  source.addEventListener('open', () => {
    live.className = 'pill live';
    child(live, 'span:last-child').textContent = 'live';
  });
  source.addEventListener('error', () => {
    live.className = 'pill down';
    child(live, 'span:last-child').textContent = 'reconnecting\u2026';
  });
  source.addEventListener('init', (e) => {
    onInit(JSON.parse(e.data));
  });
  source.addEventListener('sample', (e) => {
    onSample(JSON.parse(e.data));
  });
}

buildTenantHead();
Array.prototype.forEach.call(document.querySelectorAll('#range button'), (b) => {
  b.addEventListener('click', () => {
    setWindow(Number(b.dataset.seconds));
  });
});
let saved = 0;
try {
  saved = Number(localStorage.getItem('ferry.window')) || 0;
} catch {
  saved = 0;
}
setWindow(saved || 300);
window.addEventListener('resize', () => {
  if (!state.frame) state.frame = requestAnimationFrame(render);
});
connect();

export {};
