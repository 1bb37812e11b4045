/** A Kubernetes pod, as the container runtime (CRI) names it. */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** What a listener source knows of a tenant it opened. */
export interface TenantOrigin {
  /** The Kata sandbox id (the CRI pod sandbox id). */
  readonly sandboxId: string;
  /** The pod, once the container runtime named it. */
  readonly pod?: PodRef;
}

/** A listener a source found but does not serve, and why. */
export interface SkippedListener {
  readonly sandboxId: string;
  /** The socket path it would have listened on. */
  readonly path: string;
  /** Stable snake_case reason: `path_too_long`, `address_in_use`, `listen_failed`, … */
  readonly reason: string;
  readonly message: string;
  /** ISO time it was first skipped for this reason. */
  readonly since: string;
}

/**
 * Something that opens and closes an agent's listeners by itself, such as the Kata sandbox watcher of
 * `@ferry/kube`. The admin server reads it for `/readyz`, `/api/status` and `/metrics`.
 */
export interface ListenerSource {
  /** Whether the agent serves what it should: the source looked everywhere it must and nothing stops it. */
  readiness(): { readonly ready: boolean; readonly reason?: string };
  /** Details of a tenant the source opened; undefined for other tenants. */
  tenantOrigin(tenant: string): TenantOrigin | undefined;
  /** Listeners it does not serve now, and why. */
  skipped(): readonly SkippedListener[];
  /** How many times a listener was skipped since the source started, by reason. */
  skipCounts(): ReadonlyMap<string, number>;
}
