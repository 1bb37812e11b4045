import type { Worker } from 'node:worker_threads';
import {
  backendChannels,
  Code,
  FerryError,
  fromWireError,
  startWorker,
  type TensorInfo,
  type TensorMap,
} from '@ferry/core';
import { type FromWorker, fromWire, type SessionSettings, type ToWorker, toWire } from './wire.js';

export interface WorkerPoolOptions extends SessionSettings {
  /** The backend's name, for `ferry:backend:worker:restart`. */
  readonly backendName: string;
  readonly workers: number;
  readonly transferInputs: boolean;
  /** A worker that has not answered a load or run for this long is hung: replaced, its calls failed. */
  readonly watchdogMs: number;
}

export interface WorkerStats {
  /** Whether a worker thread is running in this slot (crashed workers are replaced on the next dispatch). */
  readonly started: boolean;
  readonly runsInFlight: number;
  readonly modelsLoaded: number;
}

/** The worker threads of one backend; internal to this package. */
export interface WorkerPool {
  load(
    bytes: Uint8Array,
    signal?: AbortSignal,
  ): Promise<{ modelId: number; inputs: TensorInfo[]; outputs: TensorInfo[] }>;
  run(
    modelId: number,
    inputs: TensorMap,
    outputNames: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Promise<TensorMap>;
  release(modelId: number): void;
  close(): Promise<void>;
  /** Testing: makes worker `index` die; resolves once the pool has noticed. */
  crash(index: number, mode: 'throw' | 'exit'): Promise<void>;
  stats(): WorkerStats[];
}

interface Pending {
  readonly run: boolean;
  resolve(message: FromWorker): void;
  reject(error: FerryError): void;
}

interface Slot {
  readonly index: number;
  worker?: Worker | undefined;
  /** Resolves when the current worker is gone. */
  gone?: Promise<void>;
  runsInFlight: number;
  readonly pending: Map<number, Pending>;
  readonly loaded: Set<number>;
  /** Whether the current worker has loaded ONNX Runtime and said so. */
  ready?: boolean;
  /** Fires when the worker has pending calls and has not replied for `watchdogMs`. */
  watchdog?: ReturnType<typeof setTimeout> | undefined;
}

/** Turns an aborted signal into CANCELLED (or DEADLINE_EXCEEDED for AbortSignal.timeout). */
export function abortedError(signal: AbortSignal): FerryError {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && (reason.name === 'AbortError' || reason.name === 'TimeoutError')) {
    return FerryError.from(reason);
  }
  return new FerryError(Code.CANCELLED, 'The operation was aborted', { reason: 'CANCELLED', cause: reason });
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The stack of an ONNX Runtime worker thread. ONNX Runtime's session creation recurses natively on the
 * calling thread; on Node's default 4 MiB worker stack that overflowed (SIGSEGV at the first model load) once
 * the process was started with a long command line (600 `--listen` flags); 16 MiB loads the PP-OCR models
 * with 1,500 (test/e2e/hardening.test.ts).
 */
const ORT_WORKER_STACK_MB = 16;

function startOrtWorker(settings: SessionSettings): Worker {
  return startWorker(import.meta.url, 'ort-worker', { workerData: settings, stackSizeMb: ORT_WORKER_STACK_MB });
}

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const settings: SessionSettings = {
    executionProviders: options.executionProviders,
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
    ...(options.graphOptimizationLevel === undefined ? {} : { graphOptimizationLevel: options.graphOptimizationLevel }),
    ...(options.allowSpinning ? { allowSpinning: true } : {}),
    ...(options.threadNice === undefined ? {} : { threadNice: options.threadNice }),
  };
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({
    index,
    runsInFlight: 0,
    pending: new Map(),
    loaded: new Set(),
  }));
  /** Model bytes, kept to load a model lazily on further workers and on the replacements of crashed ones. */
  const models = new Map<number, Uint8Array>();
  let nextModelId = 1;
  let nextCallId = 1;
  let closed = false;
  /** Hung workers set aside (unref'd): each exits once its native call returns; close() waits for them. */
  const abandoned = new Map<Worker, Promise<void>>();

  const failAll = (slot: Slot, error: FerryError) => {
    clearTimeout(slot.watchdog);
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    slot.runsInFlight = 0;
    for (const p of pending) p.reject(error);
  };

  const lost = (slot: Slot, worker: Worker, why: string) => {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    // A worker died; it is replaced on the next dispatch.
    const restarts = backendChannels.workerRestart;
    if (restarts.hasSubscribers) restarts.publish({ backend: options.backendName, worker: slot.index, reason: why });
    slot.loaded.clear();
    failAll(
      slot,
      new FerryError(Code.UNAVAILABLE, `ONNX Runtime worker ${slot.index} crashed: ${why}`, {
        reason: 'WORKER_CRASHED',
      }),
    );
  };

  /**
   * The watchdog fired: the worker has been inside one native call for `watchdogMs`. It cannot be
   * terminated (stopping a worker inside onnxruntime-node's native code aborts the whole process), so it
   * is set aside instead: its calls fail with UNAVAILABLE `WORKER_HUNG` now, the slot gets a fresh worker
   * on the next dispatch, and the old one is told to exit, which it does as soon as the native call returns.
   */
  /**
   * Arms the slot's watchdog for calls now pending; every reply from the worker re-arms it, the last one
   * disarms it. So it measures time without progress, not the length of a queue of healthy runs.
   */
  const watch = (slot: Slot, worker: Worker) => {
    clearTimeout(slot.watchdog);
    slot.watchdog = setTimeout(() => hung(slot, worker), options.watchdogMs);
    slot.watchdog.unref();
  };

  const hung = (slot: Slot, worker: Worker) => {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const restarts = backendChannels.workerRestart;
    if (restarts.hasSubscribers) restarts.publish({ backend: options.backendName, worker: slot.index, reason: 'hung' });
    slot.loaded.clear();
    const gone = slot.gone ?? Promise.resolve();
    abandoned.set(worker, gone);
    void gone.then(() => abandoned.delete(worker));
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    worker.unref();
    failAll(
      slot,
      new FerryError(
        Code.UNAVAILABLE,
        `ONNX Runtime worker ${slot.index} did not answer within ${options.watchdogMs} ms and was replaced`,
        { reason: 'WORKER_HUNG' },
      ),
    );
  };

  const spawn = (slot: Slot): Worker => {
    const worker = startOrtWorker(settings);
    slot.worker = worker;
    slot.ready = false;
    slot.gone = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.unref();
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') {
        slot.ready = true;
        if (slot.pending.size > 0) watch(slot, worker);
        return;
      }
      const pending = slot.pending.get(message.callId);
      if (!pending) return;
      slot.pending.delete(message.callId);
      if (pending.run) slot.runsInFlight--;
      if (slot.pending.size === 0) {
        worker.unref();
        clearTimeout(slot.watchdog);
      } else {
        slot.watchdog?.refresh();
      }
      pending.resolve(message);
    });
    worker.on('error', (error) => lost(slot, worker, error.message));
    worker.on('exit', (code) => lost(slot, worker, `exited with code ${code}`));
    return worker;
  };

  /** Posts a message that expects a reply; rejects with WORKER_CRASHED if the worker dies first. */
  const call = (slot: Slot, message: ToWorker & { callId: number }, run: boolean, transfer: ArrayBuffer[] = []) => {
    const worker = slot.worker ?? spawn(slot);
    return new Promise<FromWorker>((resolve, reject) => {
      if (slot.pending.size === 0) worker.ref();
      // Starting a worker (loading ONNX Runtime into it) is not counted: the watchdog starts at 'ready'.
      if (slot.pending.size === 0 && slot.ready) watch(slot, worker);
      slot.pending.set(message.callId, { run, resolve, reject });
      if (run) slot.runsInFlight++;
      worker.postMessage(message, transfer);
    });
  };

  /** The slot with the fewest runs in flight (the lowest index among equals). */
  const pick = (): Slot =>
    slots.reduce((best, slot) => (slot.runsInFlight < best.runsInFlight ? slot : best), slots[0] as Slot);

  const replyError = (message: FromWorker): FerryError => {
    if (message.type !== 'failed') {
      return new FerryError(Code.INTERNAL, `Unexpected reply "${message.type}" from an ONNX Runtime worker`, {
        reason: 'UNEXPECTED_WORKER_REPLY',
      });
    }
    return fromWireError(message.error);
  };

  const closedError = () =>
    new FerryError(Code.FAILED_PRECONDITION, 'The ONNX Runtime backend is closed', { reason: 'BACKEND_CLOSED' });

  return {
    async load(bytes, signal) {
      if (signal?.aborted) throw abortedError(signal);
      if (closed) throw closedError();
      const modelId = nextModelId++;
      const slot = pick();
      // Cloned, not transferred: the caller keeps its bytes and the pool keeps a copy for lazy loads.
      const reply = call(slot, { type: 'load', modelId, bytes, callId: nextCallId++ }, false);
      let message: FromWorker;
      try {
        message = await raceAbort(reply, signal);
      } catch (error) {
        // Cancelled while loading: free the session once the worker has it.
        reply.then(
          (m) => {
            if (m.type === 'loaded') slot.worker?.postMessage({ type: 'release', modelId } satisfies ToWorker);
          },
          () => {},
        );
        throw error;
      }
      if (message.type !== 'loaded') throw replyError(message);
      slot.loaded.add(modelId);
      models.set(modelId, bytes.slice());
      return { modelId, inputs: [...message.inputs], outputs: [...message.outputs] };
    },

    async run(modelId, inputs, outputNames, signal) {
      if (signal?.aborted) throw abortedError(signal);
      if (closed) throw closedError();
      const bytes = models.get(modelId);
      if (!bytes)
        throw new FerryError(Code.FAILED_PRECONDITION, 'The model was released', { reason: 'MODEL_RELEASED' });
      const slot = pick();
      const worker = slot.worker ?? spawn(slot);
      if (!slot.loaded.has(modelId)) {
        worker.postMessage({ type: 'load', modelId, bytes } satisfies ToWorker);
        slot.loaded.add(modelId);
      }
      const wire = toWire(Object.entries(inputs), options.transferInputs);
      const message = await raceAbort(
        call(
          slot,
          {
            type: 'run',
            callId: nextCallId++,
            modelId,
            inputs: wire.tensors,
            ...(outputNames ? { outputNames: [...outputNames] } : {}),
          },
          true,
          wire.transfer,
        ),
        signal,
      );
      if (message.type !== 'result') throw replyError(message);
      return fromWire(message.outputs);
    },

    release(modelId) {
      if (!models.delete(modelId)) return;
      for (const slot of slots) {
        if (slot.loaded.delete(modelId)) slot.worker?.postMessage({ type: 'release', modelId } satisfies ToWorker);
      }
    },

    async close() {
      closed = true;
      models.clear();
      const error = new FerryError(Code.UNAVAILABLE, 'The ONNX Runtime backend was closed', {
        reason: 'BACKEND_CLOSED',
      });
      await Promise.all(
        slots.map(async (slot) => {
          const worker = slot.worker;
          slot.worker = undefined;
          slot.loaded.clear();
          failAll(slot, error);
          if (!worker) return;
          // Not worker.terminate(): stopping a worker inside onnxruntime-node's native run() aborts the whole
          // process. The worker exits by itself between runs, so close() waits for the run in progress, if any.
          const gone = slot.gone;
          worker.ref();
          worker.postMessage({ type: 'close' } satisfies ToWorker);
          await gone;
        }),
      );
      // Workers set aside as hung exit when their native call returns; held (ref'd) until then.
      for (const worker of abandoned.keys()) worker.ref();
      await Promise.all(abandoned.values());
    },

    async crash(index, mode) {
      const slot = slots[index];
      if (!slot) throw new RangeError(`No worker ${index} (the backend has ${slots.length})`);
      const worker = slot.worker;
      if (!worker)
        throw new FerryError(Code.FAILED_PRECONDITION, `Worker ${index} is not running`, {
          reason: 'WORKER_NOT_RUNNING',
        });
      const gone = slot.gone;
      worker.ref(); // keep the process alive until the worker is gone
      worker.postMessage({ type: 'crash', mode } satisfies ToWorker);
      await gone;
    },

    stats() {
      return slots.map((slot) => ({
        started: slot.worker !== undefined,
        runsInFlight: slot.runsInFlight,
        modelsLoaded: slot.loaded.size,
      }));
    },
  };
}
