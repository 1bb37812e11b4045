import { backendChannels, codeName, type DiagnosticsChannel } from '@ferry/core';
import type { TenantStats } from '../agent-stats.js';
import type { Agent } from '../create-agent.js';
import { agentChannels, type CallEndMessage, type ConnectionCloseMessage } from '../diagnostics.js';
import type {
  AdminHistory,
  AdminSample,
  AdminStatus,
  SamplePoint,
  TenantStatus,
  TenantView,
  WorkerRestarts,
} from './admin-views.js';
import { evictOldest } from './evict-oldest.js';
import { createHistogramCounts, type HistogramCounts } from './histogram-counts.js';
import { createHistoryRing, type Ring } from './history-ring.js';
import { createLatencyWindow, type LatencyWindow } from './latency-window.js';
import { createModelRecords } from './model-records.js';
import {
  BATCH_SIZE_BUCKETS,
  MONITOR_LIMITS,
  type MonitorLimits,
  REQUEST_DURATION_BUCKETS_S,
} from './monitor-limits.js';
import { createReservoir, quantile, type Reservoir } from './reservoir.js';

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
  queue: HistogramCounts | undefined;
  lastSeen: number;
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

export function createAgentMonitor(options: AgentMonitorOptions): AgentMonitor {
  const { agent, sampleIntervalMs, isReady } = options;
  const limits: MonitorLimits = { ...MONITOR_LIMITS, ...options.limits };
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const random = options.random ?? Math.random;
  const startedAt = now();
  const history = createHistoryRing({ capacity: limits.historySize, intervalMs: sampleIntervalMs, startedAt });

  const tenants = new Map<string, TenantRecord>();
  /** Names seen on the channels that this agent does not serve (another agent in the process), until the next sample. */
  const foreign = new Set<string>();
  const models = createModelRecords(limits);

  let lastTickAt = startedAt;
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
    ring: history.newRing(),
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
        queue: undefined,
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
    if (model !== '') models.countCall(model, ok, at, ok ? event.batchSize : undefined);
    if (!ok) {
      const code = codeName(event.code);
      series.failures.set(code, (series.failures.get(code) ?? 0) + 1);
      return;
    }
    series.success++;
    if (!event.inference) return;
    series.inferences++;
    series.requestUs += durationMs * 1000;
    if (event.queueMs !== undefined) {
      series.queueUs += event.queueMs * 1000;
      series.queue ??= createHistogramCounts(REQUEST_DURATION_BUCKETS_S);
      series.queue.observe(event.queueMs / 1000);
    }
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

  const unsubscribes = [
    follow(agentChannels.callEnd, onCallEnd),
    follow(agentChannels.connectionClose, onConnectionClose),
    follow(agentChannels.modelLoad, (event) => models.onLoad(event, now())),
    follow(agentChannels.modelUnload, (event) => models.onUnload(event)),
    follow(backendChannels.workerRestart, (event) => models.onWorkerRestart(event)),
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
    history.write(tally.ring, {
      requests: tally.tickRequests,
      failures: tally.tickFailures,
      p50: point.p50,
      p99: point.p99,
      inflight,
    });
    tally.tickRequests = 0;
    tally.tickFailures = 0;
    tally.tick.clear();
    return point;
  };

  /** Rates over the last minute of samples (or what the history holds). */
  const rates = (tally: Tally) => history.rates(tally.ring, Math.ceil(limits.windowMs / sampleIntervalMs));

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

  return {
    startedAt,
    get modelUnloads() {
      return models.unloads;
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
      history.advance(at);
      lastTickAt = at;
      // A tenant the agent dropped stays until its history has scrolled off the charts.
      const retentionMs = history.capacity * sampleIntervalMs;
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
          unloads: models.unloads,
          workerRestarts: [...models.workerRestarts()].reduce((n, r) => n + r.count, 0),
          items: models.items(),
        },
      };
    },
    history() {
      const count = Math.min(history.ticks, history.capacity);
      return {
        intervalMs: sampleIntervalMs,
        capacity: history.capacity,
        t: history.times(count),
        total: history.series(total.ring, count),
        tenants: [...tenants.values()].map((r) => ({ name: r.name, ...history.series(r.ring, count) })),
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
    workerRestarts: () => models.workerRestarts(),
    modelLoadDurations: () => models.loadDurations(),
    close() {
      if (closed) return;
      closed = true;
      for (const unsubscribe of unsubscribes) unsubscribe();
    },
  };
}
