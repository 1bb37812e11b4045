import {
  type AgentLimits,
  agentChannels,
  type BackendFallbackMessage,
  createAgent,
  DEFAULT_LIMITS,
  type ListenSpec,
} from '@ferry/agent';
import { createAdminServer } from '@ferry/agent/admin';
import {
  createCriClient,
  createSandboxWatcher,
  criPodResolver,
  DEFAULT_VSOCK_PORT,
  KATA_ROOTS,
  type SandboxEvent,
  type SandboxWatcher,
} from '@ferry/kube';
import { type Logger, pino } from 'pino';
import { defineCommand, hostPort, LOG_LEVEL_FLAG, positiveInt, UsageError } from '../command.js';
import { createBackends } from '../wiring.js';

/** How long a stopping agent waits for the calls in flight before it drops them. */
const DRAIN_MS = 4000;

export const agentCommand = defineCommand({
  name: 'agent',
  summary:
    'serve ferry.v1.Accelerator (and vAccel v1/v3) to every Kata sandbox of the node (or each --listen address), one tenant each',
  synopsis: '[--kata-root <dir> …] [--listen <address> [--tenant <id>] …] [options]',
  details: `A tenant is the listener a connection arrived on. Node mode (the default, or --kata-root): the agent
finds every Firecracker sandbox under the Kata roots (default ${KATA_ROOTS.join(', ')}) and listens on
<sandbox>/root/kata.hvsock_<vsock-port> for each, named by its sandbox id; with --cri-socket, by its pod too.
Per-sandbox mode (--listen only): serve the given addresses, e.g.
  ferry agent --listen unix:///run/vc/firecracker/<id>/root/kata.hvsock_2048 --tenant <id>
Limits: ${Object.keys(DEFAULT_LIMITS).join(', ')} (see docs/troubleshooting.md). Stops on SIGINT/SIGTERM after
answering calls in flight (at most ${DRAIN_MS / 1000} s); a second signal stops now.`,
  flags: {
    listen: { type: 'string', multiple: true, value: '<address>', help: 'unix:///path or tcp://host:port to serve' },
    tenant: { type: 'string', value: '<id>', help: 'the tenant of the --listen address (default: its sandbox id)' },
    'kata-root': {
      type: 'string',
      multiple: true,
      value: '<dir>',
      help: `watch <dir>/<sandbox-id>/[root/]kata.hvsock (default without --listen: ${KATA_ROOTS.join(', ')})`,
    },
    'vsock-port': {
      type: 'string',
      value: '<port>',
      help: `guest vsock port served in each sandbox: kata.hvsock_<port> (default ${DEFAULT_VSOCK_PORT})`,
    },
    'socket-mode': { type: 'string', value: '<octal>', help: 'permission bits of the unix sockets (default 0660)' },
    'cri-socket': {
      type: 'string',
      value: '<path>',
      help: 'CRI runtime socket that names the pods (e.g. /run/containerd/containerd.sock)',
    },
    'model-dir': { type: 'string', value: '<dir>', help: 'model repository: <dir>/<name>/model.onnx + ferry.json' },
    'vaccel-classifier': {
      type: 'string',
      value: '<name>',
      help: "the repository model vAccel's ImageClassification runs (docs/vaccel.md)",
    },
    admin: { type: 'string', value: '<host:port>', help: 'dashboard, /metrics, /healthz, /readyz, /api/status' },
    workers: { type: 'string', value: '<n>', help: 'ONNX Runtime worker threads' },
    'intra-op-threads': { type: 'string', value: '<n>', help: 'ONNX Runtime threads per run (default: cores - 1)' },
    'execution-provider': {
      type: 'string',
      multiple: true,
      value: 'cpu|cuda|tensorrt',
      help: 'ONNX Runtime execution providers, in order',
    },
    'max-frame-bytes': { type: 'string', value: '<n>', help: 'largest ttrpc frame accepted from a guest' },
    limit: { type: 'string', multiple: true, value: '<name>=<n>', help: 'a per-tenant or agent limit' },
    batching: {
      type: 'string',
      value: 'off|<maxBatch>[:<maxQueueDelayUs>]',
      help: 'batching across tenants of repository models whose ferry.json says nothing (default 8:0)',
    },
    'tenant-weight': {
      type: 'string',
      multiple: true,
      value: '<tenant>=<n>',
      help: "a tenant's runs per round-robin turn on a busy model (default 1)",
    },
    'log-level': LOG_LEVEL_FLAG,
  },
  async run({ values }, { io, env, untilSignal }) {
    const listen = values.listen ?? [];
    if (values.tenant !== undefined && listen.length !== 1) {
      throw new UsageError('--tenant names the tenant of exactly one --listen address');
    }
    // Node mode unless only --listen addresses are given.
    const kataRoots = values['kata-root']?.length ? values['kata-root'] : listen.length ? [] : KATA_ROOTS;
    const vsockPort = values['vsock-port'] === undefined ? DEFAULT_VSOCK_PORT : Number(values['vsock-port']);
    if (!/^\d+$/.test(values['vsock-port'] ?? '0') || !(vsockPort <= 0xffff_ffff)) {
      throw new UsageError(`--vsock-port must be a vsock port number, got "${values['vsock-port']}"`);
    }
    const socketMode = values['socket-mode'] === undefined ? undefined : parseMode(values['socket-mode']);
    if (values['cri-socket'] && kataRoots.length === 0) {
      throw new UsageError(
        '--cri-socket names the pods of watched sandboxes: use it with --kata-root (or without --listen)',
      );
    }
    const limits = parseLimits(values.limit ?? []);
    const batching = parseBatching(values.batching);
    const tenantWeights: Record<string, number> = {};
    for (const pair of values['tenant-weight'] ?? []) {
      const at = pair.lastIndexOf('=');
      const weight = at > 0 ? positiveInt(pair.slice(at + 1), 'tenant-weight') : undefined;
      if (!weight) throw new UsageError('--tenant-weight takes <tenant>=<positive integer>');
      tenantWeights[pair.slice(0, at)] = weight;
    }
    const admin = values.admin ? hostPort(values.admin, 'admin') : undefined;
    const logger = pino({ level: values['log-level'] ?? env.FERRY_LOG_LEVEL ?? 'info' }, pino.destination(2));
    const workers = positiveInt(values.workers, 'workers');
    const intraOpThreads = positiveInt(values['intra-op-threads'], 'intra-op-threads');
    const maxFrameBytes = positiveInt(values['max-frame-bytes'], 'max-frame-bytes');
    const onFallback = (m: BackendFallbackMessage) =>
      logger.warn(m, `backend ${m.backend} unavailable, using ${m.using}`);
    agentChannels.backendFallback.subscribe(onFallback);
    const agent = await createAgent({
      backends: createBackends({
        ...(workers ? { workers } : {}),
        ...(intraOpThreads ? { intraOpThreads } : {}),
        ...(values['execution-provider']?.length ? { executionProviders: values['execution-provider'] } : {}),
      }),
      listen: listen.map(
        (address): ListenSpec => ({
          address,
          ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
          ...(socketMode === undefined ? {} : { unixSocketMode: socketMode }),
        }),
      ),
      ...(values['model-dir'] ? { modelDir: values['model-dir'] } : {}),
      ...(values['vaccel-classifier'] ? { vaccelClassifier: values['vaccel-classifier'] } : {}),
      limits: { ...limits, ...(maxFrameBytes ? { maxFrameBytes } : {}) },
      ...(batching === undefined ? {} : { batching }),
      ...(Object.keys(tenantWeights).length > 0 ? { tenantWeights } : {}),
    }).finally(() => agentChannels.backendFallback.unsubscribe(onFallback));
    for (const listener of agent.listeners) {
      logger.info(listener, 'listening');
      io.out(JSON.stringify({ event: 'listening', ...listener }));
    }
    let watcher: SandboxWatcher | undefined;
    const cri = values['cri-socket'] ? createCriClient({ socket: values['cri-socket'] }) : undefined;
    if (kataRoots.length > 0) {
      try {
        watcher = await createSandboxWatcher({
          agent,
          roots: kataRoots,
          vsockPort,
          ...(socketMode === undefined ? {} : { socketMode }),
          ...(cri ? { resolvePods: criPodResolver(cri) } : {}),
          onEvent: (event) => logSandboxEvent(event, logger, io),
        });
      } catch (error) {
        await agent.destroy();
        await cri?.close();
        throw error;
      }
      logger.info(
        { roots: watcher.roots, vsockPort, sandboxes: watcher.sandboxes().length },
        'watching Kata sandboxes',
      );
      io.out(JSON.stringify({ event: 'watching', roots: watcher.roots, vsockPort }));
    }
    if (logger.isLevelEnabled('debug')) {
      const tenantLoggers = new Map<string, Logger>();
      agentChannels.callEnd.subscribe((m) => {
        let child = tenantLoggers.get(m.tenant);
        if (!child) {
          const pod = watcher?.tenantOrigin(m.tenant)?.pod;
          child = logger.child({ tenant: m.tenant, ...(pod ? { pod: `${pod.namespace}/${pod.name}` } : {}) });
          if (tenantLoggers.size >= 1000) tenantLoggers.clear();
          tenantLoggers.set(m.tenant, child);
        }
        child.debug({ method: m.method, code: m.code, durationMs: m.durationMs }, 'call');
      });
    }
    const adminServer = admin
      ? await createAdminServer({ agent, host: admin.host, port: admin.port, ...(watcher ? { source: watcher } : {}) })
      : undefined;
    if (adminServer) {
      logger.info({ url: adminServer.address }, 'admin: dashboard, /metrics, /healthz, /readyz');
      io.out(JSON.stringify({ event: 'admin', url: adminServer.address }));
    }
    const signal = await untilSignal(() => {
      logger.warn('stopping now');
      void adminServer?.destroy();
      void agent.destroy();
    });
    logger.info({ signal }, 'closing: draining calls in flight (signal again to stop now)');
    await watcher?.close();
    await cri?.close();
    await adminServer?.close();
    // Calls in flight get DRAIN_MS to finish (Kubernetes and Kata wait a few seconds for a sandbox's agent).
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      agent.close().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), DRAIN_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!drained) {
      logger.warn({ drainMs: DRAIN_MS }, 'calls still in flight: stopping now');
      await agent.destroy();
    }
    logger.info('closed');
    return 0;
  },
});

function parseMode(value: string): number {
  if (!/^0?[0-7]{3}$/.test(value))
    throw new UsageError(`--socket-mode must be octal permission bits like 0660, got "${value}"`);
  return Number.parseInt(value, 8);
}

/** One log line (and, for changes of the served set, one JSON line on stdout) per sandbox event. */
function logSandboxEvent(event: SandboxEvent, logger: Logger, io: { out(line: string): void }): void {
  switch (event.type) {
    case 'listening':
      logger.info({ tenant: event.sandboxId, address: event.address }, 'sandbox: listening');
      io.out(JSON.stringify({ event: 'listening', tenant: event.sandboxId, address: event.address }));
      return;
    case 'removed':
      logger.info(
        { tenant: event.sandboxId, address: event.address },
        'sandbox gone: listener closed, tenant released',
      );
      io.out(JSON.stringify({ event: 'removed', tenant: event.sandboxId, address: event.address }));
      return;
    case 'pod':
      logger.info({ tenant: event.sandboxId, pod: event.pod }, 'sandbox: pod named');
      return;
    case 'skipped':
      logger.warn(
        { tenant: event.sandboxId, path: event.path, reason: event.reason },
        `sandbox skipped: ${event.message}`,
      );
      return;
    case 'error':
      logger.warn({ err: event.cause }, event.message);
      return;
  }
}

/** `--batching off` or `--batching <maxBatch>[:<maxQueueDelayUs>]`. */
function parseBatching(value: string | undefined): { maxBatch: number; maxQueueDelayUs: number } | false | undefined {
  if (value === undefined) return undefined;
  if (value === 'off') return false;
  const match = /^(\d+)(?::(\d+))?$/.exec(value);
  if (!match) throw new UsageError('--batching takes off or <maxBatch>[:<maxQueueDelayUs>], e.g. 16:500');
  return { maxBatch: Number(match[1]), maxQueueDelayUs: Number(match[2] ?? 0) };
}

/** `--limit name=value` pairs, checked against the agent's limits. */
function parseLimits(pairs: readonly string[]): Partial<AgentLimits> {
  const limits: Record<string, number> = {};
  for (const pair of pairs) {
    const [name, value] = pair.split('=');
    if (!name || value === undefined || !(name in DEFAULT_LIMITS)) {
      throw new UsageError(`--limit takes name=value, name one of: ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
    }
    limits[name] = positiveInt(value, `limit ${name}`) as number;
  }
  return limits;
}
