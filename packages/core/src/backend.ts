import type { ModelSignature, TensorMap } from './tensor.js';

export interface LoadOptions {
  /** Content address of the model (hex SHA-256), for diagnostics. */
  readonly id?: string;
  readonly signal?: AbortSignal;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  /** Outputs to compute; all of the model's outputs when absent. */
  readonly outputNames?: readonly string[];
}

/** A model loaded into a backend. `run` never blocks the caller's event loop with heavy work. */
export interface BackendModel extends ModelSignature {
  run(inputs: TensorMap, options?: RunOptions): Promise<TensorMap>;
  /** Frees the model's backend resources; idempotent. */
  release(): Promise<void>;
}

/** An inference engine: ONNX Runtime, the no-op backend, … */
export interface Backend {
  readonly name: string;
  load(model: Uint8Array, options?: LoadOptions): Promise<BackendModel>;
  /** Releases every model and worker; idempotent. */
  close(): Promise<void>;
}
