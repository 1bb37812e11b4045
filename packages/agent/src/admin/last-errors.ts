import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { codeName } from '@ferry/core';
import { AGENT_CHANNELS } from './create-agent-monitor.js';

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
  const onCallEnd = (message: unknown) => {
    const event = message as Record<string, unknown>;
    if (event.code === 0 || typeof event.tenant !== 'string' || typeof event.method !== 'string') return;
    last.delete(event.tenant);
    if (last.size >= maxTenants) last.delete(last.keys().next().value as string);
    last.set(event.tenant, {
      method: event.method.slice(0, 64),
      code: typeof event.code === 'number' ? codeName(event.code) : 'UNKNOWN',
      at: new Date().toISOString(),
    });
  };
  subscribe(AGENT_CHANNELS.callEnd, onCallEnd);
  let closed = false;
  return {
    get: (tenant) => last.get(tenant),
    close() {
      if (closed) return;
      closed = true;
      unsubscribe(AGENT_CHANNELS.callEnd, onCallEnd);
    },
  };
}
