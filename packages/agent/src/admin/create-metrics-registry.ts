import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import type { TenantStats } from '../agent-stats.js';
import type { CallSeries } from './admin-views.js';
import type { AgentMonitor, MonitoredAgent } from './create-agent-monitor.js';
import type { HistogramCounts } from './histogram-counts.js';

type Labels = Record<string, string>;

interface Sample {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

export interface MetricDefinition {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly collect: () => Sample[];
}

/**
 * Registers a metric whose values are read from the monitor at scrape time. prom-client's own
 * metric classes keep their values themselves, and updating them costs microseconds per call on the
 * agent's hot path (label hashing); the monitor counts in plain fields instead, and prom-client's
 * registry only renders what `get()` returns, which is how it reads every metric.
 */
export function define(registry: Registry, definition: MetricDefinition): void {
  const { name, help, type, collect } = definition;
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: collect() }),
    reset() {},
  };
  registry.registerMetric(metric as unknown as Metric);
}

type Buckets = Pick<HistogramCounts, 'bounds' | 'counts' | 'sum' | 'count'>;

function histogramSamples(name: string, labels: Labels, histogram: Buckets): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  histogram.bounds.forEach((bound, i) => {
    cumulative += histogram.counts[i] as number;
    samples.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(bound) }, value: cumulative });
  });
  samples.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: histogram.count });
  samples.push({ metricName: `${name}_sum`, labels, value: histogram.sum });
  samples.push({ metricName: `${name}_count`, labels, value: histogram.count });
  return samples;
}

/** Sums histograms of the same bounds by key. */
function sumByKey<T>(items: Iterable<T>, key: (item: T) => string, histogram: (item: T) => Buckets | undefined) {
  const sums = new Map<string, { bounds: readonly number[]; counts: Float64Array; sum: number; count: number }>();
  for (const item of items) {
    const h = histogram(item);
    if (!h) continue;
    const k = key(item);
    let target = sums.get(k);
    if (!target) {
      target = { bounds: h.bounds, counts: new Float64Array(h.counts.length), sum: 0, count: 0 };
      sums.set(k, target);
    }
    for (let i = 0; i < h.counts.length; i++) target.counts[i] = (target.counts[i] as number) + (h.counts[i] as number);
    target.sum += h.sum;
    target.count += h.count;
  }
  return sums;
}

export interface MetricsRegistryOptions {
  readonly agent: MonitoredAgent;
  readonly monitor: AgentMonitor;
  /** Node.js process metrics (`process_*`, `nodejs_*`); default true. */
  readonly defaultMetrics?: boolean;
}

/** A Prometheus registry (not prom-client's global one) with the agent's metrics, named like Triton's. */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const { agent, monitor } = options;
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const perSeries = (pick: (tenant: string, series: CallSeries) => Sample[]) => () => {
    const samples: Sample[] = [];
    for (const tenant of monitor.tenants()) {
      for (const series of tenant.series) samples.push(...pick(tenant.name, series));
    }
    return samples;
  };
  /** Adds up a histogram over a tenant's series of each model: the per (tenant, model) histograms. */
  const perModelHistogram = (name: string, histogram: (series: CallSeries) => HistogramCounts | undefined) => () =>
    [...monitor.tenants()].flatMap((tenant) =>
      [...sumByKey(tenant.series, (s) => s.model, histogram)].flatMap(([model, h]) =>
        histogramSamples(name, { tenant: tenant.name, model }, h),
      ),
    );
  /** Sums a value over a tenant's series of each model: the per (tenant, model) counters. */
  const perModel = (value: (series: CallSeries) => number) => () => {
    const samples: Sample[] = [];
    for (const tenant of monitor.tenants()) {
      const sums = new Map<string, number>();
      let any = false;
      for (const series of tenant.series) {
        if (series.inferences === 0) continue;
        any = true;
        sums.set(series.model, (sums.get(series.model) ?? 0) + value(series));
      }
      if (!any) continue;
      for (const [model, sum] of sums) samples.push({ labels: { tenant: tenant.name, model }, value: sum });
    }
    return samples;
  };
  const perTenant = (value: (stats: TenantStats) => number) => () =>
    monitor.currentTenants().map((t) => ({ labels: { tenant: t.name }, value: value(t) }));

  define(registry, {
    name: 'ferry_inference_request_success_total',
    help: 'Calls answered with OK, per tenant, model and method (model "" for calls that name none).',
    type: 'counter',
    collect: perSeries((tenant, s) =>
      s.success > 0 ? [{ labels: { tenant, model: s.model, method: s.method }, value: s.success }] : [],
    ),
  });
  define(registry, {
    name: 'ferry_inference_request_failure_total',
    help: 'Calls answered with an error, per tenant, model, method and code name.',
    type: 'counter',
    collect: perSeries((tenant, s) =>
      [...s.failures].map(([code, value]) => ({ labels: { tenant, model: s.model, method: s.method, code }, value })),
    ),
  });
  define(registry, {
    name: 'ferry_inference_count',
    help: 'Successful calls of methods that run a model (Infer, Classify, Detect, Ocr), per tenant and model.',
    type: 'counter',
    collect: perModel((s) => s.inferences),
  });
  define(registry, {
    name: 'ferry_inference_request_duration_us',
    help: 'Cumulative end-to-end duration of successful inference calls, in microseconds.',
    type: 'counter',
    collect: perModel((s) => Math.round(s.requestUs)),
  });
  define(registry, {
    name: 'ferry_inference_queue_duration_us',
    help: 'Cumulative time successful inference calls waited in the model queue, in microseconds.',
    type: 'counter',
    collect: perModel((s) => Math.round(s.queueUs)),
  });
  define(registry, {
    name: 'ferry_inference_compute_infer_duration_us',
    help: 'Cumulative time successful inference calls ran in the backend, in microseconds.',
    type: 'counter',
    collect: perModel((s) => Math.round(s.computeUs)),
  });
  define(registry, {
    name: 'ferry_request_duration_seconds',
    help: 'Duration of every call from request to response, per tenant and method.',
    type: 'histogram',
    collect: () =>
      [...monitor.tenants()].flatMap((tenant) =>
        [
          ...sumByKey(
            tenant.series,
            (s) => s.method,
            (s) => s.duration,
          ),
        ].flatMap(([method, h]) =>
          histogramSamples('ferry_request_duration_seconds', { tenant: tenant.name, method }, h),
        ),
      ),
  });
  define(registry, {
    name: 'ferry_inference_batch_size',
    help: 'Rows in the run each successful inference call ran in (batched with other requests or not), per tenant and model.',
    type: 'histogram',
    collect: perModelHistogram('ferry_inference_batch_size', (s) => s.batch),
  });
  define(registry, {
    name: 'ferry_inference_queue_duration_seconds',
    help: 'Time successful inference calls waited in the model queue (and for a batch to fill), per tenant and model.',
    type: 'histogram',
    collect: perModelHistogram('ferry_inference_queue_duration_seconds', (s) => s.queue),
  });
  define(registry, {
    name: 'ferry_inflight_requests',
    help: 'Calls being served right now, per tenant.',
    type: 'gauge',
    collect: perTenant((t) => t.inflight),
  });
  define(registry, {
    name: 'ferry_tenant_connections',
    help: 'Open guest connections, per tenant.',
    type: 'gauge',
    collect: perTenant((t) => t.connections),
  });
  define(registry, {
    name: 'ferry_tenant_sessions',
    help: 'Open sessions, per tenant.',
    type: 'gauge',
    collect: perTenant((t) => t.sessions),
  });
  define(registry, {
    name: 'ferry_tenant_models',
    help: 'Models registered, per tenant.',
    type: 'gauge',
    collect: perTenant((t) => t.models),
  });
  define(registry, {
    name: 'ferry_connections_closed_total',
    help: 'Guest connections closed, per tenant.',
    type: 'counter',
    collect: () =>
      [...monitor.tenants()]
        .filter((t) => t.connectionsClosed > 0)
        .map((t) => ({ labels: { tenant: t.name }, value: t.connectionsClosed })),
  });
  define(registry, {
    name: 'ferry_models_loaded',
    help: 'Models loaded in a backend (shared by every tenant that registered the same bytes).',
    type: 'gauge',
    collect: () => [{ labels: {}, value: agent.stats().models.loaded }],
  });
  define(registry, {
    name: 'ferry_model_loads_total',
    help: 'Models loaded into a backend (a reused model does not count).',
    type: 'counter',
    collect: () => [{ labels: {}, value: agent.stats().models.loads }],
  });
  define(registry, {
    name: 'ferry_model_unloads_total',
    help: 'Models released from a backend.',
    type: 'counter',
    collect: () => [{ labels: {}, value: monitor.modelUnloads }],
  });
  define(registry, {
    name: 'ferry_model_load_duration_seconds',
    help: 'Time to load a model into a backend, per backend.',
    type: 'histogram',
    collect: () =>
      [...monitor.modelLoadDurations()].flatMap(([backend, histogram]) =>
        histogramSamples('ferry_model_load_duration_seconds', { backend }, histogram),
      ),
  });
  define(registry, {
    name: 'ferry_backend_worker_restarts_total',
    help: 'Backend workers restarted after a crash, per backend and reason.',
    type: 'counter',
    collect: () =>
      [...monitor.workerRestarts()].map((r) => ({ labels: { backend: r.backend, reason: r.reason }, value: r.count })),
  });
  define(registry, {
    name: 'ferry_backend_fallback',
    help: 'Backends preferred over the default whose init failed (1 each), with the backend serving instead.',
    type: 'gauge',
    collect: () => {
      const backends = agent.stats().backends;
      return backends.fallbacks.map((f) => ({ labels: { backend: f.backend, using: backends.default }, value: 1 }));
    },
  });
  return registry;
}
