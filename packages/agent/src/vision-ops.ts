import type { NumericTensor, RunOptions, Tensor, TensorMap } from '@ferry/core';
import { Code, FerryError, tensorValues } from '@ferry/core';
import {
  type Classification,
  createOcrPipeline,
  decodeImage,
  ModelTask,
  type OcrResult,
  preprocess,
  type TensorRunner,
  type TextBox,
  topK,
} from '@ferry/vision';
import type { ModelCache } from './model-cache.js';
import type { LoadedModel, ModelRepository } from './model-repository.js';
import type { ModelScheduler } from './model-scheduler.js';

/** What an op reports for metrics: the model, time queued and computing, images or lines per run. */
export interface OpReport {
  model?: string;
  queueMs?: number;
  computeMs?: number;
  batchSize?: number;
}

export interface VisionLimits {
  readonly maxImageBytes: number;
  readonly maxImagePixels: number;
}

export const BUILTIN_OCR = { det: 'ppocr-det', cls: 'ppocr-cls', rec: 'ppocr-rec' } as const;

/**
 * The vision ops: images decoded and pre/post-processed here, models run through the scheduler on
 * the backend's workers.
 */
export class VisionOps {
  readonly #repository: ModelRepository;
  readonly #cache: ModelCache;
  readonly #scheduler: ModelScheduler;
  readonly #limits: VisionLimits;

  constructor(options: {
    readonly repository: ModelRepository;
    readonly cache: ModelCache;
    readonly scheduler: ModelScheduler;
    readonly limits: VisionLimits;
  }) {
    this.#repository = options.repository;
    this.#cache = options.cache;
    this.#scheduler = options.scheduler;
    this.#limits = options.limits;
  }

  /** Runs a loaded model under the per-model scheduler, holding it so eviction waits. */
  async run(
    cached: LoadedModel['cached'],
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

  async classify(
    image: Uint8Array,
    options: { model: string; topK: number; signal: AbortSignal; report: OpReport },
  ): Promise<Classification[]> {
    const loaded = await this.#loadFor(options.model, [ModelTask.classify], 'Classify');
    options.report.model = loaded.name;
    options.report.batchSize = 1;
    const { config } = loaded;
    const pre = config.preprocess;
    if (!pre) throw taskError(loaded.name, 'has no preprocess section in its ferry.json');
    const decoded = await decodeImage(image, {
      maxBytes: this.#limits.maxImageBytes,
      maxPixels: this.#limits.maxImagePixels,
      signal: options.signal,
    });
    const input = await preprocess(decoded, pre, { signal: options.signal });
    const { inputName, outputName } = names(loaded);
    const outputs = await this.run(
      loaded.cached,
      { [inputName]: input },
      { signal: options.signal, outputNames: [outputName], report: options.report },
    );
    const scores = floats(outputs[outputName], outputName);
    return topK(scores, {
      k: options.topK > 0 ? options.topK : config.postprocess.topK,
      ...(loaded.labels ? { labels: loaded.labels } : {}),
      softmax: config.postprocess.softmax,
      threshold: config.postprocess.threshold,
    });
  }

  async detect(
    image: Uint8Array,
    options: { model: string; signal: AbortSignal; report: OpReport },
  ): Promise<TextBox[]> {
    const det = await this.#loadFor(options.model || BUILTIN_OCR.det, [ModelTask.ocrDet], 'Detect');
    options.report.model = det.name;
    options.report.batchSize = 1;
    const pipeline = createOcrPipeline({
      det: this.#runner(det, options.report),
      rec: () => Promise.reject(new FerryError(Code.INTERNAL, 'detect does not recognise')),
      keys: [],
      detConfig: det.config,
      maxImageBytes: this.#limits.maxImageBytes,
      maxImagePixels: this.#limits.maxImagePixels,
    });
    return pipeline.detect(image, { signal: options.signal });
  }

  async ocr(image: Uint8Array, options: { signal: AbortSignal; report: OpReport }): Promise<OcrResult> {
    const [det, cls, rec] = await Promise.all([
      this.#loadFor(BUILTIN_OCR.det, [ModelTask.ocrDet], 'Ocr'),
      this.#loadFor(BUILTIN_OCR.cls, [ModelTask.ocrCls], 'Ocr'),
      this.#loadFor(BUILTIN_OCR.rec, [ModelTask.ocrRec], 'Ocr'),
    ]);
    options.report.model = 'ppocr';
    const batches: number[] = [];
    const counting = (loaded: LoadedModel): TensorRunner => {
      const run = this.#runner(loaded, options.report);
      return (tensor, o) => {
        batches.push(tensor.shape[0] ?? 1);
        return run(tensor, o);
      };
    };
    if (!rec.labels) throw taskError(rec.name, 'has no dictionary');
    const pipeline = createOcrPipeline({
      det: counting(det),
      cls: counting(cls),
      rec: counting(rec),
      keys: rec.labels,
      detConfig: det.config,
      clsConfig: cls.config,
      recConfig: rec.config,
      maxImageBytes: this.#limits.maxImageBytes,
      maxImagePixels: this.#limits.maxImagePixels,
    });
    const result = await pipeline.ocr(image, { signal: options.signal });
    options.report.batchSize = Math.max(1, ...batches);
    return result;
  }

  #runner(loaded: LoadedModel, report: OpReport): TensorRunner {
    const { inputName, outputName } = names(loaded);
    return async (tensor: NumericTensor, { signal }) => {
      const outputs = await this.run(
        loaded.cached,
        { [inputName]: tensor },
        { ...(signal ? { signal } : {}), outputNames: [outputName], report },
      );
      const out = outputs[outputName];
      if (!out) throw new FerryError(Code.INTERNAL, `Model "${loaded.name}" returned no "${outputName}"`);
      return out;
    };
  }

  async #loadFor(name: string, tasks: readonly string[], op: string): Promise<LoadedModel> {
    const loaded = await this.#repository.load(name);
    if (!tasks.includes(loaded.config.task)) {
      throw new FerryError(
        Code.FAILED_PRECONDITION,
        `${op} needs a ${tasks.join(' or ')} model; "${name}" is a ${loaded.config.task} model`,
        { reason: 'TASK_MISMATCH' },
      );
    }
    return loaded;
  }
}

function names(loaded: LoadedModel): { inputName: string; outputName: string } {
  const inputName = loaded.config.input ?? loaded.cached.model.inputs[0]?.name;
  const outputName = loaded.config.output ?? loaded.cached.model.outputs[0]?.name;
  if (!inputName || !outputName) throw taskError(loaded.name, 'has no inputs or outputs');
  return { inputName, outputName };
}

function floats(tensor: Tensor | undefined, name: string): ArrayLike<number> {
  if (!tensor || tensor.dtype === 'string' || tensor.dtype === 'int64' || tensor.dtype === 'uint64') {
    throw new FerryError(Code.FAILED_PRECONDITION, `Output "${name}" is not a numeric score tensor`, {
      reason: 'MODEL_OUTPUT_MISMATCH',
    });
  }
  return tensorValues(tensor) as ArrayLike<number>;
}

function taskError(name: string, what: string): FerryError {
  return new FerryError(Code.FAILED_PRECONDITION, `Model "${name}" ${what}`, { reason: 'MODEL_CONFIG_INVALID' });
}
