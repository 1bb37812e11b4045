import {
  type Backend,
  type BackendModel,
  Code,
  checkInputs,
  FerryError,
  formatSignature,
  type LoadOptions,
  type RunOptions,
  type TensorMap,
} from '@ferry/core';
import { pools } from './pools.js';
import { abortedError, createWorkerPool } from './worker-pool.js';

export interface OnnxRuntimeBackendOptions {
  /** `Backend.name`; default `'onnxruntime'`. Two backends with different providers need different names. */
  readonly name?: string;
  /** Worker threads running sessions; each model loads on a worker when first dispatched there. Default 1. */
  readonly workers?: number;
  /** Execution providers in priority order, passed to ONNX Runtime: `'cpu'`, `'cuda'`, `'tensorrt'`, … Default `['cpu']`. */
  readonly executionProviders?: readonly string[];
  /** Threads ONNX Runtime uses inside one operator (per worker); ONNX Runtime's default when absent. */
  readonly intraOpNumThreads?: number;
  /**
   * Let ONNX Runtime's threads spin-wait between runs (its own default). Off by default here: spinning
   * threads hold cores that the agent's event loop and other tenants need.
   */
  readonly allowSpinning?: boolean;
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Nice steps (0–19) the worker threads, and the intra-op threads ONNX Runtime starts from them, run below
   * the thread that created the backend (Linux). Default `COMPUTE_THREAD_NICE` (10): the agent's event loop,
   * which reads and answers every tenant's calls, preempts inference instead of queueing behind it; 0 leaves
   * the priority alone.
   */
  readonly threadNice?: number;
  /**
   * Per-call watchdog: a worker that has not finished a load or run after this long is hung. Its calls fail
   * with UNAVAILABLE (`WORKER_HUNG`) and a fresh worker takes the next ones; the hung one exits when its
   * native call returns (it cannot be stopped inside it). Default 120000 (two minutes).
   */
  readonly watchdogMs?: number;
  /**
   * Move input buffers to the worker without copying when a tensor's view spans its whole ArrayBuffer. The
   * caller's tensors are then detached (empty) after `run`. Default false: inputs are copied once.
   */
  readonly transferInputs?: boolean;
}

const optimizationLevels = ['disabled', 'basic', 'extended', 'all'];

/**
 * The ONNX Runtime backend (`name: 'onnxruntime'` unless named). Sessions live in worker threads, so inference never runs
 * on the caller's event loop; runs go to the worker with the fewest runs in flight, and a crashed worker
 * fails its calls with UNAVAILABLE (WORKER_CRASHED) and is replaced. No thread starts before the first load.
 */
export function createOnnxRuntimeBackend(options: OnnxRuntimeBackendOptions = {}): Backend {
  const workers = options.workers ?? 1;
  if (!Number.isSafeInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer`);
  const executionProviders = options.executionProviders ?? ['cpu'];
  if (!Array.isArray(executionProviders) || executionProviders.some((ep) => typeof ep !== 'string')) {
    throw new TypeError('executionProviders must be an array of strings');
  }
  const { intraOpNumThreads, graphOptimizationLevel } = options;
  if (intraOpNumThreads !== undefined && (!Number.isSafeInteger(intraOpNumThreads) || intraOpNumThreads < 1)) {
    throw new RangeError('intraOpNumThreads must be a positive integer');
  }
  if (graphOptimizationLevel !== undefined && !optimizationLevels.includes(graphOptimizationLevel)) {
    throw new TypeError(`graphOptimizationLevel must be one of ${optimizationLevels.join(', ')}`);
  }
  if (
    options.threadNice !== undefined &&
    !(Number.isSafeInteger(options.threadNice) && options.threadNice >= 0 && options.threadNice <= 19)
  ) {
    throw new RangeError('threadNice must be an integer from 0 to 19');
  }
  const watchdogMs = options.watchdogMs ?? 120_000;
  if (!Number.isSafeInteger(watchdogMs) || watchdogMs < 1)
    throw new RangeError('watchdogMs must be a positive integer');
  const name = options.name ?? 'onnxruntime';
  const pool = createWorkerPool({
    backendName: name,
    workers,
    watchdogMs,
    executionProviders: [...executionProviders],
    transferInputs: options.transferInputs ?? false,
    ...(intraOpNumThreads === undefined ? {} : { intraOpNumThreads }),
    ...(options.allowSpinning ? { allowSpinning: true } : {}),
    ...(options.threadNice === undefined ? {} : { threadNice: options.threadNice }),
    ...(graphOptimizationLevel === undefined ? {} : { graphOptimizationLevel }),
  });
  let closing: Promise<void> | undefined;

  const backend: Backend = {
    name,

    async load(model: Uint8Array, loadOptions: LoadOptions = {}): Promise<BackendModel> {
      if (!(model instanceof Uint8Array)) throw new TypeError('model must be a Uint8Array');
      const { modelId, inputs, outputs } = await pool.load(model, loadOptions.signal);
      const outputNames = new Set(outputs.map((o) => o.name));
      let released = false;
      return {
        inputs,
        outputs,
        async run(tensors: TensorMap, runOptions: RunOptions = {}): Promise<TensorMap> {
          if (closing) {
            throw new FerryError(Code.FAILED_PRECONDITION, 'The ONNX Runtime backend is closed', {
              reason: 'BACKEND_CLOSED',
            });
          }
          if (released) {
            throw new FerryError(Code.FAILED_PRECONDITION, 'The model was released', { reason: 'MODEL_RELEASED' });
          }
          if (runOptions.signal?.aborted) throw abortedError(runOptions.signal);
          checkInputs(tensors, inputs);
          for (const name of runOptions.outputNames ?? []) {
            if (!outputNames.has(name)) {
              throw new FerryError(
                Code.INVALID_ARGUMENT,
                `Unknown output "${name}"; the model outputs (${formatSignature(outputs)})`,
                { reason: 'UNKNOWN_OUTPUT' },
              );
            }
          }
          return pool.run(modelId, tensors, runOptions.outputNames, runOptions.signal);
        },
        async release(): Promise<void> {
          released = true;
          pool.release(modelId);
        },
      };
    },

    close(): Promise<void> {
      closing ??= pool.close();
      return closing;
    },
  };
  pools.set(backend, pool);
  return backend;
}
