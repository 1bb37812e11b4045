import { Code, FerryError } from '@ferry/core';

export interface ScheduleOptions {
  readonly signal?: AbortSignal;
}

export interface Timing {
  /** Time spent waiting for a free slot. */
  readonly queueMs: number;
  /** Time spent running. */
  readonly computeMs: number;
}

interface Waiter {
  readonly start: () => void;
  readonly cancel: (reason: unknown) => void;
}

interface Lane {
  running: number;
  readonly waiting: Waiter[];
}

/**
 * Per-model concurrency: at most `concurrency` runs of one model at once, the rest wait in a bounded
 * queue. Queued work whose signal aborts (deadline passed, connection closed) leaves the queue unrun.
 */
export class ModelScheduler {
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #lanes = new Map<string, Lane>();

  constructor(options: { readonly concurrency: number; readonly maxQueue: number }) {
    this.#concurrency = options.concurrency;
    this.#maxQueue = options.maxQueue;
  }

  /** Queued runs across all models. */
  get queued(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.waiting.length;
    return n;
  }

  async run<T>(
    key: string,
    work: () => Promise<T>,
    options: ScheduleOptions = {},
  ): Promise<{ value: T; timing: Timing }> {
    const { signal } = options;
    signal?.throwIfAborted();
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { running: 0, waiting: [] };
      this.#lanes.set(key, lane);
    }
    const queued = performance.now();
    if (lane.running >= this.#concurrency) {
      if (lane.waiting.length >= this.#maxQueue) {
        throw new FerryError(
          Code.RESOURCE_EXHAUSTED,
          `${lane.waiting.length} runs already wait for this model (limit ${this.#maxQueue})`,
          { reason: 'MODEL_QUEUE_FULL' },
        );
      }
      const current = lane;
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          start: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          cancel: reject,
        };
        const onAbort = () => {
          const index = current.waiting.indexOf(waiter);
          if (index >= 0) current.waiting.splice(index, 1);
          reject(FerryError.from(signal?.reason, Code.CANCELLED));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        current.waiting.push(waiter);
      });
      // The finishing run handed its slot over: `running` already counts this one.
    } else {
      lane.running++;
    }
    const started = performance.now();
    try {
      const value = await work();
      return { value, timing: { queueMs: started - queued, computeMs: performance.now() - started } };
    } finally {
      const next = lane.waiting.shift();
      if (next) next.start();
      else if (--lane.running === 0) this.#lanes.delete(key);
    }
  }
}
