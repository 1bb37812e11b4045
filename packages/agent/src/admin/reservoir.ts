/** A bounded uniform sample of a stream of values (Vitter's algorithm R). */
export interface Reservoir {
  /** Values offered since the last clear. */
  readonly seen: number;
  /** Values held: `min(seen, capacity)`. */
  readonly size: number;
  offer(value: number): void;
  /** The held values, sorted ascending (a copy). */
  sorted(): Float64Array;
  clear(): void;
}

/** A reservoir of at most `capacity` values; its buffer is allocated on the first offer. */
export function createReservoir(capacity: number, random: () => number = Math.random): Reservoir {
  let values: Float64Array | undefined;
  let size = 0;
  let seen = 0;
  return {
    get seen() {
      return seen;
    },
    get size() {
      return size;
    },
    offer(value) {
      seen++;
      values ??= new Float64Array(capacity);
      if (size < capacity) {
        values[size++] = value;
        return;
      }
      const slot = Math.floor(random() * seen);
      if (slot < capacity) values[slot] = value;
    },
    sorted() {
      return values ? values.slice(0, size).sort() : new Float64Array(0);
    },
    clear() {
      size = 0;
      seen = 0;
    },
  };
}

/** Nearest-rank quantile of ascending `sorted` values; null when there are none. */
export function quantile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? null;
}
