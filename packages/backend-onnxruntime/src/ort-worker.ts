// The entry of an ONNX Runtime worker thread: it owns the InferenceSessions and runs them, so that
// onnxruntime-node's synchronous native run() never blocks the backend's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import {
  Code,
  type Dim,
  isDType,
  lowerThreadPriority,
  type NumericDType,
  startedWorkerData,
  type TensorInfo,
  tensorValues,
  type WireError,
} from '@ferry/core';
import * as ort from 'onnxruntime-node';
import type { FromWorker, SessionSettings, ToWorker, WireTensor } from './wire.js';

if (!parentPort) throw new Error('ort-worker must run in a worker thread');
const port = parentPort;
const settings = startedWorkerData<SessionSettings>(workerData);
// Before any session exists, so that ONNX Runtime's intra-op threads inherit the lower priority too.
lowerThreadPriority(settings.threadNice);

// Libraries do not log: errors reach the caller as FerryErrors instead of ONNX Runtime's stderr lines.
ort.env.logLevel = 'fatal';
const sessionOptions: ort.InferenceSession.SessionOptions = {
  executionProviders: [...settings.executionProviders],
  logSeverityLevel: 4,
  ...(settings.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: settings.intraOpNumThreads }),
  ...(settings.graphOptimizationLevel === undefined ? {} : { graphOptimizationLevel: settings.graphOptimizationLevel }),
  // Spinning intra-op threads keep cores busy between runs, taking them from the agent's event loop and
  // from other tenants' work; a shared agent does not spin unless told to.
  ...(settings.allowSpinning
    ? {}
    : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
};

interface Entry {
  readonly session: Promise<ort.InferenceSession>;
  running: number;
  released: boolean;
}

const models = new Map<number, Entry>();

class WorkerFailure extends Error {
  readonly wire: WireError;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.wire = { code, reason, message };
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function loadFailure(error: unknown): WireError {
  if (error instanceof WorkerFailure) return error.wire;
  const message = messageOf(error);
  if (/ExecutionProvider|backend not found/i.test(message)) {
    return { code: Code.FAILED_PRECONDITION, reason: 'EXECUTION_PROVIDER_UNAVAILABLE', message };
  }
  return {
    code: Code.INVALID_ARGUMENT,
    reason: 'INVALID_MODEL',
    message: `ONNX Runtime cannot load the model: ${message}`,
  };
}

function infoOf(meta: ort.InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) {
    throw new WorkerFailure(Code.INVALID_ARGUMENT, 'UNSUPPORTED_MODEL', `Value "${meta.name}" is not a tensor`);
  }
  if (!isDType(meta.type)) {
    throw new WorkerFailure(
      Code.INVALID_ARGUMENT,
      'UNSUPPORTED_MODEL',
      `Value "${meta.name}" has element type ${meta.type}, which Ferry does not carry`,
    );
  }
  // onnxruntime-node reports a dimension without value or name as the symbolic name ''.
  const shape: Dim[] = meta.shape.map((d) => (d === '' ? null : d));
  return { name: meta.name, dtype: meta.type, shape };
}

async function load(message: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  const session = ort.InferenceSession.create(message.bytes, sessionOptions);
  const entry: Entry = { session, running: 0, released: false };
  models.set(message.modelId, entry);
  const { callId } = message;
  try {
    const s = await session;
    if (callId === undefined) return;
    post({ type: 'loaded', callId, inputs: s.inputMetadata.map(infoOf), outputs: s.outputMetadata.map(infoOf) });
  } catch (error) {
    if (callId === undefined) return; // a lazy load: the runs that wait for it report the failure
    models.delete(message.modelId);
    post({ type: 'failed', callId, error: loadFailure(error) });
  }
}

async function run(message: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const { callId } = message;
  const entry = models.get(message.modelId);
  if (!entry || entry.released) {
    post({
      type: 'failed',
      callId,
      error: { code: Code.FAILED_PRECONDITION, reason: 'MODEL_RELEASED', message: 'The model was released' },
    });
    return;
  }
  entry.running++;
  let session: ort.InferenceSession;
  try {
    session = await entry.session;
  } catch (error) {
    entry.running--;
    post({ type: 'failed', callId, error: loadFailure(error) });
    return;
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of message.inputs) {
      feeds[t.name] =
        t.dtype === 'string'
          ? new ort.Tensor('string', [...(t.data as string[])], t.shape)
          : new ort.Tensor(
              t.dtype as ort.Tensor.Type,
              tensorValues({ dtype: t.dtype, shape: t.shape, data: new Uint8Array(t.data as ArrayBuffer) }) as never,
              t.shape,
            );
    }
    const results = message.outputNames ? await session.run(feeds, [...message.outputNames]) : await session.run(feeds);
    const outputs: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const [name, value] of Object.entries(results)) {
      const out = value as ort.Tensor;
      if (out.type === 'string') {
        outputs.push({ name, dtype: 'string', shape: [...out.dims], data: out.data as string[] });
        continue;
      }
      if (!isDType(out.type))
        throw new Error(`Output "${name}" has element type ${out.type}, which Ferry does not carry`);
      const view = out.data as Uint8Array;
      const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
      const data = whole && view.buffer instanceof ArrayBuffer ? view.buffer : copyOf(view);
      transfer.push(data);
      outputs.push({ name, dtype: out.type as NumericDType, shape: [...out.dims], data });
    }
    post({ type: 'result', callId, outputs }, transfer);
  } catch (error) {
    post({
      type: 'failed',
      callId,
      error: { code: Code.INTERNAL, reason: 'RUN_FAILED', message: `ONNX Runtime run failed: ${messageOf(error)}` },
    });
  } finally {
    entry.running--;
    if (entry.released && entry.running === 0) void dispose(message.modelId, entry);
  }
}

function copyOf(view: ArrayBufferView): ArrayBuffer {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice().buffer;
}

async function dispose(modelId: number, entry: Entry): Promise<void> {
  if (models.get(modelId) === entry) models.delete(modelId);
  try {
    await (await entry.session).release();
  } catch {
    // A session that failed to load has nothing to free.
  }
}

function release(modelId: number): void {
  const entry = models.get(modelId);
  if (!entry || entry.released) return;
  entry.released = true;
  if (entry.running === 0) void dispose(modelId, entry);
}

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'load':
      void load(message);
      return;
    case 'run':
      void run(message);
      return;
    case 'release':
      release(message.modelId);
      return;
    case 'close':
      // Messages are handled between runs, so no native run is in progress here.
      process.exit(0);
      return;
    case 'crash':
      if (message.mode === 'exit') process.exit(70);
      throw new Error('ONNX Runtime worker crashed on request (testing)');
  }
});

post({ type: 'ready' });
