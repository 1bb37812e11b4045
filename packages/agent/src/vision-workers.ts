import type { Worker } from 'node:worker_threads';
import {
  Code,
  FerryError,
  fromWireError,
  type NumericTensor,
  startWorker,
  type Tensor,
  toWireError,
} from '@ferry/core';
import {
  type FromVisionWorker,
  type ImageLimits,
  type OpRequest,
  type Role,
  type ToVisionWorker,
  transferable,
} from './vision-messages.js';

/** Runs one of the op's models for the worker, on the main thread (scheduler, backend). */
export type RunFor = (role: Role, input: NumericTensor) => Promise<Tensor>;

interface Op {
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: FerryError) => void;
  readonly runFor: RunFor;
}

interface Slot {
  worker: Worker | undefined;
  readonly ops: Map<number, Op>;
  /** Model runs the worker asked for and waits on (time spent there is not the worker's). */
  awaitingRuns: number;
  /** Whether the current worker has started (loaded its modules); starting is not counted by the watchdog. */
  ready: boolean;
  /** Armed while some op is the worker's own work; fires after `watchdogMs` without a message from it. */
  watchdog: ReturnType<typeof setTimeout> | undefined;
}

/** Default of the vision watchdog: a minute of a worker's own work (decoding, pre/post-processing) without progress. */
const DEFAULT_WATCHDOG_MS = 60_000;

/**
 * Threads that decode, pre- and post-process images, so that a tenant's OCR never stalls another
 * tenant's calls on the agent's event loop. Started on first use; a crashed one fails its ops with
 * UNAVAILABLE and is replaced on the next op.
 */
export class VisionWorkers {
  readonly #slots: Slot[];
  readonly #limits: ImageLimits;
  readonly #watchdogMs: number;
  #nextId = 1;
  #closed = false;

  constructor(options: { readonly size: number; readonly limits: ImageLimits; readonly watchdogMs?: number }) {
    this.#slots = Array.from({ length: options.size }, () => ({
      worker: undefined,
      ops: new Map(),
      ready: false,
      awaitingRuns: 0,
      watchdog: undefined,
    }));
    this.#limits = options.limits;
    this.#watchdogMs = options.watchdogMs ?? DEFAULT_WATCHDOG_MS;
  }

  run(request: OpRequest, runFor: RunFor, options: { readonly signal?: AbortSignal } = {}): Promise<unknown> {
    if (this.#closed) {
      return Promise.reject(new FerryError(Code.UNAVAILABLE, 'The agent is closing', { reason: 'AGENT_CLOSING' }));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(FerryError.from(signal.reason, Code.CANCELLED));
    const slot = this.#slots.reduce((best, s) => (s.ops.size < best.ops.size ? s : best));
    const worker = slot.worker ?? this.#spawn(slot);
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => {
        if (slot.ops.delete(id)) reject(FerryError.from(signal?.reason, Code.CANCELLED));
        if (slot.ops.size === 0) worker.unref();
        this.#watch(slot, worker);
      };
      const settle = () => signal?.removeEventListener('abort', onAbort);
      slot.ops.set(id, {
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        runFor,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.ref();
      // The image is the caller's (a view into a received frame): cloned, not transferred.
      worker.postMessage({ type: 'op', id, request, limits: this.#limits } satisfies ToVisionWorker);
      this.#watch(slot, worker);
    });
  }

  /** Test hook: makes worker `index` spin forever, as a pathological decode would. */
  hang(index: number): void {
    this.#slots[index]?.worker?.postMessage({ type: 'hang' } satisfies ToVisionWorker);
  }

  /**
   * (Re-)arms the slot's watchdog while some op is the worker's own work (not waiting for a model run on
   * this thread); any message from the worker counts as progress. A worker that makes none for
   * `watchdogMs` is terminated (it runs JavaScript and sharp, which can be stopped) and its ops fail with
   * UNAVAILABLE `WORKER_HUNG`; the next op starts a fresh one.
   */
  #watch(slot: Slot, worker: Worker): void {
    clearTimeout(slot.watchdog);
    slot.watchdog = undefined;
    if (slot.worker !== worker || !slot.ready || slot.ops.size <= slot.awaitingRuns) return;
    slot.watchdog = setTimeout(() => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      this.#fail(
        slot,
        new FerryError(
          Code.UNAVAILABLE,
          `A vision worker made no progress for ${this.#watchdogMs} ms and was stopped`,
          {
            reason: 'WORKER_HUNG',
          },
        ),
      );
      void worker.terminate();
    }, this.#watchdogMs);
    slot.watchdog.unref();
  }

  /** Ops in flight, per worker. */
  get inflight(): number[] {
    return this.#slots.map((s) => s.ops.size);
  }

  /** Test hook: makes worker `index` exit as a crash would; resolves once it is gone. */
  async crash(index: number): Promise<void> {
    const worker = this.#slots[index]?.worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'crash' } satisfies ToVisionWorker);
    await exited;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#slots.map(async (slot) => {
        const worker = slot.worker;
        slot.worker = undefined;
        this.#fail(slot, new FerryError(Code.UNAVAILABLE, 'The agent is closing', { reason: 'AGENT_CLOSING' }));
        await worker?.terminate();
      }),
    );
  }

  #spawn(slot: Slot): Worker {
    const worker = startWorker(import.meta.url, 'vision-worker');
    slot.worker = worker;
    slot.ready = false;
    worker.unref();
    worker.on('message', (message: FromVisionWorker) => {
      if (message.type === 'ready') {
        slot.ready = true;
        this.#watch(slot, worker);
        return;
      }
      if (message.type === 'done') {
        const op = slot.ops.get(message.id);
        if (!op) return;
        slot.ops.delete(message.id);
        if (slot.ops.size === 0) worker.unref();
        this.#watch(slot, worker);
        if (message.error) op.reject(fromWireError(message.error));
        else op.resolve(message.result);
        return;
      }
      const op = slot.ops.get(message.id);
      slot.awaitingRuns++;
      this.#watch(slot, worker);
      const reply = (output: Tensor | undefined, error?: unknown) => {
        if (slot.worker !== worker) return;
        slot.awaitingRuns--;
        this.#watch(slot, worker);
        if (error !== undefined || !output) {
          worker.postMessage({ type: 'ran', runId: message.runId, error: toWireError(error) } satisfies ToVisionWorker);
          return;
        }
        const { tensor, transfer } = transferable(output);
        worker.postMessage({ type: 'ran', runId: message.runId, output: tensor } satisfies ToVisionWorker, transfer);
      };
      if (!op) {
        reply(undefined, new FerryError(Code.CANCELLED, 'The op was cancelled', { reason: 'CANCELLED' }));
        return;
      }
      op.runFor(message.role, message.input).then(
        (output) => reply(output),
        (error) => reply(undefined, error),
      );
    });
    const lost = (why: string) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      this.#fail(
        slot,
        new FerryError(Code.UNAVAILABLE, `A vision worker crashed: ${why}`, { reason: 'VISION_WORKER_CRASHED' }),
      );
    };
    worker.on('error', (error) => lost(error.message));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    return worker;
  }

  #fail(slot: Slot, error: FerryError): void {
    clearTimeout(slot.watchdog);
    slot.watchdog = undefined;
    slot.awaitingRuns = 0;
    const ops = [...slot.ops.values()];
    slot.ops.clear();
    for (const op of ops) op.reject(error);
  }
}
