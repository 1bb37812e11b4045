import type { DemoImage } from './demo-assets.js';
import { demoRequest, type Kind } from './demo-checks.js';

const MAX_SAMPLES = 100_000;

/** One function's share of the demo: its counters, latencies and last error. */
export interface TenantRun {
  readonly tenant: string;
  readonly socket: string;
  url: string;
  requests: number;
  errors: number;
  readonly byKind: Record<Kind, number>;
  readonly latenciesMs: number[];
  lastError?: string;
}

export function tenantRun(tenant: string, socket: string): TenantRun {
  return {
    tenant,
    socket,
    url: '',
    requests: 0,
    errors: 0,
    byKind: { ocr: 0, classify: 0, infer: 0 },
    latenciesMs: [],
  };
}

/**
 * Sends the mixed workload to every function, `concurrency` requests at a time each, until `stopping()`
 * says so; counts every answer in its tenant's run. Resolves when the last request in flight is answered.
 */
export async function runLoad(
  runs: readonly TenantRun[],
  images: { readonly texts: readonly DemoImage[]; readonly colours: readonly DemoImage[] },
  options: { readonly concurrency: number; stopping(): boolean },
): Promise<void> {
  const { concurrency } = options;
  await Promise.all(
    runs.flatMap((run) =>
      Array.from({ length: concurrency }, async (_, w) => {
        for (let i = w; !options.stopping(); i += concurrency) {
          const request = demoRequest(i, images);
          const t0 = performance.now();
          const failure = await send(run.url, request);
          run.requests++;
          run.byKind[request.kind]++;
          if (run.latenciesMs.length < MAX_SAMPLES) run.latenciesMs.push(performance.now() - t0);
          if (failure) {
            run.errors++;
            run.lastError = `${request.kind}: ${failure}`;
          }
        }
      }),
    ),
  );
}

/** Sends one request; resolves with why its answer is wrong, or undefined. */
async function send(url: string, request: ReturnType<typeof demoRequest>): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}${request.path}`, {
      method: 'POST',
      headers: { 'content-type': request.contentType },
      body: request.body,
    });
    const body = (await response.json()) as { error?: string };
    if (!response.ok) return `HTTP ${response.status}: ${body.error}`;
    return request.check(body);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
