import type { Backend } from '@ferry/core';
import type { WorkerPool } from './worker-pool.js';

/** The worker pool behind each backend, for the hooks in `./testing` (never exported from the package root). */
export const pools = new WeakMap<Backend, WorkerPool>();
