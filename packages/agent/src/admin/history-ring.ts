import type { SeriesHistory } from './admin-views.js';

/** One series' points, aligned with the history's ticks. */
export interface Ring {
  /** Tick index of the first point written. */
  readonly firstTick: number;
  readonly requests: Float32Array;
  readonly failures: Float32Array;
  readonly p50: Float32Array;
  readonly p99: Float32Array;
  readonly inflight: Float32Array;
}

/** What one sample interval recorded for one series. */
export interface IntervalPoint {
  readonly requests: number;
  readonly failures: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly inflight: number;
}

/**
 * The dashboard's history: a ring of `capacity` sample intervals (their end time and length) shared by
 * every series, each series a ring of points aligned with it. Fixed memory per series, whatever the uptime.
 */
export interface HistoryRing {
  readonly capacity: number;
  /** Intervals closed so far. */
  readonly ticks: number;
  /** A ring for a series that starts now. */
  newRing(): Ring;
  /** Writes the current interval's point of one series. */
  write(ring: Ring, point: IntervalPoint): void;
  /** Closes the current interval, which ended at epoch ms `at`. */
  advance(at: number): void;
  /** Requests and failures per second over at most the last `maxTicks` intervals of `ring`. */
  rates(ring: Ring, maxTicks: number): { requestRate: number; failureRate: number };
  /** The last `count` points of `ring` (null before it started or where it had no value). */
  series(ring: Ring, count: number): SeriesHistory;
  /** End times of the last `count` intervals, oldest first. */
  times(count: number): number[];
}

/** Six significant digits: what a chart needs, without float32 noise in the JSON. */
const round = (value: number) => Number(value.toPrecision(6));

export function createHistoryRing(options: {
  readonly capacity: number;
  readonly intervalMs: number;
  readonly startedAt: number;
}): HistoryRing {
  const { capacity, intervalMs } = options;
  let tick = 0;
  let lastTickAt = options.startedAt;
  const times = new Float64Array(capacity);
  const elapsed = new Float64Array(capacity);

  return {
    capacity,
    get ticks() {
      return tick;
    },
    newRing: () => ({
      firstTick: tick,
      requests: new Float32Array(capacity),
      failures: new Float32Array(capacity),
      p50: new Float32Array(capacity),
      p99: new Float32Array(capacity),
      inflight: new Float32Array(capacity),
    }),
    write(ring, point) {
      const at = tick % capacity;
      ring.requests[at] = point.requests;
      ring.failures[at] = point.failures;
      ring.p50[at] = point.p50 ?? Number.NaN;
      ring.p99[at] = point.p99 ?? Number.NaN;
      ring.inflight[at] = point.inflight;
    },
    advance(at) {
      times[tick % capacity] = at;
      elapsed[tick % capacity] = at - lastTickAt;
      lastTickAt = at;
      tick++;
    },
    rates(ring, maxTicks) {
      const span = Math.min(tick - ring.firstTick, capacity, maxTicks);
      let requests = 0;
      let failures = 0;
      let ms = 0;
      for (let k = 1; k <= span; k++) {
        const at = (tick - k) % capacity;
        requests += ring.requests[at] as number;
        failures += ring.failures[at] as number;
        ms += elapsed[at] as number;
      }
      return ms > 0
        ? { requestRate: (requests * 1000) / ms, failureRate: (failures * 1000) / ms }
        : { requestRate: 0, failureRate: 0 };
    },
    series(ring, count) {
      const pick = (values: Float32Array, scale: (v: number, at: number) => number | null) =>
        Array.from({ length: count }, (_, k) => {
          const t = tick - count + k;
          if (t < ring.firstTick) return null;
          const at = t % capacity;
          const v = values[at] as number;
          return Number.isNaN(v) ? null : scale(v, at);
        });
      const perSecond = (v: number, at: number) => round((v * 1000) / ((elapsed[at] as number) || intervalMs));
      const same = (v: number) => round(v);
      return {
        rps: pick(ring.requests, perSecond),
        eps: pick(ring.failures, perSecond),
        p50: pick(ring.p50, same),
        p99: pick(ring.p99, same),
        inflight: pick(ring.inflight, same),
      };
    },
    times: (count) => Array.from({ length: count }, (_, k) => times[(tick - count + k) % capacity] as number),
  };
}
