import type { BackendModel, Tensor, TensorMap } from '@ferry/core';
import { bytesPerElement } from '@ferry/core';

/** Size given to dimensions a model leaves open: large enough for conv nets' strides, small enough to be quick. */
const OPEN_DIM = 32;
/** What one string element of a warm-up input is counted as (an empty string, a pointer and a header). */
const STRING_ELEMENT_BYTES = 16;

export interface WarmUpOptions {
  /** Largest input the run may allocate, all inputs together; a model that needs more is not warmed up. */
  readonly maxBytes: number;
  /** Runs `work` the way guest calls run (the model's scheduler), giving up when `signal` aborts. */
  readonly schedule: (work: (signal: AbortSignal) => Promise<unknown>, signal: AbortSignal) => Promise<unknown>;
  /** Deadline of the run. */
  readonly timeoutMs: number;
}

/** How a warm-up went: run, skipped because its inputs exceed `maxBytes`, or failed (or past its deadline). */
export type WarmUpOutcome = 'warmed' | 'too-large' | 'failed';

/** The inputs a warm-up run would use and their size, computed from the declared shapes without allocating. */
export function warmUpShapes(model: BackendModel): { shapes: number[][]; bytes: number } {
  let bytes = 0;
  const shapes: number[][] = [];
  for (const info of model.inputs) {
    const shape = info.shape.map((d, i) => (typeof d === 'number' && d >= 0 ? d : i === 0 ? 1 : OPEN_DIM));
    const count = shape.reduce((a, b) => a * b, 1);
    const per = info.dtype === 'string' ? STRING_ELEMENT_BYTES : bytesPerElement(info.dtype);
    // Counted in floating point: a declared shape may multiply past 2^53, which is simply "too large".
    bytes += count * per;
    shapes.push(shape);
  }
  return { shapes, bytes };
}

/**
 * One run on zeros right after a load, so the first guest call does not pay for ONNX Runtime's lazy
 * initialisation. Open dimensions get 1 (batch, the first) or 32. The inputs are sized from the declared
 * shapes before anything is allocated: a model whose warm-up would need more than `maxBytes` (a guest
 * declaring `float32[1,3,16384,16384]`, say) is not warmed up at all. The run goes through the model's
 * scheduler with a deadline, like a guest call; a model that rejects zeros is simply not warmed.
 */
export async function warmUp(model: BackendModel, options: WarmUpOptions): Promise<WarmUpOutcome> {
  const { shapes, bytes } = warmUpShapes(model);
  if (!(bytes <= options.maxBytes)) return 'too-large';
  const inputs: TensorMap = {};
  for (const [index, info] of model.inputs.entries()) {
    const shape = shapes[index] as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    const tensor: Tensor =
      info.dtype === 'string'
        ? { dtype: 'string', shape, data: new Array<string>(count).fill('') }
        : { dtype: info.dtype, shape, data: new Uint8Array(count * bytesPerElement(info.dtype)) };
    inputs[info.name] = tensor;
  }
  const deadline = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`The warm-up run exceeded its ${options.timeoutMs} ms deadline`);
      deadline.abort(error);
      reject(error);
    }, options.timeoutMs);
  });
  try {
    // Raced as well as signalled: a backend that ignores the signal still frees the load at the deadline.
    await Promise.race([options.schedule((signal) => model.run(inputs, { signal }), deadline.signal), expired]);
    return 'warmed';
  } catch {
    return 'failed';
  } finally {
    clearTimeout(timer);
  }
}
