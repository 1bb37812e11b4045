import type { ModelConfig } from '@ferry/vision';
import type { BatchPolicy } from './model-scheduler.js';

/** The agent's batching of repository models whose ferry.json says nothing: small batches, no added wait. */
export const DEFAULT_BATCHING: BatchPolicy = { maxBatch: 8, maxQueueDelayUs: 0 };

/**
 * How a repository model's runs are batched: its ferry.json `batching`, over the agent's default
 * (`false`: off unless ferry.json turns it on). Models uploaded by guests are never batched across
 * tenants: a model that mixed rows (a sum over the batch, say) would mix tenants' data.
 */
export function batchPolicy(config: ModelConfig, defaults: BatchPolicy | false): BatchPolicy | undefined {
  const own = config.batching;
  if (own?.enabled === false) return undefined;
  if (!own && defaults === false) return undefined;
  const base = defaults === false ? DEFAULT_BATCHING : defaults;
  const policy = {
    maxBatch: own?.maxBatch ?? base.maxBatch,
    maxQueueDelayUs: own?.maxQueueDelayUs ?? base.maxQueueDelayUs,
  };
  return policy.maxBatch > 1 ? policy : undefined;
}

/** Checks an agent-level batching option: throws RangeError naming the bad field. */
export function checkBatchPolicy(policy: BatchPolicy | false): void {
  if (policy === false) return;
  if (!Number.isSafeInteger(policy.maxBatch) || policy.maxBatch < 1 || policy.maxBatch > 1024) {
    throw new RangeError('batching.maxBatch must be an integer in [1, 1024]');
  }
  if (!Number.isSafeInteger(policy.maxQueueDelayUs) || policy.maxQueueDelayUs < 0 || policy.maxQueueDelayUs > 1e6) {
    throw new RangeError('batching.maxQueueDelayUs must be an integer in [0, 1000000]');
  }
}
