import { channel } from 'node:diagnostics_channel';
import { type AgentLimits, createAdminServer, createAgent, DEFAULT_LIMITS } from '@ferry/agent';
import { pino } from 'pino';
import { defineCommand, hostPort, LOG_LEVEL_FLAG, positiveInt, UsageError } from '../command.js';
import { createBackends } from '../wiring.js';

export const agentCommand = defineCommand({
  name: 'agent',
  summary: 'serve ferry.v1.Accelerator (and vAccel v1/v3) on each --listen address; each listener is one tenant',
  synopsis: '--listen <address> [--listen <address> …] [options]',
  details: `A tenant is the listener a connection arrived on: under Kata, one per sandbox
(<sandbox>/root/kata.hvsock_2048). Limits: ${Object.keys(DEFAULT_LIMITS).join(', ')}
(see docs/troubleshooting.md). Stops on SIGINT/SIGTERM after answering calls in flight; a second signal stops now.`,
  flags: {
    listen: { type: 'string', multiple: true, value: '<address>', help: 'unix:///path or tcp://host:port to serve' },
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
    'log-level': LOG_LEVEL_FLAG,
  },
  async run({ values }, { io, env, untilSignal }) {
    if (!values.listen?.length) throw new UsageError('agent needs at least one --listen address');
    const limits = parseLimits(values.limit ?? []);
    const admin = values.admin ? hostPort(values.admin, 'admin') : undefined;
    const logger = pino({ level: values['log-level'] ?? env.FERRY_LOG_LEVEL ?? 'info' }, pino.destination(2));
    const workers = positiveInt(values.workers, 'workers');
    const intraOpThreads = positiveInt(values['intra-op-threads'], 'intra-op-threads');
    const maxFrameBytes = positiveInt(values['max-frame-bytes'], 'max-frame-bytes');
    const agent = await createAgent({
      backends: createBackends({
        ...(workers ? { workers } : {}),
        ...(intraOpThreads ? { intraOpThreads } : {}),
        ...(values['execution-provider']?.length ? { executionProviders: values['execution-provider'] } : {}),
      }),
      listen: values.listen,
      ...(values['model-dir'] ? { modelDir: values['model-dir'] } : {}),
      ...(values['vaccel-classifier'] ? { vaccelClassifier: values['vaccel-classifier'] } : {}),
      limits: { ...limits, ...(maxFrameBytes ? { maxFrameBytes } : {}) },
    });
    if (logger.isLevelEnabled('debug')) {
      const tenantLoggers = new Map<string, typeof logger>();
      channel('ferry:agent:call:end').subscribe((message) => {
        const m = message as { tenant: string; method: string; code: number; durationMs: number };
        let child = tenantLoggers.get(m.tenant);
        if (!child) {
          child = logger.child({ tenant: m.tenant });
          tenantLoggers.set(m.tenant, child);
        }
        child.debug({ method: m.method, code: m.code, durationMs: m.durationMs }, 'call');
      });
    }
    for (const listener of agent.listeners) {
      logger.info(listener, 'listening');
      io.out(JSON.stringify({ event: 'listening', ...listener }));
    }
    const adminServer = admin ? await createAdminServer({ agent, host: admin.host, port: admin.port }) : undefined;
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
    await adminServer?.close();
    await agent.close();
    logger.info('closed');
    return 0;
  },
});

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
