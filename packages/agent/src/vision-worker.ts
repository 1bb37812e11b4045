// The vision worker: image decoding, preprocessing and postprocessing off the agent's event loop. Model
// runs go back to the main thread (which owns the scheduler and the backend) as 'run' messages.
import { parentPort } from 'node:worker_threads';
import {
  Code,
  FerryError,
  fromWireError,
  lowerThreadPriority,
  type NumericTensor,
  type Tensor,
  tensorValues,
  toWireError,
} from '@ferry/core';
import { createOcrPipeline, decodeImage, detectText, preprocess, type TensorRunner, topK } from '@ferry/vision';
import {
  type FromVisionWorker,
  type ImageLimits,
  type OpRequest,
  type Role,
  type ToVisionWorker,
  transferable,
  UNKNOWN_OP,
} from './vision-messages.js';

const port = parentPort;
if (!port) throw new Error('vision-worker must run in a worker thread');
// Image work (and sharp's threads, started from here) yields to the event loop that serves every tenant.
lowerThreadPriority();

const runs = new Map<number, { resolve: (t: Tensor) => void; reject: (e: Error) => void }>();
let nextRunId = 1;

function post(message: FromVisionWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function runner(id: number, role: Role): TensorRunner {
  return (input: NumericTensor) =>
    new Promise<Tensor>((resolve, reject) => {
      const runId = nextRunId++;
      runs.set(runId, { resolve, reject });
      const { tensor, transfer } = transferable(input);
      post({ type: 'run', id, runId, role, input: tensor as NumericTensor }, transfer);
    });
}

async function perform(id: number, request: OpRequest, limits: ImageLimits): Promise<unknown> {
  const imageLimits = { maxBytes: limits.maxImageBytes, maxPixels: limits.maxImagePixels };
  switch (request.op) {
    case 'classify': {
      const { config } = request.model;
      const labels = request.model.labels ?? config.labels;
      if (!config.preprocess) {
        throw new FerryError(Code.FAILED_PRECONDITION, 'The model has no preprocess section', {
          reason: 'MODEL_CONFIG_INVALID',
        });
      }
      const image = await decodeImage(request.image, imageLimits);
      const output = await runner(id, 'model')(await preprocess(image, config.preprocess), {});
      if (output.dtype === 'string' || output.dtype === 'int64' || output.dtype === 'uint64') {
        throw new FerryError(Code.FAILED_PRECONDITION, 'The classifier output is not a numeric score tensor', {
          reason: 'MODEL_OUTPUT_MISMATCH',
        });
      }
      return topK(tensorValues(output) as ArrayLike<number>, {
        k: request.topK > 0 ? request.topK : config.postprocess.topK,
        ...(labels ? { labels } : {}),
        softmax: config.postprocess.softmax,
        threshold: config.postprocess.threshold,
      });
    }
    case 'detect-text':
      return detectText(request.image, {
        det: runner(id, 'det'),
        detConfig: request.det.config,
        maxImageBytes: limits.maxImageBytes,
        maxImagePixels: limits.maxImagePixels,
      });
    case 'ocr': {
      const keys = request.rec.labels;
      if (!keys)
        throw new FerryError(Code.FAILED_PRECONDITION, 'The recognizer has no dictionary', {
          reason: 'LABELS_MISSING',
        });
      const pipeline = createOcrPipeline({
        det: runner(id, 'det'),
        cls: runner(id, 'cls'),
        rec: runner(id, 'rec'),
        keys,
        detConfig: request.det.config,
        clsConfig: request.cls.config,
        recConfig: request.rec.config,
        maxImageBytes: limits.maxImageBytes,
        maxImagePixels: limits.maxImagePixels,
      });
      return pipeline.ocr(request.image);
    }
    default:
      throw UNKNOWN_OP((request as { op: string }).op);
  }
}

port.on('message', (message: ToVisionWorker) => {
  if (message.type === 'crash') process.exit(70);
  if (message.type === 'hang') {
    // Busy, never yielding: only terminate() ends it.
    while (Atomics.load(spin, 0) === 0) spin[1] = (spin[1] ?? 0) + 1;
    return;
  }
  if (message.type === 'ran') {
    const run = runs.get(message.runId);
    if (!run) return;
    runs.delete(message.runId);
    if (message.error) run.reject(fromWireError(message.error));
    else run.resolve(message.output as Tensor);
    return;
  }
  perform(message.id, message.request, message.limits).then(
    (result) => post({ type: 'done', id: message.id, result }),
    (error) => post({ type: 'done', id: message.id, error: toWireError(error) }),
  );
});

/** Never set: the `hang` test hook spins on it. */
const spin = new Int32Array(new SharedArrayBuffer(8));

post({ type: 'ready' });
