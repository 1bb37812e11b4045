import { createReservoir, type Reservoir } from './reservoir.js';

/**
 * Quantiles of the durations recorded over a sliding time window, in bounded memory at any call rate:
 * the window is cut into slots, each keeping a uniform sample of its values and how many it saw, and
 * a quantile weighs each sampled value by the share of its slot it stands for.
 */
export interface LatencyWindow {
  record(value: number, atMs: number): void;
  /** Values recorded in the window that ends at `atMs`. */
  count(atMs: number): number;
  /** Weighted nearest-rank quantiles of the window that ends at `atMs`; null when it is empty. */
  quantiles(qs: readonly number[], atMs: number): (number | null)[];
}

export interface LatencyWindowOptions {
  readonly windowMs: number;
  readonly slots: number;
  /** Values sampled per slot. */
  readonly samplesPerSlot: number;
  readonly random?: () => number;
}

interface Slot {
  index: number;
  readonly reservoir: Reservoir;
}

export function createLatencyWindow(options: LatencyWindowOptions): LatencyWindow {
  const slotMs = options.windowMs / options.slots;
  const slots: Slot[] = Array.from({ length: options.slots }, () => ({
    index: Number.NEGATIVE_INFINITY,
    reservoir: createReservoir(options.samplesPerSlot, options.random),
  }));
  const live = (atMs: number) => {
    const current = Math.floor(atMs / slotMs);
    return slots.filter((s) => s.index > current - options.slots && s.index <= current);
  };
  return {
    record(value, atMs) {
      const index = Math.floor(atMs / slotMs);
      const slot = slots[index % options.slots] as Slot;
      if (slot.index !== index) {
        slot.index = index;
        slot.reservoir.clear();
      }
      slot.reservoir.offer(value);
    },
    count(atMs) {
      return live(atMs).reduce((n, s) => n + s.reservoir.seen, 0);
    },
    quantiles(qs, atMs) {
      const weighted: { value: number; weight: number }[] = [];
      let total = 0;
      for (const { reservoir } of live(atMs)) {
        if (reservoir.size === 0) continue;
        const weight = reservoir.seen / reservoir.size;
        for (const value of reservoir.sorted()) weighted.push({ value, weight });
        total += reservoir.seen;
      }
      if (weighted.length === 0) return qs.map(() => null);
      weighted.sort((a, b) => a.value - b.value);
      return qs.map((q) => {
        const target = Math.max(q * total, Number.MIN_VALUE);
        let cumulative = 0;
        for (const { value, weight } of weighted) {
          cumulative += weight;
          // A little slack for float error in the running sum.
          if (cumulative >= target - 1e-9 * total) return value;
        }
        return (weighted[weighted.length - 1] as { value: number }).value;
      });
    },
  };
}
