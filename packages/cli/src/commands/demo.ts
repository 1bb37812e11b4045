import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Agent, createAgent } from '@ferry/agent';
import { type AdminServer, createAdminServer } from '@ferry/agent/admin';
import { createClient } from '@ferry/client';
import { createSandboxWatcher, HVSOCK_NAME, type SandboxEvent, type SandboxWatcher } from '@ferry/kube';
import { MAX_UNIX_PATH_BYTES } from '@ferry/transport';
import { defineCommand, hostPort, JSON_FLAG, positiveInt, UsageError } from '../command.js';
import type { Io } from '../io.js';
import { createBackends } from '../wiring.js';
import { colourImages, textImages, writeDemoModels } from './demo-assets.js';
import { runLoad, tenantRun } from './demo-load.js';
import { progressLine, summarize, table } from './demo-render.js';

export interface DemoArgs {
  readonly tenants: number;
  /** Seconds of traffic; 0 runs until Ctrl-C. Default 20. */
  readonly durationS?: number;
  readonly json: boolean;
  readonly admin?: { readonly host: string; readonly port: number };
  /** Redraw a live table (a terminal); else print a progress line now and then. */
  readonly interactive: boolean;
  /** How the functions run: processes on this machine (default), or microVMs (`--vm`, demo-vm.ts). */
  readonly launcher?: FunctionLauncher;
}

/** Starts the demo's functions, one per sandbox socket, and stops them all at the end. */
export interface FunctionLauncher {
  /** `processes`, `microVMs (tcg)`…, for the demo's first lines. */
  readonly kind: string;
  /** Starts the function of one sandbox (the agent's address for it, `unix://…/kata.hvsock_2048`); resolves with its URL. */
  start(socket: string): Promise<string>;
  /** Stops every function started; idempotent. */
  close(): Promise<void>;
}

const CONCURRENCY_PER_TENANT = 2;
const MAX_TENANTS = 64;
/** How long a function process may take to report that it listens before the demo gives up. */
const FUNCTION_START_TIMEOUT_MS = 120_000;
/** How long the agent may take to find a booted sandbox before the demo gives up. */
const SANDBOX_FOUND_TIMEOUT_MS = 10_000;

export const demoCommand = defineCommand({
  name: 'demo',
  summary:
    'the offline demo: an agent, N function processes behind Kata-style sockets, a mixed workload, the dashboard',
  synopsis: '[--tenants 4] [--duration <seconds>] [--json] [--admin <host:port>] [--vm]',
  details: 'Every answer is checked; exits 1 on any error. Ctrl-C stops the traffic early.',
  flags: {
    tenants: {
      type: 'string',
      default: '4',
      value: '<n>',
      help: `function processes, one tenant each (at most ${MAX_TENANTS})`,
    },
    duration: { type: 'string', value: '<seconds>', help: 'seconds of traffic, 0 until Ctrl-C (default 20)' },
    json: { ...JSON_FLAG, help: 'print the summary as one JSON object' },
    admin: { type: 'string', value: '<host:port>', help: 'where the dashboard listens (default 127.0.0.1, any port)' },
    vm: {
      type: 'boolean',
      default: false,
      help: 'run each function in its own QEMU microVM (KVM, else software emulation); docs/vm-tests.md',
    },
  },
  async run({ values }, { io, env, untilSignal, interactive }) {
    const tenants = positiveInt(values.tenants, 'tenants') ?? 4;
    if (tenants > MAX_TENANTS) throw new UsageError(`--tenants is at most ${MAX_TENANTS}`);
    const duration = values.duration === undefined ? undefined : Number(values.duration);
    if (duration !== undefined && (!Number.isFinite(duration) || duration < 0)) {
      throw new UsageError('--duration must be a number of seconds (0: until Ctrl-C)');
    }
    const launcher = values.vm
      ? await (await import('./demo-vm.js')).createVmLauncher({ env, log: (line) => io.err(line) })
      : undefined;
    return runDemo(
      {
        tenants,
        json: values.json,
        ...(launcher ? { launcher } : {}),
        ...(duration === undefined ? {} : { durationS: duration }),
        ...(values.admin ? { admin: hostPort(values.admin, 'admin') } : {}),
        interactive: interactive && !values.json,
      },
      io,
      untilSignal(),
    );
  },
});

/**
 * The offline demo: one agent watching a Kata-shaped runtime directory (`ferry agent --kata-root <dir>`), N
 * sandboxes booting there (a Firecracker stand-in binds `<dir>/<sandbox-id>/root/kata.hvsock`; the agent finds
 * each and listens on `kata.hvsock_2048`), N function processes (`ferry serve`) connecting there as their
 * guests would, each its own tenant, and a mixed workload (OCR and
 * classification of images rendered here, OIP v2 inference) through their HTTP APIs; every answer is
 * checked. Ends with a summary; exits non-zero on any error.
 */
export async function runDemo(args: DemoArgs, io: Io, stop: Promise<unknown>): Promise<number> {
  const durationS = args.durationS ?? 20;
  const dir = await mkdtemp(join(tmpdir(), 'fd-'));
  const launcher = args.launcher ?? processLauncher();
  const vms: Server[] = [];
  let agent: Agent | undefined;
  let watcher: SandboxWatcher | undefined;
  let admin: AdminServer | undefined;
  const say = (line: string) => {
    if (!args.json) io.out(line);
  };
  try {
    await writeDemoModels(join(dir, 'models'));
    const kataRoot = join(dir, 'fc');
    await mkdir(kataRoot);
    agent = await createAgent({ backends: createBackends(), modelDir: join(dir, 'models') });
    const found = sandboxEvents();
    watcher = await createSandboxWatcher({ agent, roots: [kataRoot], onEvent: found.onEvent });
    say(`agent: watching ${kataRoot} for Kata sandboxes (ferry agent --kata-root ${kataRoot})`);
    admin = await createAdminServer({
      agent,
      source: watcher,
      host: args.admin?.host ?? '127.0.0.1',
      port: args.admin?.port ?? 0,
    });
    const ids = sandboxIds(kataRoot, args.tenants);
    const served = ids.map((id) => found.listening(id));
    for (const wait of served) wait.catch(() => {}); // awaited below; a boot failure must not leave them unhandled
    for (const id of ids) vms.push(await bootSandbox(kataRoot, id));
    const runs = (await Promise.all(served)).map((e) => tenantRun(e.sandboxId, e.address));
    say(
      `sandboxes: ${runs.length} booted; the agent found each and serves it as its own tenant, e.g.\n  ${runs[0]?.socket}`,
    );
    say(`dashboard: ${admin.address}/   (metrics: ${admin.address}/metrics)`);
    const [texts, colours] = await Promise.all([textImages(), colourImages(), warmUp(runs[0]?.socket)]);
    await Promise.all(
      runs.map(async (run) => {
        run.url = await launcher.start(run.socket);
      }),
    );
    say(`functions (${launcher.kind}): ${runs.map((r) => `${r.tenant.slice(0, 8)}… ${r.url}`).join(', ')}`);
    say(durationS > 0 ? `traffic for ${durationS} s (Ctrl-C stops early)…` : 'traffic until Ctrl-C…');

    let stopping = false;
    void Promise.race([stop, durationS > 0 ? delay(durationS * 1000) : new Promise(() => {})]).then(() => {
      stopping = true;
    });
    const started = performance.now();
    const progress = setInterval(() => {
      if (args.json) return;
      if (args.interactive) io.out(`\x1b[${runs.length + 2}A\x1b[J${table(runs, performance.now() - started)}`);
      else io.out(progressLine(runs, performance.now() - started));
    }, 1000);
    if (args.interactive && !args.json) io.out(table(runs, 0));
    await runLoad(runs, { texts, colours }, { concurrency: CONCURRENCY_PER_TENANT, stopping: () => stopping });
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
    await launcher.close();
    await watcher?.close();
    await Promise.all(vms.map((vm) => new Promise((resolve) => vm.close(resolve))));
    await admin?.close();
    await agent?.close();
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

/** Sandbox ids for `count` sandboxes under `root`: 64 hex digits, like Kata's, shortened only if `root` is too long. */
function sandboxIds(root: string, count: number): string[] {
  const overhead = Buffer.byteLength(join(root, 'x', 'root', `${HVSOCK_NAME}_2048`)) - 1;
  const idLength = Math.max(8, Math.min(64, MAX_UNIX_PATH_BYTES - overhead));
  return Array.from({ length: count }, () => randomBytes(32).toString('hex').slice(0, idLength));
}

/** What Firecracker does as a Kata sandbox boots: binds `<root>/<id>/root/kata.hvsock` (its host-side vsock socket). */
async function bootSandbox(root: string, id: string): Promise<Server> {
  await mkdir(join(root, id, 'root'), { recursive: true });
  // Host-initiated connections (`CONNECT <port>`) are not part of the demo: close them.
  const vm = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    vm.once('error', reject);
    vm.listen(join(root, id, 'root', HVSOCK_NAME), resolve);
  });
  return vm;
}

/** Waits for the watcher to serve sandboxes: `listening(id)` resolves with its event, or rejects after a while. */
function sandboxEvents() {
  const seen = new Map<string, Extract<SandboxEvent, { type: 'listening' }>>();
  const waiting = new Map<string, (event: Extract<SandboxEvent, { type: 'listening' }>) => void>();
  return {
    onEvent(event: SandboxEvent) {
      if (event.type !== 'listening') return;
      seen.set(event.sandboxId, event);
      waiting.get(event.sandboxId)?.(event);
    },
    listening(id: string): Promise<Extract<SandboxEvent, { type: 'listening' }>> {
      const event = seen.get(id);
      if (event) return Promise.resolve(event);
      let timer: NodeJS.Timeout | undefined;
      return new Promise<Extract<SandboxEvent, { type: 'listening' }>>((resolve, reject) => {
        waiting.set(id, resolve);
        timer = setTimeout(
          () => reject(new Error(`the agent did not find sandbox ${id} within ${SANDBOX_FOUND_TIMEOUT_MS / 1000} s`)),
          SANDBOX_FOUND_TIMEOUT_MS,
        );
      }).finally(() => {
        clearTimeout(timer);
        waiting.delete(id);
      });
    },
  };
}

/** Functions as `ferry serve` processes of this same CLI. */
function processLauncher(): FunctionLauncher {
  const children: ChildProcess[] = [];
  return {
    kind: 'processes',
    start: (socket) => startFunction(socket, children),
    close: async () => {
      await Promise.all(children.map(stopChild));
    },
  };
}

/**
 * Starts `ferry serve` (this same CLI) for one sandbox socket address and adds it to `children` at once (so it is
 * stopped whatever happens next); resolves with its URL, rejects if it exits or stays silent too long.
 */
async function startFunction(address: string, children: ChildProcess[]): Promise<string> {
  const self = import.meta.url.endsWith('.ts') ? '../bin.ts' : '../bin.js';
  const entry = fileURLToPath(new URL(self, import.meta.url));
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      entry,
      'serve',
      '--address',
      address,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  let out = '';
  let timer: NodeJS.Timeout | undefined;
  return new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      const match = /"event":"listening","url":"([^"]+)"/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`ferry serve exited with ${code}`)));
    timer = setTimeout(
      () => reject(new Error(`ferry serve did not report listening within ${FUNCTION_START_TIMEOUT_MS / 1000} s`)),
      FUNCTION_START_TIMEOUT_MS,
    );
  }).finally(() => clearTimeout(timer));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
