import type { WorkerRestartMessage } from '@ferry/core';
import type { ModelLoadMessage, ModelUnloadMessage } from '../diagnostics.js';
import type { ModelStatus, WorkerRestarts } from './admin-views.js';
import { evictOldest } from './evict-oldest.js';
import { createHistogramCounts, type HistogramCounts } from './histogram-counts.js';
import { MODEL_LOAD_BUCKETS_S, type MonitorLimits } from './monitor-limits.js';

interface ModelRecord {
  readonly name: string;
  sha256: string;
  backend: string;
  loaded: number;
  loadMs: number | null;
  requests: number;
  failures: number;
  /** Successful inferences that reported the rows of their run, and the sum of those rows. */
  batchedCalls: number;
  batchedRows: number;
  lastSeen: number;
}

/**
 * The monitor's per-model bookkeeping: calls per model, loads and unloads as the agent's channels tell
 * them, load durations per backend and worker restarts per (backend, reason), each map bounded.
 */
export interface ModelRecords {
  readonly unloads: number;
  /** Counts one call of `name` (at epoch ms `at`), with the rows of the run it ran in when reported. */
  countCall(name: string, ok: boolean, at: number, batchSize?: number): void;
  onLoad(event: ModelLoadMessage, at: number): void;
  onUnload(event: ModelUnloadMessage): void;
  onWorkerRestart(event: WorkerRestartMessage): void;
  /** Loaded first, then the busiest. */
  items(): ModelStatus[];
  workerRestarts(): Iterable<WorkerRestarts>;
  loadDurations(): ReadonlyMap<string, HistogramCounts>;
}

type Limits = Pick<MonitorLimits, 'maxModels' | 'maxBackends' | 'maxRestartReasons'>;

export function createModelRecords(limits: Limits): ModelRecords {
  const models = new Map<string, ModelRecord>();
  const modelBySha = new Map<string, string>();
  const restarts = new Map<string, { backend: string; reason: string; count: number }>();
  const loadDurations = new Map<string, HistogramCounts>();
  let unloads = 0;

  const modelNamed = (name: string, at: number): ModelRecord => {
    let record = models.get(name);
    if (!record) {
      // Unloaded models go first, then the least recently used.
      if (models.size >= limits.maxModels) evictOldest(models, (m) => (m.loaded > 0 ? m.lastSeen + 1e15 : m.lastSeen));
      record = {
        name,
        sha256: '',
        backend: '',
        loaded: 0,
        loadMs: null,
        requests: 0,
        failures: 0,
        batchedCalls: 0,
        batchedRows: 0,
        lastSeen: at,
      };
      models.set(name, record);
    }
    record.lastSeen = at;
    return record;
  };

  return {
    get unloads() {
      return unloads;
    },
    countCall(name, ok, at, batchSize) {
      const record = modelNamed(name, at);
      record.requests++;
      if (!ok) record.failures++;
      if (batchSize !== undefined && batchSize >= 1) {
        record.batchedCalls++;
        record.batchedRows += batchSize;
      }
    },
    onLoad(event, at) {
      const record = modelNamed(event.name.slice(0, 256), at);
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
    },
    onUnload(event) {
      unloads++;
      const name = modelBySha.get(event.sha256);
      const record = name ? models.get(name) : undefined;
      if (record) record.loaded = Math.max(0, record.loaded - 1);
    },
    onWorkerRestart(event) {
      const backend = event.backend.slice(0, 64);
      let reason = event.reason.slice(0, 64);
      if (!restarts.has(`${backend}\u0000${reason}`) && restarts.size >= limits.maxRestartReasons) reason = 'other';
      const key = `${backend}\u0000${reason}`;
      const entry = restarts.get(key) ?? { backend, reason, count: 0 };
      entry.count++;
      restarts.set(key, entry);
    },
    items: () =>
      [...models.values()]
        .map((m) => ({
          name: m.name,
          sha256: m.sha256,
          backend: m.backend,
          loaded: m.loaded > 0,
          loadMs: m.loadMs,
          requests: m.requests,
          failures: m.failures,
          meanBatch: m.batchedCalls > 0 ? m.batchedRows / m.batchedCalls : null,
        }))
        .sort((a, b) => Number(b.loaded) - Number(a.loaded) || b.requests - a.requests || (a.name < b.name ? -1 : 1)),
    workerRestarts: () => restarts.values(),
    loadDurations: () => loadDurations,
  };
}
