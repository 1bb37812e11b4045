import { ppocrConfigs } from './builtin-models.js';
import { dbBoxes, type TextBox } from './db-boxes.js';
import { decodeImage, type RgbImage } from './decode-image.js';
import type { TensorRunner } from './from-backend-model.js';
import type { ModelConfig, PreprocessConfig } from './model-config.js';
import { floatOutput, outputMismatch, signalOption } from './model-output.js';
import { preprocess } from './preprocess.js';

export interface DetectTextOptions {
  /** The text detector (DB, task `ocr-det`): image tensor in, probability map `[1, 1, H, W]` out. */
  readonly det: TensorRunner;
  /** Its configuration; PP-OCR's (`builtinModels`) when absent. */
  readonly detConfig?: ModelConfig;
  /** Largest encoded image accepted (default 16 MiB). */
  readonly maxImageBytes?: number;
  /** Largest decoded image accepted, in pixels (default 25 000 000). */
  readonly maxImagePixels?: number;
  readonly signal?: AbortSignal;
}

/**
 * Text detection: the boxes of the text lines of an encoded image (JPEG, PNG, WebP), each labelled `text`
 * by the ops that return them. Only text: Ferry has no generic (object) detector.
 */
export async function detectText(image: Uint8Array, options: DetectTextOptions): Promise<TextBox[]> {
  const decoded = await decodeImage(image, {
    maxBytes: options.maxImageBytes ?? 16 * 1024 * 1024,
    maxPixels: options.maxImagePixels ?? 25_000_000,
    ...signalOption(options.signal),
  });
  return textBoxesOf(decoded, options.det, options.detConfig ?? ppocrConfigs.det, options.signal);
}

/** The text boxes of a decoded image: preprocess, the detector's probability map, DB boxes. */
export async function textBoxesOf(
  image: RgbImage,
  det: TensorRunner,
  detConfig: ModelConfig,
  signal?: AbortSignal,
): Promise<TextBox[]> {
  const pre = detConfig.preprocess as PreprocessConfig;
  const post = detConfig.postprocess;
  const input = await preprocess(image, pre, signalOption(signal));
  const height = input.shape[2] as number;
  const width = input.shape[3] as number;
  const map = floatOutput(await det(input, signalOption(signal)), 'detection');
  if (map.values.length !== width * height) {
    throw outputMismatch(`detection output [${map.shape.join(', ')}] is not a ${width}x${height} probability map`);
  }
  return dbBoxes(map.values, {
    width,
    height,
    imageWidth: image.width,
    imageHeight: image.height,
    threshold: post.threshold,
    boxThreshold: post.boxThreshold,
    unclipRatio: post.unclipRatio,
    maxCandidates: post.maxCandidates,
  });
}
