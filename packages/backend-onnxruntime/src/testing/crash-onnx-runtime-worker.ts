import type { Backend } from '@ferry/core';
import { pools } from '../pools.js';
import type { WorkerPool } from '../worker-pool.js';

function poolOf(backend: Backend): WorkerPool {
  const pool = pools.get(backend);
  if (!pool) throw new TypeError('Not a backend made by createOnnxRuntimeBackend()');
  return pool;
}

export interface CrashWorkerOptions {
  /** Which worker; 0 when absent. */
  readonly index?: number;
  /** `'throw'`: an uncaught exception (the worker's `error` event); `'exit'`: `process.exit` in the worker. */
  readonly mode?: 'throw' | 'exit';
}

/**
 * Testing only: makes a running worker of an ONNX Runtime backend die as a crash would, after the messages
 * already posted to it. Calls dispatched to it before the returned promise settles fail with WORKER_CRASHED.
 * Resolves once the worker is gone.
 */
export function crashOnnxRuntimeWorker(backend: Backend, options: CrashWorkerOptions = {}): Promise<void> {
  return poolOf(backend).crash(options.index ?? 0, options.mode ?? 'throw');
}

export interface OnnxRuntimeWorkerStats {
  readonly started: boolean;
  readonly runsInFlight: number;
  readonly modelsLoaded: number;
}

/** Testing only: per worker, whether it runs, its runs in flight and how many models it has loaded. */
export function onnxRuntimeWorkerStats(backend: Backend): OnnxRuntimeWorkerStats[] {
  return poolOf(backend).stats();
}
