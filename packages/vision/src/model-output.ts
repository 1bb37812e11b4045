import { Code, FerryError, type NumericTensor, type Tensor, tensorValues } from '@ferry/core';

/** A model output that must be float32, as its shape and values. */
export function floatOutput(t: Tensor, what: string): { shape: readonly number[]; values: Float32Array } {
  if (t.dtype !== 'float32') throw outputMismatch(`${what} output is ${t.dtype}, not float32`);
  return { shape: t.shape, values: tensorValues(t as NumericTensor) as Float32Array };
}

/** FAILED_PRECONDITION `MODEL_OUTPUT_MISMATCH`: the model does not answer as its task says it should. */
export function outputMismatch(message: string): FerryError {
  return new FerryError(Code.FAILED_PRECONDITION, `Unexpected model output: ${message}`, {
    reason: 'MODEL_OUTPUT_MISMATCH',
  });
}

/** `{ signal }` when there is one (exactOptionalPropertyTypes forbids `signal: undefined`). */
export function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
