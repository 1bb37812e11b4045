export type {
  AdminServer,
  AdminServerOptions,
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
export { ADMIN_DEFAULTS, createAdminServer } from './admin/index.js';
export { DEFAULT_BATCHING } from './batch-policy.js';
export type { Agent, AgentOptions, AgentStats, ListenerInfo, ListenSpec, TenantStats } from './create-agent.js';
export { createAgent, tenantForAddress } from './create-agent.js';
export type { AgentLimits } from './limits.js';
export { DEFAULT_LIMITS } from './limits.js';
export type { BatchPolicy } from './model-scheduler.js';
export { AGENT_VERSION } from './version.js';
