import type { RunOptions, TensorMap } from '@ferry/core';
import type { OpReport } from './diagnostics.js';
import type { CachedModel, ModelCache } from './model-cache.js';
import type { ModelScheduler } from './model-scheduler.js';

/**
 * Where every model run passes: `Infer`, the vision ops' runs and vAccel's tensor calls. A run waits its
 * turn in the model's scheduler queue, holds the model in the cache so eviction waits for it, and adds its
 * queue and compute time to the call's report.
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
    options: RunOptions & { readonly report?: OpReport },
  ): Promise<TensorMap> {
    this.#cache.retain(cached);
    try {
      const { value, timing } = await this.#scheduler.run(cached.key, () => cached.model.run(inputs, options), {
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (options.report) {
        options.report.queueMs = (options.report.queueMs ?? 0) + timing.queueMs;
        options.report.computeMs = (options.report.computeMs ?? 0) + timing.computeMs;
      }
      return value;
    } finally {
      await this.#cache.release(cached);
    }
  }
}
