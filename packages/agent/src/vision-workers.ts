import type { Worker } from 'node:worker_threads';
import { Code, FerryError, type NumericTensor, startWorker, type Tensor } from '@ferry/core';
import {
  type FromVisionWorker,
  fromWireError,
  type ImageLimits,
  type OpRequest,
  type Role,
  type ToVisionWorker,
  toWireError,
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
}

/**
 * Threads that decode, pre- and post-process images, so that a tenant's OCR never stalls another
 * tenant's calls on the agent's event loop. Started on first use; a crashed one fails its ops with
 * UNAVAILABLE and is replaced on the next op.
 */
export class VisionWorkers {
  readonly #slots: Slot[];
  readonly #limits: ImageLimits;
  #nextId = 1;
  #closed = false;

  constructor(options: { readonly size: number; readonly limits: ImageLimits }) {
    this.#slots = Array.from({ length: options.size }, () => ({ worker: undefined, ops: new Map() }));
    this.#limits = options.limits;
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
    });
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
    worker.unref();
    worker.on('message', (message: FromVisionWorker) => {
      if (message.type === 'done') {
        const op = slot.ops.get(message.id);
        if (!op) return;
        slot.ops.delete(message.id);
        if (slot.ops.size === 0) worker.unref();
        if (message.error) op.reject(fromWireError(message.error));
        else op.resolve(message.result);
        return;
      }
      const op = slot.ops.get(message.id);
      const reply = (output: Tensor | undefined, error?: unknown) => {
        if (slot.worker !== worker) return;
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
    const ops = [...slot.ops.values()];
    slot.ops.clear();
    for (const op of ops) op.reject(error);
  }
}
