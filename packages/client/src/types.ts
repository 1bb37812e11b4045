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

export interface RepositoryModel extends ModelSignature {
  readonly name: string;
  /** `classify`, `ocr-det` (text detection), `ocr-rec`, `ocr-cls` or `generic`. */
  readonly task: string;
  readonly builtin: boolean;
  readonly loaded: boolean;
  /** Content address, once loaded. */
  readonly sha256: string;
  /** Number of labels the model's labels file holds. */
  readonly labels: number;
  /** The model's resolved ferry.json. */
  readonly config: unknown;
}

export interface Classification {
  readonly label: string;
  readonly score: number;
  readonly index: number;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Detection {
  /** Four corners, clockwise from top-left, in image pixels. */
  readonly box: readonly Point[];
  readonly score: number;
  readonly label: string;
}

export interface TextLine {
  readonly text: string;
  readonly score: number;
  readonly box: readonly Point[];
  /** 0, or 180 when the direction classifier found the line upside down. */
  readonly angle: number;
}

export interface ClassifyOptions extends CallOptions {
  /** A classifier in the agent's model repository. */
  readonly model: string;
  /** How many results; the model's configured top-k when absent. */
  readonly topK?: number;
}

export interface DetectOptions extends CallOptions {
  /** A text detector (task `ocr-det`) in the agent's model repository; the built-in one when absent. */
  readonly model?: string;
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
  /** Models of the agent's repository, built-in ones included. */
  listModels(options?: CallOptions): Promise<RepositoryModel[]>;
  describeModel(name: string, options?: CallOptions): Promise<RepositoryModel>;
  loadModel(name: string, options?: CallOptions): Promise<RepositoryModel>;
  unloadModel(name: string, options?: CallOptions): Promise<void>;
  /** Top-k labels of an encoded image (JPEG, PNG, WebP), decoded and preprocessed on the host. */
  classify(image: Uint8Array, options: ClassifyOptions): Promise<Classification[]>;
  /** Text detection: the boxes of an image's text lines (label `text`); Ferry has no generic object detector. */
  detect(image: Uint8Array, options?: DetectOptions): Promise<Detection[]>;
  /** Text lines of an image: detection → direction classification → recognition, on the host. */
  ocr(image: Uint8Array, options?: CallOptions): Promise<TextLine[]>;
  /** Waits for calls in flight, then closes the connection. Idempotent. */
  close(): Promise<void>;
  /** Fails calls in flight with CANCELLED and closes the connection now. Idempotent. */
  destroy(): void;
}
