/**
 * Deletes the entry of `map` whose `age` is smallest (the least recently used, when `age` is a last-use
 * time): the bound on every map the monitor keeps per tenant, model and series.
 */
export function evictOldest<V>(map: Map<string, V>, age: (value: V) => number): void {
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
}
