import type { Duplex } from 'node:stream';
import type { Address } from './address.js';

export interface ConnectOptions {
  /** Aborting rejects the pending connect with CANCELLED and destroys the half-made connection. */
  readonly signal?: AbortSignal;
  /** Deadline for the connection to be made; rejects with DEADLINE_EXCEEDED, reason `CONNECT_TIMEOUT`. */
  readonly timeoutMs?: number;
}

/**
 * Makes connections for one address scheme. {@link connect} enforces `timeoutMs` and `signal` around every
 * connector, and hands it one `signal` that aborts on either: a connector should destroy what it started when
 * that signal aborts.
 */
export interface Connector {
  connect(address: Address, options?: ConnectOptions): Promise<Duplex>;
}

/** Connectors by scheme, overriding or extending the built-in unix and tcp ones. */
export type ConnectorMap = Partial<Record<Address['scheme'], Connector>>;
