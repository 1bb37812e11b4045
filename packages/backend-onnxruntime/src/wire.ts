// Messages between the backend (main thread) and its ONNX Runtime workers. Numeric tensor data travels as a
// whole ArrayBuffer that is transferred, never cloned; strings as an array.
import {
  copyBytes,
  type DType,
  type NumericDType,
  type Tensor,
  type TensorInfo,
  type TensorMap,
  type WireError,
} from '@ferry/core';

export interface WireTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Exactly the element bytes (offset 0), or the strings of a string tensor. */
  readonly data: ArrayBuffer | readonly string[];
}

export interface SessionSettings {
  readonly executionProviders: readonly string[];
  readonly intraOpNumThreads?: number;
  readonly allowSpinning?: boolean;
  /** Nice steps below the event loop for the worker and ONNX Runtime's threads (default COMPUTE_THREAD_NICE). */
  readonly threadNice?: number;
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export type ToWorker =
  /** Loads a model; replies `loaded` when `callId` is set (lazy loads on other workers reply nothing). */
  | { readonly type: 'load'; readonly modelId: number; readonly bytes: Uint8Array; readonly callId?: number }
  | {
      readonly type: 'run';
      readonly callId: number;
      readonly modelId: number;
      readonly inputs: readonly WireTensor[];
      readonly outputNames?: readonly string[];
    }
  | { readonly type: 'release'; readonly modelId: number }
  /** Exit between runs (terminating a worker inside a native run aborts the process). */
  | { readonly type: 'close' }
  /** Testing only: makes the worker die as a crash would. */
  | { readonly type: 'crash'; readonly mode: 'throw' | 'exit' };

export type FromWorker =
  /** Sent once, when ONNX Runtime is loaded and the worker takes calls (the watchdog starts counting then). */
  | { readonly type: 'ready' }
  | {
      readonly type: 'loaded';
      readonly callId: number;
      readonly inputs: readonly TensorInfo[];
      readonly outputs: readonly TensorInfo[];
    }
  | { readonly type: 'result'; readonly callId: number; readonly outputs: readonly WireTensor[] }
  | { readonly type: 'failed'; readonly callId: number; readonly error: WireError };

/**
 * Encodes tensors for postMessage and lists the buffers to transfer. A non-empty view that owns its whole
 * buffer is transferred as is when `transferOwned` (the caller's tensor is detached); otherwise its bytes are
 * copied once into a fresh buffer, which is transferred.
 */
export function toWire(
  tensors: Iterable<readonly [string, Tensor]>,
  transferOwned: boolean,
): { tensors: WireTensor[]; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const wire: WireTensor[] = [];
  for (const [name, t] of tensors) {
    if (t.dtype === 'string') {
      wire.push({ name, dtype: t.dtype, shape: [...t.shape], data: [...t.data] });
      continue;
    }
    const { buffer, byteOffset, byteLength } = t.data;
    // An empty view is never moved: it may be a value shared across the whole process (protobuf-es keeps
    // one zero-length default per field on the message prototype), and detaching it breaks every later
    // message, the guest's own included when it runs in the same process (`local:`).
    const owned =
      transferOwned &&
      byteLength > 0 &&
      buffer instanceof ArrayBuffer &&
      byteOffset === 0 &&
      byteLength === buffer.byteLength &&
      !transfer.includes(buffer);
    const data = owned ? buffer : copyBytes(t.data).buffer;
    transfer.push(data);
    wire.push({ name, dtype: t.dtype, shape: [...t.shape], data });
  }
  return { tensors: wire, transfer };
}

export function fromWire(tensors: readonly WireTensor[]): TensorMap {
  const map: TensorMap = {};
  for (const t of tensors) {
    map[t.name] =
      t.dtype === 'string'
        ? { dtype: 'string', shape: t.shape, data: t.data as readonly string[] }
        : { dtype: t.dtype as NumericDType, shape: t.shape, data: new Uint8Array(t.data as ArrayBuffer) };
  }
  return map;
}
