import type { ModelSignature, TensorMap } from '@ferry/core';

export interface CallOptions {
  /** Deadline for the call; sent to the agent as ttrpc `timeout_nano` and enforced locally too. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface InferOptions extends CallOptions {
  /** Outputs to compute; all of the model's outputs when absent. */
  readonly outputNames?: readonly string[];
}

export type ModelSource =
  /** ONNX bytes uploaded to the agent. */
  | { readonly bytes: Uint8Array; readonly backend?: string }
  /** A model of the agent's model directory, or a built-in model. */
  | { readonly name: string; readonly backend?: string };

export interface ServerInfo {
  readonly version: string;
  /** The tenant this connection belongs to (the listener it arrived on). */
  readonly tenant: string;
  readonly backends: readonly string[];
  readonly maxFrameBytes: number;
  readonly maxSessions: number;
  readonly maxModels: number;
  readonly maxInflight: number;
}

export interface ModelInfo extends ModelSignature {
  readonly modelId: number;
  /** Hex SHA-256 of the model bytes: its content address on the agent. */
  readonly sha256: string;
  readonly backend: string;
  readonly name: string;
}

export interface RegisteredModel extends ModelInfo {
  /** True when the agent already had these bytes loaded and shared them. */
  readonly reused: boolean;
}

/** The Ferry SDK. The same interface whether the agent is remote (`vsock:`, `unix:`, `tcp:`) or `local:`. */
export interface Client extends AsyncDisposable {
  readonly address: string;
  serverInfo(options?: CallOptions): Promise<ServerInfo>;
  /** Echoes `payload` through the agent: the remoting overhead with no work. */
  noop(payload: Uint8Array, options?: CallOptions): Promise<Uint8Array>;
  createSession(options?: CallOptions): Promise<number>;
  destroySession(sessionId: number, options?: CallOptions): Promise<void>;
  registerModel(sessionId: number, source: ModelSource, options?: CallOptions): Promise<RegisteredModel>;
  unregisterModel(modelId: number, options?: CallOptions): Promise<void>;
  modelMetadata(modelId: number, options?: CallOptions): Promise<ModelInfo>;
  infer(modelId: number, inputs: TensorMap, options?: InferOptions): Promise<TensorMap>;
  /** Waits for calls in flight, then closes the connection. Idempotent. */
  close(): Promise<void>;
  /** Fails calls in flight with CANCELLED and closes the connection now. Idempotent. */
  destroy(): void;
}
