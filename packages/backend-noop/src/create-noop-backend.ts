import {
  type Backend,
  type BackendModel,
  Code,
  checkTensor,
  FerryError,
  type LoadOptions,
  type RunOptions,
  type TensorMap,
} from '@ferry/core';

function aborted(signal: AbortSignal): FerryError {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && (reason.name === 'AbortError' || reason.name === 'TimeoutError')) {
    return FerryError.from(reason);
  }
  return new FerryError(Code.CANCELLED, 'The operation was aborted', { reason: 'CANCELLED', cause: reason });
}

/**
 * A backend that runs nothing: any bytes load as a model with an empty signature, and `run` returns its
 * inputs unchanged (the same tensor objects, no copy). It measures Ferry's own overhead and serves tests.
 */
export function createNoopBackend(): Backend {
  const models = new Set<{ released: boolean }>();
  let closed = false;
  return {
    name: 'noop',
    async load(_model: Uint8Array, options: LoadOptions = {}): Promise<BackendModel> {
      if (options.signal?.aborted) throw aborted(options.signal);
      if (closed) {
        throw new FerryError(Code.FAILED_PRECONDITION, 'The noop backend is closed', { reason: 'BACKEND_CLOSED' });
      }
      const state = { released: false };
      models.add(state);
      return {
        inputs: [],
        outputs: [],
        async run(inputs: TensorMap, runOptions: RunOptions = {}): Promise<TensorMap> {
          if (state.released) {
            throw new FerryError(Code.FAILED_PRECONDITION, 'The model was released', { reason: 'MODEL_RELEASED' });
          }
          if (runOptions.signal?.aborted) throw aborted(runOptions.signal);
          for (const [name, t] of Object.entries(inputs)) checkTensor(name, t);
          if (!runOptions.outputNames) return { ...inputs };
          const outputs: TensorMap = {};
          for (const name of runOptions.outputNames) {
            const t = inputs[name];
            if (!t) {
              throw new FerryError(
                Code.INVALID_ARGUMENT,
                `Unknown output "${name}"; the noop model outputs its inputs (${Object.keys(inputs).join(', ')})`,
                { reason: 'UNKNOWN_OUTPUT' },
              );
            }
            outputs[name] = t;
          }
          return outputs;
        },
        async release(): Promise<void> {
          state.released = true;
          models.delete(state);
        },
      };
    },
    async close(): Promise<void> {
      closed = true;
      for (const state of models) state.released = true;
      models.clear();
    },
  };
}
