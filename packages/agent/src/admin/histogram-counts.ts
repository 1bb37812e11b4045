/** Prometheus-style histogram counts: one count per upper bound plus the overflow, not cumulated. */
export interface HistogramCounts {
  readonly bounds: readonly number[];
  /** `counts[i]` values fell at or below `bounds[i]` (and above the bound before); the last one, above them all. */
  readonly counts: Float64Array;
  readonly sum: number;
  readonly count: number;
  observe(value: number): void;
}

export function createHistogramCounts(bounds: readonly number[]): HistogramCounts {
  const counts = new Float64Array(bounds.length + 1);
  let sum = 0;
  let count = 0;
  return {
    bounds,
    counts,
    get sum() {
      return sum;
    },
    get count() {
      return count;
    },
    observe(value) {
      let i = 0;
      while (i < bounds.length && value > (bounds[i] as number)) i++;
      counts[i] = (counts[i] as number) + 1;
      sum += value;
      count++;
    },
  };
}
