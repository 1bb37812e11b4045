import { channel } from 'node:diagnostics_channel';

/**
 * A `node:diagnostics_channel` channel whose messages have one type. Publishers and subscribers take the
 * channel from the publishing package's `diagnostics.ts`, so a name is written once and a payload change
 * is a type error at every subscriber.
 */
export interface DiagnosticsChannel<M> {
  readonly name: string | symbol;
  readonly hasSubscribers: boolean;
  publish(message: M): void;
  subscribe(onMessage: (message: M, name: string | symbol) => void): void;
  unsubscribe(onMessage: (message: M, name: string | symbol) => void): void;
}

/** The channel `name`, typed with its message. */
export function diagnosticsChannel<M>(name: string): DiagnosticsChannel<M> {
  // The one place a message type is asserted: every publisher is checked against M, so subscribers may trust it.
  return channel(name) as DiagnosticsChannel<M>;
}

/** `ferry:backend:worker:restart`: a backend worker died (crash, exit) and will be replaced. */
export interface WorkerRestartMessage {
  /** `Backend.name` of the backend that lost it. */
  readonly backend: string;
  readonly worker: number;
  /** Why it died: `exit code 134`, the error's message, … */
  readonly reason: string;
}

/** Channels any backend may publish on; the agent's admin server follows them. */
export const backendChannels = {
  workerRestart: diagnosticsChannel<WorkerRestartMessage>('ferry:backend:worker:restart'),
} as const;
