import { type BackendModel, Code, FerryError, type NumericTensor, type RunOptions, type Tensor } from '@ferry/core';

export interface TensorRunnerOptions {
  readonly signal?: AbortSignal;
}

/** Runs one model on one input tensor and returns its one output of interest. */
export type TensorRunner = (input: NumericTensor, options: TensorRunnerOptions) => Promise<Tensor>;

export interface FromBackendModelOptions {
  /** Input to feed; the model's first input when absent. */
  readonly input?: string;
  /** Output to return; the model's first output when absent. */
  readonly output?: string;
}

/** Adapts a loaded backend model (`Backend.load()`) to the single-tensor runner the OCR pipeline calls. */
export function fromBackendModel(model: BackendModel, options: FromBackendModelOptions = {}): TensorRunner {
  const input = options.input ?? model.inputs[0]?.name;
  const output = options.output ?? model.outputs[0]?.name;
  if (input === undefined || output === undefined) {
    throw new FerryError(Code.FAILED_PRECONDITION, 'The model has no inputs or no outputs', {
      reason: 'MODEL_SIGNATURE_UNSUPPORTED',
    });
  }
  return async (tensor, { signal }) => {
    const runOptions: RunOptions = signal ? { signal, outputNames: [output] } : { outputNames: [output] };
    const outputs = await model.run({ [input]: tensor }, runOptions);
    const result = outputs[output];
    if (!result) {
      throw new FerryError(Code.INTERNAL, `The model returned no output "${output}"`, {
        reason: 'MODEL_OUTPUT_MISSING',
      });
    }
    return result;
  };
}
