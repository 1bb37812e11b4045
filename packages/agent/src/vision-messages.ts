import { Code, copyBytes, FerryError, type NumericTensor, type Tensor, type WireError } from '@ferry/core';
import type { ModelConfig } from '@ferry/vision';

/** A model an op uses, as the vision worker sees it: its configuration and labels (runs stay on the main thread). */
export interface OpModel {
  readonly config: ModelConfig;
  readonly labels?: readonly string[];
}

export type OpRequest =
  | { readonly op: 'classify'; readonly image: Uint8Array; readonly model: OpModel; readonly topK: number }
  | { readonly op: 'detect-text'; readonly image: Uint8Array; readonly det: OpModel }
  | {
      readonly op: 'ocr';
      readonly image: Uint8Array;
      readonly det: OpModel;
      readonly cls: OpModel;
      readonly rec: OpModel;
    };

/** Which of the op's models a run is for. */
export type Role = 'model' | 'det' | 'cls' | 'rec';

export type ToVisionWorker =
  | ({ readonly type: 'op'; readonly id: number } & { readonly request: OpRequest; readonly limits: ImageLimits })
  | { readonly type: 'ran'; readonly runId: number; readonly output?: Tensor; readonly error?: WireError }
  /** Test hook: the worker exits at once, as a crash would. */
  | { readonly type: 'crash' }
  /** Test hook: the worker spins forever, as a pathological decode would. */
  | { readonly type: 'hang' };

export type FromVisionWorker =
  /** Sent once, when the worker has loaded its modules and takes ops (its watchdog counts from then). */
  | { readonly type: 'ready' }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly runId: number;
      readonly role: Role;
      readonly input: NumericTensor;
    }
  | { readonly type: 'done'; readonly id: number; readonly result?: unknown; readonly error?: WireError };

export interface ImageLimits {
  readonly maxImageBytes: number;
  readonly maxImagePixels: number;
}

/** The buffer to transfer with a tensor, copying its bytes first when the view does not own its buffer. */
export function transferable(tensor: Tensor): { tensor: Tensor; transfer: ArrayBuffer[] } {
  if (tensor.dtype === 'string') return { tensor, transfer: [] };
  const { data } = tensor;
  const owned =
    data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  const bytes = owned ? data : copyBytes(data);
  return { tensor: { ...tensor, data: bytes }, transfer: [bytes.buffer as ArrayBuffer] };
}

export const UNKNOWN_OP = (op: string) =>
  new FerryError(Code.INTERNAL, `Unknown vision op "${op}"`, { reason: 'INTERNAL' });
