/** Latency percentiles of a sample, in milliseconds. */
export interface Percentiles {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
}

export function percentiles(samplesMs: readonly number[]): Percentiles {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), mean };
}

/** Times `fn` `iterations` times after `warmup` untimed runs, one call at a time. */
export async function timeSequential(
  fn: () => Promise<unknown>,
  iterations: number,
  warmup: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

export function fmt(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`;
}

export function machine(): string {
  return `${process.platform}/${process.arch}, Node ${process.version}, ${navigatorCpu()}`;
}

function navigatorCpu(): string {
  // Imported lazily so the helpers stay usable in any context.
  const os = process.getBuiltinModule?.('node:os') as typeof import('node:os') | undefined;
  if (!os) return 'unknown CPU';
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}`;
}
