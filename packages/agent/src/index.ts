export type { Agent, AgentOptions, AgentStats, ListenerInfo, ListenSpec, TenantStats } from './create-agent.js';
export { createAgent, tenantForAddress } from './create-agent.js';
export type { AgentLimits } from './limits.js';
export { DEFAULT_LIMITS } from './limits.js';
export { AGENT_VERSION } from './version.js';
