import type { NumericTensor, Tensor } from '@ferry/core';
import { Code, FerryError } from '@ferry/core';
import { type Classification, ModelTask, type OcrResult, type TextBox } from '@ferry/vision';
import { batchPolicy } from './batch-policy.js';
import type { OpReport } from './diagnostics.js';
import type { LoadedModel, ModelRepository } from './model-repository.js';
import type { ModelRunner } from './model-runner.js';
import type { BatchPolicy } from './model-scheduler.js';
import type { OpModel, OpRequest, Role } from './vision-messages.js';
import type { VisionWorkers } from './vision-workers.js';

export const BUILTIN_OCR = { det: 'ppocr-det', cls: 'ppocr-cls', rec: 'ppocr-rec' } as const;

/**
 * The vision ops: images decoded and pre/post-processed on the vision workers, their models run through
 * the {@link ModelRunner}.
 */
export class VisionOps {
  readonly #repository: ModelRepository;
  readonly #runner: ModelRunner;
  readonly #workers: VisionWorkers;
  readonly #batching: BatchPolicy | false;

  constructor(options: {
    readonly repository: ModelRepository;
    readonly runner: ModelRunner;
    readonly workers: VisionWorkers;
    /** Batching of repository models whose ferry.json says nothing (`false`: off). */
    readonly batching: BatchPolicy | false;
  }) {
    this.#repository = options.repository;
    this.#runner = options.runner;
    this.#workers = options.workers;
    this.#batching = options.batching;
  }

  async classify(
    image: Uint8Array,
    options: { model: string; topK: number; signal: AbortSignal; report: OpReport; tenant: string },
  ): Promise<Classification[]> {
    const model = await this.#loadFor(options.model, [ModelTask.classify], 'Classify');
    if (!model.config.preprocess) throw taskError(model.name, 'has no preprocess section in its ferry.json');
    options.report.model = model.name;
    const request = { op: 'classify', image, model: opModel(model), topK: options.topK } as const;
    return (await this.#onWorker(request, { model }, options)) as Classification[];
  }

  /** Text detection: the built-in PP-OCR detector, or a repository model of task `ocr-det`. */
  async detectText(
    image: Uint8Array,
    options: { model: string; signal: AbortSignal; report: OpReport; tenant: string },
  ): Promise<TextBox[]> {
    const det = await this.#loadFor(options.model || BUILTIN_OCR.det, [ModelTask.ocrDet], 'Detect');
    options.report.model = det.name;
    return (await this.#onWorker({ op: 'detect-text', image, det: opModel(det) }, { det }, options)) as TextBox[];
  }

  async ocr(image: Uint8Array, options: { signal: AbortSignal; report: OpReport; tenant: string }): Promise<OcrResult> {
    const [det, cls, rec] = await Promise.all([
      this.#loadFor(BUILTIN_OCR.det, [ModelTask.ocrDet], 'Ocr'),
      this.#loadFor(BUILTIN_OCR.cls, [ModelTask.ocrCls], 'Ocr'),
      this.#loadFor(BUILTIN_OCR.rec, [ModelTask.ocrRec], 'Ocr'),
    ]);
    if (!rec.labels) throw taskError(rec.name, 'has no dictionary');
    options.report.model = 'ppocr';
    const request = { op: 'ocr', image, det: opModel(det), cls: opModel(cls), rec: opModel(rec) } as const;
    return (await this.#onWorker(request, { det, cls, rec }, options)) as OcrResult;
  }

  /**
   * Runs an op's pixel work on a vision worker; its model runs come back here, to the scheduler. The
   * report gets the largest batch any of them ran.
   */
  #onWorker(
    request: OpRequest,
    models: Partial<Record<Role, LoadedModel>>,
    options: { signal: AbortSignal; report: OpReport; tenant: string },
  ): Promise<unknown> {
    const { signal, report, tenant } = options;
    const runFor = async (role: Role, input: NumericTensor): Promise<Tensor> => {
      const loaded = models[role];
      if (!loaded) throw new FerryError(Code.INTERNAL, `No ${role} model for this op`, { reason: 'OP_MODEL_MISSING' });
      const { inputName, outputName } = names(loaded);
      const batching = batchPolicy(loaded.config, this.#batching);
      const outputs = await this.#runner.run(
        loaded.cached,
        { [inputName]: input },
        { signal, outputNames: [outputName], report, tenant, ...(batching ? { batching } : {}) },
      );
      const output = outputs[outputName];
      if (!output)
        throw new FerryError(Code.INTERNAL, `Model "${loaded.name}" returned no "${outputName}"`, {
          reason: 'MODEL_OUTPUT_MISSING',
        });
      return output;
    };
    return this.#workers.run(request, runFor, { signal });
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

function opModel(loaded: LoadedModel): OpModel {
  return loaded.labels ? { config: loaded.config, labels: loaded.labels } : { config: loaded.config };
}

function taskError(name: string, what: string): FerryError {
  return new FerryError(Code.FAILED_PRECONDITION, `Model "${name}" ${what}`, { reason: 'MODEL_CONFIG_INVALID' });
}
