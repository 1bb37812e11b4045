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
