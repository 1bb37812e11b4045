import type { RunOptions, TensorMap } from '@ferry/core';
import type { OpReport } from './diagnostics.js';
import type { CachedModel, ModelCache } from './model-cache.js';
import type { BatchPolicy, ModelScheduler } from './model-scheduler.js';

/**
 * Where every model run passes: `Infer`, the vision ops' runs and vAccel's tensor calls. A run waits its
 * turn in `tenant`'s queue of the model's scheduler (batched with other requests when `batching` is given),
 * holds the model in the cache so eviction waits for it, and adds its queue and compute time and its batch
 * size to the call's report.
 */
export class ModelRunner {
  readonly #cache: ModelCache;
  readonly #scheduler: ModelScheduler;

  constructor(options: { readonly cache: ModelCache; readonly scheduler: ModelScheduler }) {
    this.#cache = options.cache;
    this.#scheduler = options.scheduler;
  }

  async run(
    cached: CachedModel,
    inputs: TensorMap,
    options: RunOptions & { readonly report?: OpReport; readonly tenant?: string; readonly batching?: BatchPolicy },
  ): Promise<TensorMap> {
    this.#cache.retain(cached);
    try {
      const { value, timing } = await this.#scheduler.infer(cached.key, cached.model, inputs, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
        ...(options.outputNames ? { outputNames: options.outputNames } : {}),
        ...(options.batching ? { batching: options.batching } : {}),
      });
      const report = options.report;
      if (report) {
        report.queueMs = (report.queueMs ?? 0) + timing.queueMs;
        report.computeMs = (report.computeMs ?? 0) + timing.computeMs;
        report.batchSize = Math.max(report.batchSize ?? 0, timing.batchSize);
      }
      return value;
    } finally {
      await this.#cache.release(cached);
    }
  }
}
