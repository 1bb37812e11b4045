import { backendChannels, codeName, type DiagnosticsChannel, type WorkerRestartMessage } from '@ferry/core';
import type { Agent, BackendStats, TenantStats } from '../create-agent.js';
import {
  agentChannels,
  type CallEndMessage,
  type ConnectionCloseMessage,
  type ModelLoadMessage,
  type ModelUnloadMessage,
} from '../diagnostics.js';
import { createHistogramCounts, type HistogramCounts } from './histogram-counts.js';
import { createLatencyWindow, type LatencyWindow } from './latency-window.js';
import { createReservoir, quantile, type Reservoir } from './reservoir.js';

/** Upper bounds of `ferry_request_duration_seconds`: a Noop takes tens of µs, an OCR seconds. */
export const REQUEST_DURATION_BUCKETS_S: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
export const MODEL_LOAD_BUCKETS_S: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const MONITOR_LIMITS = {
  /** Tenants tracked at once; beyond it the least recently active one is dropped. */
  maxTenants: 1000,
  /** Models tracked at once; beyond it the least recently used unloaded one is dropped. */
  maxModels: 1000,
  /** (method, model) series per tenant; beyond it the least recently used one is dropped. */
  maxSeriesPerTenant: 256,
  /** Distinct (backend, reason) pairs of worker restarts; further reasons count as `other`. */
  maxRestartReasons: 64,
  /** Backends whose model load durations are kept. */
  maxBackends: 16,
  /** Samples of history kept per tenant (the dashboard's charts). */
  historySize: 300,
  /** Durations sampled per tenant per sample interval (for the charts' p50/p99). */
  tickSamples: 256,
  /** The window of the status' rates and p50/p99. */
  windowMs: 60_000,
  windowSlots: 12,
  windowSamplesPerSlot: 128,
} as const;

export type MonitorLimits = { -readonly [K in keyof typeof MONITOR_LIMITS]: number };

/** Counters of one tenant's calls of one method on one model (model '' for calls without one). */
export interface CallSeries {
  readonly method: string;
  readonly model: string;
  readonly success: number;
  /** Failures by code name (`NOT_FOUND`, …). */
  readonly failures: ReadonlyMap<string, number>;
  /** Successful inference calls, and the sums of their end-to-end, queue and compute durations. */
  readonly inferences: number;
  readonly requestUs: number;
  readonly queueUs: number;
  readonly computeUs: number;
  /** Every call's duration, in seconds. */
  readonly duration: HistogramCounts;
  /** Batch sizes the successful inferences ran in, when the agent reported them. */
  readonly batch: HistogramCounts | undefined;
}

export interface TenantView {
  readonly name: string;
  /** The agent's current numbers for this tenant; undefined once the agent no longer has it. */
  readonly stats: TenantStats | undefined;
  readonly connectionsClosed: number;
  readonly series: Iterable<CallSeries>;
}

export interface WorkerRestarts {
  readonly backend: string;
  readonly reason: string;
  readonly count: number;
}

export interface SamplePoint {
  /** Calls answered per second, and those that failed. */
  readonly rps: number;
  readonly eps: number;
  /** Latency quantiles of the calls answered in the interval, in ms; null without calls. */
  readonly p50: number | null;
  readonly p99: number | null;
  readonly inflight: number;
}

export interface AdminSample {
  /** Epoch ms at the end of the interval. */
  readonly t: number;
  readonly total: SamplePoint;
  readonly tenants: readonly (SamplePoint & { readonly name: string })[];
}

export interface SeriesHistory {
  readonly rps: readonly (number | null)[];
  readonly eps: readonly (number | null)[];
  readonly p50: readonly (number | null)[];
  readonly p99: readonly (number | null)[];
  readonly inflight: readonly (number | null)[];
}

export interface AdminHistory {
  readonly intervalMs: number;
  readonly capacity: number;
  /** Epoch ms of each sample, oldest first; every series below is aligned with it (null before a tenant appeared). */
  readonly t: readonly number[];
  readonly total: SeriesHistory;
  readonly tenants: readonly (SeriesHistory & { readonly name: string })[];
}

export interface TenantStatus {
  readonly name: string;
  /** False once the agent no longer serves this tenant (kept a while for its history). */
  readonly active: boolean;
  readonly connections: number;
  readonly sessions: number;
  readonly models: number;
  readonly inflight: number;
  /** Calls answered and failed since the admin server started. */
  readonly requests: number;
  readonly failures: number;
  /** Per second, over the last minute of samples. */
  readonly requestRate: number;
  readonly failureRate: number;
  /** Over the calls of the last minute, in ms; null without calls. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface ModelStatus {
  readonly name: string;
  readonly sha256: string;
  readonly backend: string;
  /** Loaded in a backend now, as far as load/unload events tell. */
  readonly loaded: boolean;
  readonly loadMs: number | null;
  readonly requests: number;
  readonly failures: number;
}

export interface AdminStatus {
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly ready: boolean;
  readonly listeners: number;
  readonly sampleIntervalMs: number;
  readonly totals: Omit<TenantStatus, 'name' | 'active'> & { readonly tenants: number };
  readonly tenants: readonly TenantStatus[];
  /** The default backend, and the preferred ones skipped because their init failed (CUDA asked for, none found). */
  readonly backends: BackendStats;
  readonly models: {
    readonly loaded: number;
    readonly loads: number;
    readonly unloads: number;
    readonly workerRestarts: number;
    readonly items: readonly ModelStatus[];
  };
}

/** What the admin server reads of an agent. */
export type MonitoredAgent = Pick<Agent, 'listeners' | 'stats'>;

export interface AgentMonitorOptions {
  readonly agent: MonitoredAgent;
  readonly sampleIntervalMs: number;
  /** Whether the agent takes traffic (for `ready`). */
  readonly isReady: () => boolean;
  readonly limits?: Partial<MonitorLimits>;
  /** Epoch ms; monotonic by default. */
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Follows one agent through its diagnostics channels and its `stats()`: per tenant and model call
 * counters, latency windows and a bounded history, sampled on each `sample()`. Does no I/O and starts
 * no timer; its owner drives `sample()`.
 */
export interface AgentMonitor {
  readonly startedAt: number;
  /** Closes the current interval: records a point of every series' history and returns it. */
  sample(): AdminSample;
  status(): AdminStatus;
  history(): AdminHistory;
  tenants(): Iterable<TenantView>;
  /** The agent's tenants now, listeners without guests included. */
  currentTenants(): TenantStats[];
  workerRestarts(): Iterable<WorkerRestarts>;
  modelLoadDurations(): ReadonlyMap<string, HistogramCounts>;
  readonly modelUnloads: number;
  /** Stops following the agent. Idempotent. */
  close(): void;
}

/** Subscribes `handler` to `channel`; returns the unsubscribe. */
function follow<M>(channel: DiagnosticsChannel<M>, handler: (message: M) => void): () => void {
  channel.subscribe(handler);
  return () => channel.unsubscribe(handler);
}

interface MutableSeries {
  readonly method: string;
  readonly model: string;
  success: number;
  readonly failures: Map<string, number>;
  inferences: number;
  requestUs: number;
  queueUs: number;
  computeUs: number;
  readonly duration: HistogramCounts;
  batch: HistogramCounts | undefined;
  lastSeen: number;
}

/** One series' points, aligned with the monitor's ticks. */
interface Ring {
  /** Tick index of the first point written. */
  readonly firstTick: number;
  readonly requests: Float32Array;
  readonly failures: Float32Array;
  readonly p50: Float32Array;
  readonly p99: Float32Array;
  readonly inflight: Float32Array;
}

interface Tally {
  requests: number;
  failures: number;
  tickRequests: number;
  tickFailures: number;
  readonly tick: Reservoir;
  readonly window: LatencyWindow;
  readonly ring: Ring;
}

interface TenantRecord extends Tally {
  readonly name: string;
  readonly firstSeen: number;
  lastActive: number;
  stats: TenantStats | undefined;
  connectionsClosed: number;
  readonly series: Map<string, MutableSeries>;
}

interface ModelRecord {
  readonly name: string;
  sha256: string;
  backend: string;
  loaded: number;
  loadMs: number | null;
  requests: number;
  failures: number;
  lastSeen: number;
}

/** Six significant digits: what a chart needs, without float32 noise in the JSON. */
const round = (value: number) => Number(value.toPrecision(6));

export function createAgentMonitor(options: AgentMonitorOptions): AgentMonitor {
  const { agent, sampleIntervalMs, isReady } = options;
  const limits: MonitorLimits = { ...MONITOR_LIMITS, ...options.limits };
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const random = options.random ?? Math.random;
  const startedAt = now();
  const capacity = limits.historySize;

  const tenants = new Map<string, TenantRecord>();
  /** Names seen on the channels that this agent does not serve (another agent in the process), until the next sample. */
  const foreign = new Set<string>();
  const models = new Map<string, ModelRecord>();
  const modelBySha = new Map<string, string>();
  const restarts = new Map<string, { backend: string; reason: string; count: number }>();
  const loadDurations = new Map<string, HistogramCounts>();
  let modelUnloads = 0;

  let tick = 0;
  let lastTickAt = startedAt;
  const times = new Float64Array(capacity);
  const elapsed = new Float64Array(capacity);

  const newRing = (): Ring => ({
    firstTick: tick,
    requests: new Float32Array(capacity),
    failures: new Float32Array(capacity),
    p50: new Float32Array(capacity),
    p99: new Float32Array(capacity),
    inflight: new Float32Array(capacity),
  });
  const newTally = (): Tally => ({
    requests: 0,
    failures: 0,
    tickRequests: 0,
    tickFailures: 0,
    tick: createReservoir(limits.tickSamples, random),
    window: createLatencyWindow({
      windowMs: limits.windowMs,
      slots: limits.windowSlots,
      samplesPerSlot: limits.windowSamplesPerSlot,
      random,
    }),
    ring: newRing(),
  });
  const total = newTally();

  const servedByAgent = (name: string) =>
    agent.listeners.some((l) => l.tenant === name) || agent.stats().tenants.some((t) => t.name === name);

  /** The agent's tenants: those it has state for, and those with a listener but no guest yet. */
  const currentTenants = (stats = agent.stats()): TenantStats[] => {
    const list = [...stats.tenants];
    const named = new Set(list.map((t) => t.name));
    for (const { tenant } of agent.listeners) {
      if (named.has(tenant)) continue;
      named.add(tenant);
      list.push({ name: tenant, connections: 0, sessions: 0, models: 0, inflight: 0 });
    }
    return list;
  };

  const evictOldest = <V>(map: Map<string, V>, age: (value: V) => number) => {
    let oldestKey: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [key, value] of map) {
      const a = age(value);
      if (a < oldest) {
        oldest = a;
        oldestKey = key;
      }
    }
    if (oldestKey !== undefined) map.delete(oldestKey);
  };

  const addTenant = (name: string, at: number, stats?: TenantStats, served?: ReadonlySet<string>): TenantRecord => {
    if (tenants.size >= limits.maxTenants) {
      // Tenants the agent no longer serves go first, then the least recently active.
      const current = served ?? new Set(currentTenants().map((t) => t.name));
      evictOldest(tenants, (t) => (current.has(t.name) ? t.lastActive : t.lastActive - 1e15));
    }
    const record: TenantRecord = {
      ...newTally(),
      name,
      firstSeen: at,
      lastActive: at,
      stats,
      connectionsClosed: 0,
      series: new Map(),
    };
    tenants.set(name, record);
    return record;
  };

  const tenantFor = (name: string, at: number): TenantRecord | undefined => {
    const known = tenants.get(name);
    if (known) return known;
    if (foreign.has(name)) return undefined;
    if (!servedByAgent(name)) {
      if (foreign.size < limits.maxTenants) foreign.add(name);
      return undefined;
    }
    return addTenant(name, at);
  };

  const modelNamed = (name: string, at: number): ModelRecord => {
    let record = models.get(name);
    if (!record) {
      if (models.size >= limits.maxModels) {
        evictOldest(models, (m) => (m.loaded > 0 ? m.lastSeen + 1e15 : m.lastSeen));
      }
      record = { name, sha256: '', backend: '', loaded: 0, loadMs: null, requests: 0, failures: 0, lastSeen: at };
      models.set(name, record);
    }
    record.lastSeen = at;
    return record;
  };

  const seriesFor = (tenant: TenantRecord, method: string, model: string, at: number): MutableSeries => {
    const key = model === '' ? method : `${method}\u0000${model}`;
    let series = tenant.series.get(key);
    if (!series) {
      if (tenant.series.size >= limits.maxSeriesPerTenant) evictOldest(tenant.series, (s) => s.lastSeen);
      series = {
        method,
        model,
        success: 0,
        failures: new Map(),
        inferences: 0,
        requestUs: 0,
        queueUs: 0,
        computeUs: 0,
        duration: createHistogramCounts(REQUEST_DURATION_BUCKETS_S),
        batch: undefined,
        lastSeen: at,
      };
      tenant.series.set(key, series);
    }
    series.lastSeen = at;
    return series;
  };

  const count = (tally: Tally, ok: boolean, durationMs: number, at: number) => {
    tally.requests++;
    tally.tickRequests++;
    if (!ok) {
      tally.failures++;
      tally.tickFailures++;
    }
    tally.tick.offer(durationMs);
    tally.window.record(durationMs, at);
  };

  // The hot path: runs synchronously inside every call the agent answers, so it only counts.
  const onCallEnd = (event: CallEndMessage) => {
    const at = now();
    const tenant = tenantFor(event.tenant, at);
    if (!tenant) return;
    const ok = event.code === 0;
    const durationMs = event.durationMs;
    const model = event.model?.slice(0, 256) ?? '';
    tenant.lastActive = at;
    count(tenant, ok, durationMs, at);
    count(total, ok, durationMs, at);
    const series = seriesFor(tenant, event.method, model, at);
    series.duration.observe(durationMs / 1000);
    if (model !== '') {
      const record = modelNamed(model, at);
      record.requests++;
      if (!ok) record.failures++;
    }
    if (!ok) {
      const code = codeName(event.code);
      series.failures.set(code, (series.failures.get(code) ?? 0) + 1);
      return;
    }
    series.success++;
    if (!event.inference) return;
    series.inferences++;
    series.requestUs += durationMs * 1000;
    if (event.queueMs !== undefined) series.queueUs += event.queueMs * 1000;
    if (event.computeMs !== undefined) series.computeUs += event.computeMs * 1000;
    if (event.batchSize !== undefined) {
      series.batch ??= createHistogramCounts(BATCH_SIZE_BUCKETS);
      series.batch.observe(event.batchSize);
    }
  };

  const onConnectionClose = (event: ConnectionCloseMessage) => {
    const at = now();
    const tenant = tenantFor(event.tenant, at);
    if (!tenant) return;
    tenant.connectionsClosed++;
    tenant.lastActive = at;
  };

  const onModelLoad = (event: ModelLoadMessage) => {
    const record = modelNamed(event.name.slice(0, 256), now());
    record.sha256 = event.sha256.slice(0, 64);
    if (modelBySha.size >= limits.maxModels) modelBySha.clear();
    modelBySha.set(record.sha256, record.name);
    const backend = event.backend.slice(0, 64);
    record.backend = backend;
    record.loaded++;
    record.loadMs = event.durationMs;
    let histogram = loadDurations.get(backend);
    if (!histogram) {
      if (loadDurations.size >= limits.maxBackends) return;
      histogram = createHistogramCounts(MODEL_LOAD_BUCKETS_S);
      loadDurations.set(backend, histogram);
    }
    histogram.observe(event.durationMs / 1000);
  };

  const onModelUnload = (event: ModelUnloadMessage) => {
    modelUnloads++;
    const name = modelBySha.get(event.sha256);
    const record = name ? models.get(name) : undefined;
    if (record) record.loaded = Math.max(0, record.loaded - 1);
  };

  const onWorkerRestart = (event: WorkerRestartMessage) => {
    const backend = event.backend.slice(0, 64);
    let reason = event.reason.slice(0, 64);
    if (!restarts.has(`${backend}\u0000${reason}`) && restarts.size >= limits.maxRestartReasons) reason = 'other';
    const key = `${backend}\u0000${reason}`;
    const entry = restarts.get(key) ?? { backend, reason, count: 0 };
    entry.count++;
    restarts.set(key, entry);
  };

  const unsubscribes = [
    follow(agentChannels.callEnd, onCallEnd),
    follow(agentChannels.connectionClose, onConnectionClose),
    follow(agentChannels.modelLoad, onModelLoad),
    follow(agentChannels.modelUnload, onModelUnload),
    follow(backendChannels.workerRestart, onWorkerRestart),
  ];
  let closed = false;

  /** Writes the interval's point of one tally into its ring and starts the next interval. */
  const closeInterval = (tally: Tally, seconds: number, inflight: number): SamplePoint => {
    const sorted = tally.tick.sorted();
    const point = {
      rps: tally.tickRequests / seconds,
      eps: tally.tickFailures / seconds,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      inflight,
    };
    const at = tick % capacity;
    tally.ring.requests[at] = tally.tickRequests;
    tally.ring.failures[at] = tally.tickFailures;
    tally.ring.p50[at] = point.p50 ?? Number.NaN;
    tally.ring.p99[at] = point.p99 ?? Number.NaN;
    tally.ring.inflight[at] = inflight;
    tally.tickRequests = 0;
    tally.tickFailures = 0;
    tally.tick.clear();
    return point;
  };

  /** Rates over the last minute of samples (or what the history holds). */
  const rates = (tally: Tally) => {
    const span = Math.min(tick - tally.ring.firstTick, capacity, Math.ceil(limits.windowMs / sampleIntervalMs));
    let requests = 0;
    let failures = 0;
    let ms = 0;
    for (let k = 1; k <= span; k++) {
      const at = (tick - k) % capacity;
      requests += tally.ring.requests[at] as number;
      failures += tally.ring.failures[at] as number;
      ms += elapsed[at] as number;
    }
    return ms > 0
      ? { requestRate: (requests * 1000) / ms, failureRate: (failures * 1000) / ms }
      : { requestRate: 0, failureRate: 0 };
  };

  const tenantStatus = (record: TenantRecord, at: number): TenantStatus => {
    const [p50Ms = null, p99Ms = null] = record.window.quantiles([0.5, 0.99], at);
    return {
      name: record.name,
      active: record.stats !== undefined,
      connections: record.stats?.connections ?? 0,
      sessions: record.stats?.sessions ?? 0,
      models: record.stats?.models ?? 0,
      inflight: record.stats?.inflight ?? 0,
      requests: record.requests,
      failures: record.failures,
      ...rates(record),
      p50Ms,
      p99Ms,
    };
  };

  const refreshStats = (at: number) => {
    const stats = agent.stats();
    const current = currentTenants(stats);
    const present = new Set(current.map((s) => s.name));
    for (const s of current) {
      const record = tenants.get(s.name);
      if (record) record.stats = s;
      else addTenant(s.name, at, s, present);
    }
    for (const record of tenants.values()) {
      if (present.has(record.name)) record.lastActive = Math.max(record.lastActive, at);
      else record.stats = undefined;
    }
    return stats;
  };

  const seriesHistory = (ring: Ring, count: number): SeriesHistory => {
    const pick = (values: Float32Array, scale: (v: number, at: number) => number | null) =>
      Array.from({ length: count }, (_, k) => {
        const t = tick - count + k;
        if (t < ring.firstTick) return null;
        const at = t % capacity;
        const v = values[at] as number;
        return Number.isNaN(v) ? null : scale(v, at);
      });
    const perSecond = (v: number, at: number) => round((v * 1000) / ((elapsed[at] as number) || sampleIntervalMs));
    const same = (v: number) => round(v);
    return {
      rps: pick(ring.requests, perSecond),
      eps: pick(ring.failures, perSecond),
      p50: pick(ring.p50, same),
      p99: pick(ring.p99, same),
      inflight: pick(ring.inflight, same),
    };
  };

  return {
    startedAt,
    get modelUnloads() {
      return modelUnloads;
    },
    sample() {
      const at = now();
      const seconds = Math.max(at - lastTickAt, 1) / 1000;
      foreign.clear();
      refreshStats(at);
      let inflight = 0;
      const points: (SamplePoint & { name: string })[] = [];
      for (const record of tenants.values()) {
        const recordInflight = record.stats?.inflight ?? 0;
        inflight += recordInflight;
        points.push({ name: record.name, ...closeInterval(record, seconds, recordInflight) });
      }
      const totalPoint = closeInterval(total, seconds, inflight);
      times[tick % capacity] = at;
      elapsed[tick % capacity] = at - lastTickAt;
      lastTickAt = at;
      tick++;
      // A tenant the agent dropped stays until its history has scrolled off the charts.
      const retentionMs = capacity * sampleIntervalMs;
      for (const record of tenants.values()) {
        if (!record.stats && at - record.lastActive > retentionMs) tenants.delete(record.name);
      }
      return { t: at, total: totalPoint, tenants: points };
    },
    status() {
      const at = now();
      const stats = refreshStats(at);
      const list = [...tenants.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const tenantsStatus = list.map((record) => tenantStatus(record, at));
      const sum = (pick: (t: TenantStatus) => number) => tenantsStatus.reduce((n, t) => n + pick(t), 0);
      const [p50Ms = null, p99Ms = null] = total.window.quantiles([0.5, 0.99], at);
      const modelItems = [...models.values()]
        .map((m) => ({
          name: m.name,
          sha256: m.sha256,
          backend: m.backend,
          loaded: m.loaded > 0,
          loadMs: m.loadMs,
          requests: m.requests,
          failures: m.failures,
        }))
        .sort((a, b) => Number(b.loaded) - Number(a.loaded) || b.requests - a.requests || (a.name < b.name ? -1 : 1));
      return {
        startedAt: new Date(startedAt).toISOString(),
        uptimeSeconds: Math.max(0, (at - startedAt) / 1000),
        ready: isReady(),
        listeners: agent.listeners.length,
        sampleIntervalMs,
        totals: {
          tenants: tenantsStatus.filter((t) => t.active).length,
          connections: sum((t) => t.connections),
          sessions: sum((t) => t.sessions),
          models: sum((t) => t.models),
          inflight: sum((t) => t.inflight),
          requests: total.requests,
          failures: total.failures,
          ...rates(total),
          p50Ms,
          p99Ms,
        },
        tenants: tenantsStatus,
        backends: stats.backends,
        models: {
          loaded: stats.models.loaded,
          loads: stats.models.loads,
          unloads: modelUnloads,
          workerRestarts: [...restarts.values()].reduce((n, r) => n + r.count, 0),
          items: modelItems,
        },
      };
    },
    history() {
      const count = Math.min(tick, capacity);
      const t = Array.from({ length: count }, (_, k) => times[(tick - count + k) % capacity] as number);
      return {
        intervalMs: sampleIntervalMs,
        capacity,
        t,
        total: seriesHistory(total.ring, count),
        tenants: [...tenants.values()].map((r) => ({ name: r.name, ...seriesHistory(r.ring, count) })),
      };
    },
    *tenants() {
      for (const record of tenants.values()) {
        yield {
          name: record.name,
          stats: record.stats,
          connectionsClosed: record.connectionsClosed,
          series: record.series.values(),
        };
      }
    },
    currentTenants: () => currentTenants(),
    workerRestarts: () => restarts.values(),
    modelLoadDurations: () => loadDurations,
    close() {
      if (closed) return;
      closed = true;
      for (const unsubscribe of unsubscribes) unsubscribe();
    },
  };
}
