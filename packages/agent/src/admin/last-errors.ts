import { codeName } from '@ferry/core';
import { agentChannels, type CallEndMessage } from '../diagnostics.js';

/** The last call of a tenant that failed. */
export interface LastError {
  readonly method: string;
  /** The code's name: `NOT_FOUND`, `RESOURCE_EXHAUSTED`, … */
  readonly code: string;
  /** ISO time it was answered. */
  readonly at: string;
}

export interface LastErrors {
  get(tenant: string): LastError | undefined;
  /** Stops following the calls. Idempotent. */
  close(): void;
}

/** Follows the agent's answered calls and keeps each tenant's last failure (at most `maxTenants` tenants). */
export function createLastErrors(maxTenants = 1000): LastErrors {
  const last = new Map<string, LastError>();
  const onCallEnd = (event: CallEndMessage) => {
    if (event.code === 0) return;
    last.delete(event.tenant);
    if (last.size >= maxTenants) last.delete(last.keys().next().value as string);
    last.set(event.tenant, {
      method: event.method.slice(0, 64),
      code: codeName(event.code),
      at: new Date().toISOString(),
    });
  };
  agentChannels.callEnd.subscribe(onCallEnd);
  let closed = false;
  return {
    get: (tenant) => last.get(tenant),
    close() {
      if (closed) return;
      closed = true;
      agentChannels.callEnd.unsubscribe(onCallEnd);
    },
  };
}
