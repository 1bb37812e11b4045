import { diagnosticsChannel } from '@ferry/core';

/** `ferry:agent:call:start`: a call was admitted and its handler starts. */
export interface CallStartMessage {
  readonly tenant: string;
  readonly method: string;
  readonly streamId: number;
}

/** What a model-running handler reports about its call (filled in while it runs). */
export interface OpReport {
  /** The model it ran (a tenant's registered name, or a repository model). */
  model?: string;
  /** Summed over the model runs of the call, in ms. */
  queueMs?: number;
  computeMs?: number;
  batchSize?: number;
}

/** `ferry:agent:call:end`: a call was answered (exactly once per call). */
export interface CallEndMessage extends Readonly<OpReport> {
  readonly tenant: string;
  readonly method: string;
  readonly streamId: number;
  /** The gRPC code answered; 0 is OK. */
  readonly code: number;
  readonly durationMs: number;
  /** The method runs a model (its handler says so): its successful calls count as inferences. */
  readonly inference: boolean;
}

/** `ferry:agent:connection:close`: a guest connection closed. */
export interface ConnectionCloseMessage {
  readonly tenant: string;
}

/** `ferry:agent:connection:stalled`: a connection cut off for stalling in the middle of a frame (slowloris). */
export interface ConnectionStalledMessage {
  readonly tenant: string;
  /** Bytes of the unfinished frame it had sent. */
  readonly bufferedBytes: number;
}

/** `ferry:agent:model:load`: a model was loaded into a backend (not published when the cache reused it). */
export interface ModelLoadMessage {
  readonly name: string;
  readonly sha256: string;
  readonly backend: string;
  readonly durationMs: number;
}

/** `ferry:agent:model:unload`: a model was released from its backend. */
export interface ModelUnloadMessage {
  readonly sha256: string;
  readonly backend: string;
}

/** `ferry:agent:backend:fallback`: a backend preferred over the default failed its init and was skipped. */
export interface BackendFallbackMessage {
  readonly backend: string;
  readonly reason: string;
  /** The backend serving by default instead. */
  readonly using: string;
}

/** The channels `@ferry/agent` publishes on. */
export const agentChannels = {
  callStart: diagnosticsChannel<CallStartMessage>('ferry:agent:call:start'),
  callEnd: diagnosticsChannel<CallEndMessage>('ferry:agent:call:end'),
  connectionClose: diagnosticsChannel<ConnectionCloseMessage>('ferry:agent:connection:close'),
  connectionStalled: diagnosticsChannel<ConnectionStalledMessage>('ferry:agent:connection:stalled'),
  modelLoad: diagnosticsChannel<ModelLoadMessage>('ferry:agent:model:load'),
  modelUnload: diagnosticsChannel<ModelUnloadMessage>('ferry:agent:model:unload'),
  backendFallback: diagnosticsChannel<BackendFallbackMessage>('ferry:agent:backend:fallback'),
} as const;
