import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AdminServer, createAdminServer, createAgent } from '@ferry/agent';
import { createClient } from '@ferry/client';
import { hybridVsockPath, MAX_UNIX_PATH_BYTES } from '@ferry/transport';
import type { Io } from '../io.js';
import { createBackends } from '../wiring.js';
import { colourImages, type DemoImage, linearExpected, textImages, writeDemoModels } from './demo-assets.js';

export interface DemoArgs {
  readonly tenants: number;
  /** Seconds of traffic; 0 runs until Ctrl-C. Default 20. */
  readonly durationS?: number;
  readonly json: boolean;
  readonly admin?: { readonly host: string; readonly port: number };
  /** Redraw a live table (a terminal); else print a progress line now and then. */
  readonly interactive: boolean;
}

const KINDS = ['ocr', 'classify', 'infer'] as const;
type Kind = (typeof KINDS)[number];
const CONCURRENCY_PER_TENANT = 2;
const MAX_SAMPLES = 100_000;

interface TenantRun {
  readonly tenant: string;
  readonly socket: string;
  url: string;
  requests: number;
  errors: number;
  readonly byKind: Record<Kind, number>;
  readonly latenciesMs: number[];
  lastError?: string;
}

/**
 * The offline demo: one agent, N function processes (`ferry serve`), each its own tenant behind its own
 * Firecracker-style socket `<dir>/<sandbox-id>/root/kata.hvsock_2048`, and a mixed workload (OCR and
 * classification of images rendered here, OIP v2 inference) through their HTTP APIs; every answer is
 * checked. Ends with a summary; exits non-zero on any error.
 */
export async function runDemo(args: DemoArgs, io: Io, stop: Promise<unknown>): Promise<number> {
  const durationS = args.durationS ?? 20;
  const dir = await mkdtemp(join(tmpdir(), 'fd-'));
  const children: ChildProcess[] = [];
  let admin: AdminServer | undefined;
  const say = (line: string) => {
    if (!args.json) io.out(line);
  };
  const agent = await (async () => {
    await writeDemoModels(join(dir, 'models'));
    const sockets = await sandboxSockets(dir, args.tenants);
    return createAgent({
      backends: createBackends(),
      listen: sockets.map((path) => `unix://${path}`),
      modelDir: join(dir, 'models'),
    });
  })();
  try {
    const runs: TenantRun[] = agent.listeners.map((l) => ({
      tenant: l.tenant,
      socket: l.address,
      url: '',
      requests: 0,
      errors: 0,
      byKind: { ocr: 0, classify: 0, infer: 0 },
      latenciesMs: [],
    }));
    say(`agent: ${runs.length} tenants, one per sandbox socket, e.g.\n  ${runs[0]?.socket}`);
    admin = await createAdminServer({ agent, host: args.admin?.host ?? '127.0.0.1', port: args.admin?.port ?? 0 });
    say(`dashboard: ${admin.address}/   (metrics: ${admin.address}/metrics)`);
    const [texts, colours] = await Promise.all([textImages(), colourImages(), warmUp(runs[0]?.socket)]);
    await Promise.all(
      runs.map(async (run) => {
        const { child, url } = await startFunction(run.socket);
        children.push(child);
        run.url = url;
      }),
    );
    say(`functions: ${runs.map((r) => `${r.tenant.slice(0, 8)}… ${r.url}`).join(', ')}`);
    say(durationS > 0 ? `traffic for ${durationS} s (Ctrl-C stops early)…` : 'traffic until Ctrl-C…');

    let stopping = false;
    const stopped = Promise.race([stop, durationS > 0 ? delay(durationS * 1000) : new Promise(() => {})]).then(() => {
      stopping = true;
    });
    const started = performance.now();
    const workers = runs.flatMap((run) =>
      Array.from({ length: CONCURRENCY_PER_TENANT }, async (_, w) => {
        for (let i = w; !stopping; i += CONCURRENCY_PER_TENANT) {
          const kind = KINDS[i % KINDS.length] as Kind;
          const t0 = performance.now();
          const failure = await request(run.url, kind, i, texts, colours);
          run.requests++;
          run.byKind[kind]++;
          if (run.latenciesMs.length < MAX_SAMPLES) run.latenciesMs.push(performance.now() - t0);
          if (failure) {
            run.errors++;
            run.lastError = `${kind}: ${failure}`;
          }
        }
      }),
    );
    const progress = setInterval(() => {
      if (args.json) return;
      if (args.interactive) io.out(`\x1b[${runs.length + 2}A\x1b[J${table(runs, performance.now() - started)}`);
      else io.out(progressLine(runs, performance.now() - started));
    }, 1000);
    if (args.interactive && !args.json) io.out(table(runs, 0));
    await stopped;
    await Promise.all(workers);
    clearInterval(progress);
    const elapsedMs = performance.now() - started;
    const summary = summarize(runs, elapsedMs, admin.address);
    if (args.json) io.out(JSON.stringify(summary));
    else {
      if (args.interactive) io.out(`\x1b[${runs.length + 2}A\x1b[J`);
      io.out(`\n${table(runs, elapsedMs)}`);
      io.out(
        `\n${summary.requests} requests in ${(elapsedMs / 1000).toFixed(1)} s, ${summary.errors} errors, p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms`,
      );
      for (const run of runs.filter((r) => r.lastError))
        io.out(`  ${run.tenant.slice(0, 8)}… last error: ${run.lastError}`);
    }
    const silent = runs.some((r) => r.requests === 0);
    return summary.errors === 0 && !silent ? 0 : 1;
  } finally {
    await Promise.all(children.map(stopChild));
    await admin?.close();
    await agent.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Loads the demo's models before the traffic starts, so the figures are those of a warm agent. */
async function warmUp(address: string | undefined): Promise<void> {
  if (!address) return;
  const client = createClient({ address });
  try {
    await Promise.all(['ppocr-det', 'ppocr-cls', 'ppocr-rec', 'colour', 'linear'].map((m) => client.loadModel(m)));
  } finally {
    await client.close();
  }
}

/** `<dir>/<sandbox-id>/root/kata.hvsock_2048` for each tenant: the path shape of a Kata node. */
async function sandboxSockets(dir: string, count: number): Promise<string[]> {
  // A Kata sandbox id is 64 hex digits; shorten it only if this temp dir would overflow sun_path.
  const overhead = Buffer.byteLength(join(dir, 'x', 'root', 'kata.hvsock_2048')) - 1;
  const idLength = Math.max(8, Math.min(64, MAX_UNIX_PATH_BYTES - overhead));
  return Promise.all(
    Array.from({ length: count }, async () => {
      const id = randomBytes(32).toString('hex').slice(0, idLength);
      await mkdir(join(dir, id, 'root'), { recursive: true });
      return hybridVsockPath(join(dir, id, 'root', 'kata.hvsock'), 2048);
    }),
  );
}

/** Starts `ferry serve` (this same CLI) for one sandbox socket; resolves with its URL. */
async function startFunction(socket: string): Promise<{ child: ChildProcess; url: string }> {
  const self = import.meta.url.endsWith('.ts') ? '../bin.ts' : '../bin.js';
  const entry = fileURLToPath(new URL(self, import.meta.url));
  const child = spawn(
    process.execPath,
    [...process.execArgv, entry, 'serve', '--address', socket, '--port', '0', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      const match = /"event":"listening","url":"([^"]+)"/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`ferry serve exited with ${code}`)));
  });
  return { child, url };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** One request of `kind` to a function; resolves with why its answer is wrong, or undefined. */
async function request(
  url: string,
  kind: Kind,
  i: number,
  texts: readonly DemoImage[],
  colours: readonly DemoImage[],
): Promise<string | undefined> {
  try {
    if (kind === 'infer') {
      const x = [i % 5, 1, -2, 0.5, (i % 3) - 1, 3];
      const response = await fetch(`${url}/v2/models/linear/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: x }] }),
      });
      const body = (await response.json()) as { outputs?: { data: number[] }[]; error?: string };
      if (!response.ok) return `HTTP ${response.status}: ${body.error}`;
      const got = body.outputs?.[0]?.data ?? [];
      const want = linearExpected(x.map(Math.fround));
      const ok = got.length === want.length && got.every((v, k) => Math.abs(v - (want[k] as number)) < 1e-4);
      return ok ? undefined : `infer answered ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
    }
    const images = kind === 'ocr' ? texts : colours;
    const image = images[i % images.length] as DemoImage;
    const path = kind === 'ocr' ? '/ocr' : '/classify?model=colour&topK=1';
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': image.contentType },
      body: image.bytes,
    });
    const body = (await response.json()) as {
      lines?: { text: string }[];
      results?: { label: string }[];
      error?: string;
    };
    if (!response.ok) return `HTTP ${response.status}: ${body.error}`;
    const got = kind === 'ocr' ? (body.lines ?? []).map((l) => l.text) : [body.results?.[0]?.label ?? ''];
    return JSON.stringify(got) === JSON.stringify(image.expected)
      ? undefined
      : `answered ${JSON.stringify(got)}, expected ${JSON.stringify(image.expected)}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

function summarize(runs: readonly TenantRun[], elapsedMs: number, dashboard: string) {
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

function table(runs: readonly TenantRun[], elapsedMs: number): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const header = `${'tenant (sandbox)'.padEnd(20)}${'requests'.padStart(10)}${'req/s'.padStart(8)}${'errors'.padStart(8)}${'ocr'.padStart(7)}${'classify'.padStart(10)}${'infer'.padStart(7)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`;
  const rows = runs.map((r) => {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    return `${`${r.tenant.slice(0, 16)}…`.padEnd(20)}${String(r.requests).padStart(10)}${(r.requests / seconds).toFixed(1).padStart(8)}${String(r.errors).padStart(8)}${String(r.byKind.ocr).padStart(7)}${String(r.byKind.classify).padStart(10)}${String(r.byKind.infer).padStart(7)}${percentile(sorted, 0.5).toFixed(1).padStart(9)}${percentile(sorted, 0.99).toFixed(1).padStart(9)}`;
  });
  return [header, '-'.repeat(header.length), ...rows].join('\n');
}

function progressLine(runs: readonly TenantRun[], elapsedMs: number): string {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  return `  ${(elapsedMs / 1000).toFixed(0)} s: ${requests} requests, ${errors} errors (${runs.map((r) => r.requests).join(' / ')})`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
