// Types only (erased at run time): the admin server itself is `@ferry/agent/admin`, so that importing the
// agent does not load fastify and prom-client.
export type {
  AdminServerStatus,
  AdminStatus,
  AdminTenantStatus,
  LastError,
  ListenerSource,
  PodRef,
  SkippedListener,
  TenantOrigin,
  TenantStatus,
} from './admin/index.js';
export type { BackendStats, TenantStats } from './agent-stats.js';
export { DEFAULT_BATCHING } from './batch-policy.js';
export type { Agent, AgentOptions, AgentStats, ListenerInfo, ListenSpec } from './create-agent.js';
export { createAgent, tenantForAddress } from './create-agent.js';
export type {
  BackendFallbackMessage,
  CallEndMessage,
  CallStartMessage,
  ConnectionCloseMessage,
  ConnectionStalledMessage,
  ModelLoadMessage,
  ModelUnloadMessage,
  OpReport,
} from './diagnostics.js';
export { agentChannels } from './diagnostics.js';
export type { AgentLimits } from './limits.js';
export { DEFAULT_LIMITS } from './limits.js';
export type { BatchPolicy } from './model-scheduler.js';
export { AGENT_VERSION } from './version.js';
