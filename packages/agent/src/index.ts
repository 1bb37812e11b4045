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
export type {
  Agent,
  AgentOptions,
  AgentStats,
  BackendStats,
  ListenerInfo,
  ListenSpec,
  TenantStats,
} from './create-agent.js';
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
export { AGENT_VERSION } from './version.js';
