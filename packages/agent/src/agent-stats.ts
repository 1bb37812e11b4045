// The numbers an agent reports about itself (`agent.stats()`); pure types, shared with the admin views.

export interface TenantStats {
  readonly name: string;
  readonly connections: number;
  readonly sessions: number;
  readonly models: number;
  /** Calls being served right now. */
  readonly inflight: number;
}

/** Which backend serves by default, and the higher-priority ones skipped on the way to it. */
export interface BackendStats {
  readonly default: string;
  /** Registered backends in priority order, less the ones whose init failed. */
  readonly available: readonly string[];
  /** Backends preferred over the default whose init failed, with the reason (CUDA asked for, none found). */
  readonly fallbacks: readonly { readonly backend: string; readonly reason: string }[];
}
