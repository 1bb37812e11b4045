import type { TenantRun } from './demo-load.js';

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The demo's result, as `--json` prints it. */
export function summarize(runs: readonly TenantRun[], elapsedMs: number, dashboard: string) {
  const all = runs.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  return {
    tenants: runs.length,
    requests: runs.reduce((n, r) => n + r.requests, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    p50Ms: round(percentile(all, 0.5)),
    p99Ms: round(percentile(all, 0.99)),
    durationS: round(elapsedMs / 1000),
    dashboard,
    perTenant: runs.map((r) => {
      const sorted = [...r.latenciesMs].sort((a, b) => a - b);
      return {
        tenant: r.tenant,
        requests: r.requests,
        errors: r.errors,
        p50Ms: round(percentile(sorted, 0.5)),
        p99Ms: round(percentile(sorted, 0.99)),
        ...r.byKind,
        ...(r.lastError ? { lastError: r.lastError } : {}),
      };
    }),
  };
}

/** The live per-tenant table. */
export function table(runs: readonly TenantRun[], elapsedMs: number): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const header = `${'tenant (sandbox)'.padEnd(20)}${'requests'.padStart(10)}${'req/s'.padStart(8)}${'errors'.padStart(8)}${'ocr'.padStart(7)}${'classify'.padStart(10)}${'infer'.padStart(7)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`;
  const rows = runs.map((r) => {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    return `${`${r.tenant.slice(0, 16)}…`.padEnd(20)}${String(r.requests).padStart(10)}${(r.requests / seconds).toFixed(1).padStart(8)}${String(r.errors).padStart(8)}${String(r.byKind.ocr).padStart(7)}${String(r.byKind.classify).padStart(10)}${String(r.byKind.infer).padStart(7)}${percentile(sorted, 0.5).toFixed(1).padStart(9)}${percentile(sorted, 0.99).toFixed(1).padStart(9)}`;
  });
  return [header, '-'.repeat(header.length), ...rows].join('\n');
}

/** One line of progress, for output that is not a terminal. */
export function progressLine(runs: readonly TenantRun[], elapsedMs: number): string {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  return `  ${(elapsedMs / 1000).toFixed(0)} s: ${requests} requests, ${errors} errors (${runs.map((r) => r.requests).join(' / ')})`;
}
