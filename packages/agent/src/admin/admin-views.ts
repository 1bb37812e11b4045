// The JSON the admin server serves (`/api/status`, `/api/events`) and what the monitor exposes to the
// metrics registry. Pure types: the dashboard's script is checked against them too.
import type { BackendStats, TenantStats } from '../agent-stats.js';
import type { HistogramCounts } from './histogram-counts.js';

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
  /** Time the successful inferences waited in the model queue (and for a batch), in seconds. */
  readonly queue: HistogramCounts | undefined;
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
  /**
   * Mean rows of the runs its successful inferences ran in (1 when none was batched with another request);
   * null before any. Over 1 means dynamic batching is stacking requests, from one tenant or several.
   */
  readonly meanBatch: number | null;
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
