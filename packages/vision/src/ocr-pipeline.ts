import { ppocrConfigs } from './builtin-models.js';
import { cropTextLine } from './crop-text-line.js';
import { ctcGreedyDecode } from './ctc-greedy-decode.js';
import type { TextBox } from './db-boxes.js';
import { decodeImage, type RgbImage } from './decode-image.js';
import { textBoxesOf } from './detect-text.js';
import type { TensorRunner } from './from-backend-model.js';
import type { Quad } from './min-area-rect.js';
import type { ModelConfig, PreprocessConfig } from './model-config.js';
import { floatOutput, outputMismatch, signalOption } from './model-output.js';
import { preprocess } from './preprocess.js';
import { rotate180 } from './rotate-180.js';
import { stackBatch } from './stack-batch.js';
import { topK } from './top-k.js';

export interface OcrPipelineOptions {
  /** Text detection (DB): image tensor in, probability map `[1, 1, H, W]` out. */
  readonly det: TensorRunner;
  /** Text recognition (CTC): a batch of line strips in, `[n, steps, classes]` probabilities out. */
  readonly rec: TensorRunner;
  /** Text direction classifier: a batch of strips in, `[n, 2]` scores out. Lines are not turned without it. */
  readonly cls?: TensorRunner;
  /** The recognizer's dictionary, see `parseKeys`. */
  readonly keys: readonly string[];
  /** Configurations of the three models; PP-OCR's (`builtinModels`) when absent. */
  readonly detConfig?: ModelConfig;
  readonly recConfig?: ModelConfig;
  readonly clsConfig?: ModelConfig;
  /** Largest encoded image accepted (default 16 MiB). */
  readonly maxImageBytes?: number;
  /** Largest decoded image accepted, in pixels (default 25 000 000). */
  readonly maxImagePixels?: number;
  /** Lines sent to the classifier or recognizer in one run (default 64); more lines take several runs. */
  readonly maxBatchLines?: number;
  /** A batch is at most `height × maxWidthRatio` wide (default 50); longer lines are squeezed. */
  readonly maxWidthRatio?: number;
  /** Lines scoring below this are left out (default: the recognizer's postprocess threshold, 0.5). */
  readonly minScore?: number;
}

export interface OcrLine {
  readonly text: string;
  /** Mean probability of the recognised characters. */
  readonly score: number;
  /** Corners in image pixels: top-left, top-right, bottom-right, bottom-left. */
  readonly box: Quad;
  /** 180 when the direction classifier found the line upside down (it was turned before recognition). */
  readonly angle: 0 | 180;
}

export interface OcrResult {
  /** Top to bottom, left to right. */
  readonly lines: OcrLine[];
}

export interface OcrOptions {
  readonly signal?: AbortSignal;
}

export interface OcrPipeline {
  /** Reads the text of an encoded image (JPEG, PNG, WebP). */
  ocr(image: Uint8Array, options?: OcrOptions): Promise<OcrResult>;
  /** Finds the text boxes of an encoded image (text detection alone; see also `detectText`). */
  detectText(image: Uint8Array, options?: OcrOptions): Promise<TextBox[]>;
}

/**
 * PP-OCR style text reading: detection → boxes → line crops → direction classification (one batch) →
 * recognition (one batch, lines padded to a common width) → CTC decoding. The models run wherever the
 * runners send them (the agent's backend workers); this side only prepares tensors and reads results.
 */
export function createOcrPipeline(options: OcrPipelineOptions): OcrPipeline {
  return new OcrPipelineImpl(options);
}

class OcrPipelineImpl implements OcrPipeline {
  readonly #det: TensorRunner;
  readonly #rec: TensorRunner;
  readonly #cls: TensorRunner | undefined;
  readonly #keys: readonly string[];
  readonly #detConfig: ModelConfig;
  readonly #recConfig: ModelConfig;
  readonly #clsConfig: ModelConfig;
  readonly #maxImageBytes: number;
  readonly #maxImagePixels: number;
  readonly #maxBatchLines: number;
  readonly #maxWidthRatio: number;
  readonly #minScore: number;

  constructor(options: OcrPipelineOptions) {
    this.#det = options.det;
    this.#rec = options.rec;
    this.#cls = options.cls;
    this.#keys = [...options.keys];
    this.#detConfig = options.detConfig ?? ppocrConfigs.det;
    this.#recConfig = options.recConfig ?? ppocrConfigs.rec;
    this.#clsConfig = options.clsConfig ?? ppocrConfigs.cls;
    this.#maxImageBytes = positive(options.maxImageBytes ?? 16 * 1024 * 1024, 'maxImageBytes');
    this.#maxImagePixels = positive(options.maxImagePixels ?? 25_000_000, 'maxImagePixels');
    this.#maxBatchLines = positive(options.maxBatchLines ?? 64, 'maxBatchLines');
    this.#maxWidthRatio = positive(options.maxWidthRatio ?? 50, 'maxWidthRatio');
    this.#minScore = options.minScore ?? this.#recConfig.postprocess.threshold;
    for (const [name, config] of [
      ['detConfig', this.#detConfig],
      ['recConfig', this.#recConfig],
      ['clsConfig', this.#clsConfig],
    ] as const) {
      if (!config.preprocess) throw new TypeError(`createOcrPipeline: ${name} needs a preprocess section`);
      if (config.preprocess.layout !== 'NCHW') throw new TypeError(`createOcrPipeline: ${name} must be NCHW`);
    }
  }

  async detectText(bytes: Uint8Array, options: OcrOptions = {}): Promise<TextBox[]> {
    return textBoxesOf(await this.#decode(bytes, options.signal), this.#det, this.#detConfig, options.signal);
  }

  #decode(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<RgbImage> {
    return decodeImage(bytes, {
      maxBytes: this.#maxImageBytes,
      maxPixels: this.#maxImagePixels,
      ...signalOption(signal),
    });
  }

  async ocr(bytes: Uint8Array, options: OcrOptions = {}): Promise<OcrResult> {
    const { signal } = options;
    const image = await this.#decode(bytes, signal);
    const boxes = await textBoxesOf(image, this.#det, this.#detConfig, signal);
    if (boxes.length === 0) return { lines: [] };
    const crops = boxes.map((b) => cropTextLine(image, b.points));
    const angles = this.#cls ? await this.#classify(this.#cls, crops, signal) : crops.map(() => 0 as const);
    const upright = crops.map((c, i) => (angles[i] === 180 ? rotate180(c) : c));
    const texts = await this.#recognize(upright, signal);
    const lines: OcrLine[] = [];
    boxes.forEach((box, i) => {
      const { text, score } = texts[i] as { text: string; score: number };
      if (text.length === 0 || score < this.#minScore) return;
      lines.push({ text, score, box: box.points, angle: angles[i] as 0 | 180 });
    });
    return { lines };
  }

  async #classify(cls: TensorRunner, crops: readonly RgbImage[], signal: AbortSignal | undefined) {
    const pre = this.#clsConfig.preprocess as PreprocessConfig;
    // A classifier configured with a labels file gets PP-OCR's labels; the caller may pass inline ones.
    const labels = this.#clsConfig.labels ?? ['0', '180'];
    const angles: (0 | 180)[] = [];
    for (const chunk of chunks(
      crops.map((_, i) => i),
      this.#maxBatchLines,
    )) {
      const inputs = await Promise.all(chunk.map((i) => preprocess(crops[i] as RgbImage, pre, signalOption(signal))));
      const out = floatOutput(await cls(stackBatch(inputs), signalOption(signal)), 'direction classifier');
      const classes = out.values.length / chunk.length;
      if (out.shape[0] !== chunk.length || !Number.isInteger(classes)) {
        throw outputMismatch(`direction classifier output [${out.shape.join(', ')}] for ${chunk.length} lines`);
      }
      for (let j = 0; j < chunk.length; j++) {
        const scores = out.values.subarray(j * classes, (j + 1) * classes);
        const [best] = topK(scores, { k: 1, labels, softmax: this.#clsConfig.postprocess.softmax });
        const turned = best?.label === '180' && best.score > this.#clsConfig.postprocess.threshold;
        angles.push(turned ? 180 : 0);
      }
    }
    return angles;
  }

  async #recognize(crops: readonly RgbImage[], signal: AbortSignal | undefined) {
    const pre = this.#recConfig.preprocess as PreprocessConfig;
    const results: { text: string; score: number }[] = new Array(crops.length);
    // Lines of similar shape share a batch, so little of it is padding (PaddleOCR sorts the same way).
    const ratio = (i: number) => (crops[i] as RgbImage).width / (crops[i] as RgbImage).height;
    const order = crops.map((_, i) => i).sort((a, b) => ratio(a) - ratio(b));
    for (const chunk of chunks(order, this.#maxBatchLines)) {
      const widest = Math.max(pre.width / pre.height, ...chunk.map(ratio));
      const width = Math.max(1, Math.trunc(pre.height * Math.min(widest, this.#maxWidthRatio)));
      const config: PreprocessConfig = { ...pre, width };
      const inputs = await Promise.all(
        chunk.map((i) => preprocess(crops[i] as RgbImage, config, signalOption(signal))),
      );
      const out = floatOutput(await this.#rec(stackBatch(inputs), signalOption(signal)), 'recognizer');
      const [n, steps, classes] = out.shape;
      if (out.shape.length !== 3 || n !== chunk.length) {
        throw outputMismatch(`recognizer output [${out.shape.join(', ')}] for ${chunk.length} lines`);
      }
      const decoded = ctcGreedyDecode(out.values, {
        shape: [n, steps as number, classes as number],
        keys: this.#keys,
      });
      chunk.forEach((index, j) => {
        results[index] = decoded[j] as { text: string; score: number };
      });
    }
    return results;
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function positive(value: number, name: string): number {
  if (!(typeof value === 'number' && value > 0)) throw new RangeError(`createOcrPipeline: ${name} must be positive`);
  return value;
}
