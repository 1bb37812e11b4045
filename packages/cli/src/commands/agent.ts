import { channel } from 'node:diagnostics_channel';
import { type Agent, type AgentLimits, type BatchPolicy, createAgent } from '@ferry/agent';
import type { Logger } from 'pino';
import type { Io } from '../io.js';
import { createBackends } from '../wiring.js';

export interface AgentArgs {
  readonly listen: readonly string[];
  readonly modelDir?: string;
  readonly workers?: number;
  readonly intraOpThreads?: number;
  readonly executionProviders?: readonly string[];
  readonly maxFrameBytes?: number;
  readonly limits?: Partial<AgentLimits>;
  /** Batching of repository models whose ferry.json says nothing; `false` turns the default off. */
  readonly batching?: BatchPolicy | false;
  readonly tenantWeights?: Readonly<Record<string, number>>;
}

/** Starts an agent and keeps it running until `stop` resolves; logs calls at debug level. */
export async function startAgent(args: AgentArgs, logger: Logger, io: Io): Promise<Agent> {
  const agent = await createAgent({
    backends: createBackends({
      ...(args.workers ? { workers: args.workers } : {}),
      ...(args.intraOpThreads ? { intraOpThreads: args.intraOpThreads } : {}),
      ...(args.executionProviders?.length ? { executionProviders: args.executionProviders } : {}),
    }),
    listen: args.listen,
    ...(args.modelDir ? { modelDir: args.modelDir } : {}),
    limits: { ...args.limits, ...(args.maxFrameBytes ? { maxFrameBytes: args.maxFrameBytes } : {}) },
    ...(args.batching === undefined ? {} : { batching: args.batching }),
    ...(args.tenantWeights ? { tenantWeights: args.tenantWeights } : {}),
  });
  const tenantLoggers = new Map<string, Logger>();
  const forTenant = (tenant: string) => {
    let child = tenantLoggers.get(tenant);
    if (!child) {
      child = logger.child({ tenant });
      tenantLoggers.set(tenant, child);
    }
    return child;
  };
  if (logger.isLevelEnabled('debug')) {
    channel('ferry:agent:call:end').subscribe((message) => {
      const m = message as { tenant: string; method: string; code: number; durationMs: number };
      forTenant(m.tenant).debug({ method: m.method, code: m.code, durationMs: m.durationMs }, 'call');
    });
  }
  for (const listener of agent.listeners) {
    logger.info(listener, 'listening');
    io.out(JSON.stringify({ event: 'listening', ...listener }));
  }
  return agent;
}
