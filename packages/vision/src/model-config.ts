import { Code, FerryError } from '@ferry/core';

/** What a model in the repository is for; chooses the op that may use it and the defaults below. */
export const ModelTask = {
  classify: 'classify',
  /** Text detection (DB probability map), the model the `Detect` op runs; there is no generic detector. */
  ocrDet: 'ocr-det',
  ocrRec: 'ocr-rec',
  ocrCls: 'ocr-cls',
  generic: 'generic',
} as const;
export type ModelTask = (typeof ModelTask)[keyof typeof ModelTask];

/**
 * How an image becomes the model's input size.
 * - `stretch`: resize to exactly `width`×`height`, ignoring the aspect ratio.
 * - `shorter-side+center-crop`: resize the shorter side to `shorterSide`, then crop `width`×`height` from the centre.
 * - `keep-ratio-pad`: scale to fit inside `width`×`height`, place at the top-left, pad the rest with 0 (in tensor
 *   values, after normalisation).
 * - `limit-side`: keep the ratio, shrink (never enlarge) to fit inside `width`×`height`, then round each side to
 *   a multiple of `multipleOf` (at least `multipleOf`). The tensor's size follows the image (PP-OCR detection).
 * - `fit-height`: scale to exactly `height` keeping the ratio, cap the width at `width` (squeezing longer
 *   strips), pad the right side to `width` with 0 (PP-OCR recognition and direction classifier).
 */
export const ResizeMode = {
  stretch: 'stretch',
  shorterSideCenterCrop: 'shorter-side+center-crop',
  keepRatioPad: 'keep-ratio-pad',
  limitSide: 'limit-side',
  fitHeight: 'fit-height',
} as const;
export type ResizeMode = (typeof ResizeMode)[keyof typeof ResizeMode];

export type Layout = 'NCHW' | 'NHWC';
export type ChannelOrder = 'RGB' | 'BGR';
export type Triple = readonly [number, number, number];

/**
 * Image preprocessing. Each value becomes `(pixel * scale - mean[c]) / std[c]`, where `c` is the channel's
 * position in the tensor (after `channels` reordering), as PaddleOCR's NormalizeImage applies it.
 */
export interface PreprocessConfig {
  readonly resize: ResizeMode;
  readonly width: number;
  readonly height: number;
  /** `shorter-side+center-crop` only: the shorter side before cropping. */
  readonly shorterSide: number;
  /** `limit-side` only: each side is rounded to a multiple of this. */
  readonly multipleOf: number;
  readonly mean: Triple;
  readonly std: Triple;
  readonly scale: number;
  readonly layout: Layout;
  readonly channels: ChannelOrder;
  readonly dtype: 'float32';
}

export interface PostprocessConfig {
  /** Apply softmax to the classifier's output before ranking. */
  readonly softmax: boolean;
  readonly topK: number;
  /**
   * The task's main threshold: minimum score of a class (classify), probability-map binarisation
   * (ocr-det), rotation confidence (ocr-cls), minimum line score (ocr-rec).
   */
  readonly threshold: number;
  /** ocr-det: minimum mean probability inside a box. */
  readonly boxThreshold: number;
  /** ocr-det: how far a box grows, as area × ratio / perimeter. */
  readonly unclipRatio: number;
  /** ocr-det: at most this many connected regions are considered. */
  readonly maxCandidates: number;
  /** ocr-rec: the dictionary is followed by a space character. */
  readonly spaceChar: boolean;
}

/**
 * Dynamic batching of a model's runs across requests and tenants (`"batching"` in ferry.json): `false`
 * turns it off; an object turns it on, its fields overriding the agent's defaults. Only for models
 * whose outputs are computed row by row from the inputs' rows (every vision model is): a model that
 * mixed rows would mix tenants' data.
 */
export interface BatchingConfig {
  readonly enabled: boolean;
  /** Most rows in one run. */
  readonly maxBatch?: number;
  /** How long a request may wait for a batch to fill, in microseconds. */
  readonly maxQueueDelayUs?: number;
}

export interface ModelConfig {
  readonly task: ModelTask;
  /** A labels (or, for ocr-rec, dictionary) file beside the model, one entry a line. */
  readonly labelsFile?: string;
  /** Labels given inline in ferry.json. */
  readonly labels?: readonly string[];
  /** The input that receives the image; the model's first input when absent. */
  readonly input?: string;
  /** The output holding scores / maps; the model's first output when absent. */
  readonly output?: string;
  /** Absent for `generic` models without a `preprocess` section. */
  readonly preprocess?: PreprocessConfig;
  readonly postprocess: PostprocessConfig;
  /** Absent: the agent's default. */
  readonly batching?: BatchingConfig;
}

export interface ParseModelConfigOptions {
  /** Where the JSON came from (`resnet50/ferry.json`), named in error messages. */
  readonly source?: string;
}

const postprocessDefaults: Record<ModelTask, PostprocessConfig> = {
  classify: post({ topK: 5, threshold: 0 }),
  'ocr-det': post({ threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, maxCandidates: 1000 }),
  'ocr-rec': post({ threshold: 0.5, spaceChar: true }),
  'ocr-cls': post({ softmax: false, topK: 1, threshold: 0.9 }),
  generic: post({}),
};

function post(values: Partial<PostprocessConfig>): PostprocessConfig {
  return {
    softmax: false,
    topK: 5,
    threshold: 0,
    boxThreshold: 0.6,
    unclipRatio: 1.5,
    maxCandidates: 1000,
    spaceChar: false,
    ...values,
  };
}

const topKeys = ['task', 'labels', 'input', 'output', 'preprocess', 'postprocess', 'batching'];
const batchingKeys = ['maxBatch', 'maxQueueDelayUs'];
const preKeys = [
  'width',
  'height',
  'resize',
  'shorterSide',
  'multipleOf',
  'mean',
  'std',
  'scale',
  'layout',
  'channels',
  'dtype',
];
const postKeys = ['softmax', 'topK', 'threshold', 'boxThreshold', 'unclipRatio', 'maxCandidates', 'spaceChar'];
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const MAX_SIDE = 16384;

/**
 * Validates a model's `ferry.json` (already parsed from JSON) and fills in defaults. Throws FerryError
 * FAILED_PRECONDITION, reason MODEL_CONFIG_INVALID, naming the offending field.
 *
 * ```json
 * { "task": "classify", "labels": "labels.txt",
 *   "preprocess": { "width": 224, "height": 224, "resize": "shorter-side+center-crop",
 *                   "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] },
 *   "postprocess": { "softmax": true, "topK": 5 } }
 * ```
 */
export function parseModelConfig(json: unknown, options: ParseModelConfigOptions = {}): ModelConfig {
  const fail = (message: string): FerryError =>
    new FerryError(Code.FAILED_PRECONDITION, `${options.source ?? 'ferry.json'}: ${message}`, {
      reason: 'MODEL_CONFIG_INVALID',
    });
  const root = record(json, 'the configuration', fail);
  checkKeys(root, topKeys, '', fail);

  const taskValue = root.task ?? ModelTask.generic;
  const tasks: readonly unknown[] = Object.values(ModelTask);
  if (!tasks.includes(taskValue)) {
    throw fail(`task must be one of ${Object.values(ModelTask).join(', ')}, not ${JSON.stringify(taskValue)}`);
  }
  const task = taskValue as ModelTask;

  const config: {
    task: ModelTask;
    labelsFile?: string;
    labels?: readonly string[];
    input?: string;
    output?: string;
    preprocess?: PreprocessConfig;
    postprocess: PostprocessConfig;
    batching?: BatchingConfig;
  } = { task, postprocess: parsePostprocess(root.postprocess, task, fail) };

  if (typeof root.labels === 'string') {
    if (!FILE_NAME.test(root.labels)) {
      throw fail(`labels must name a file beside the model (letters, digits, ".", "_", "-"), not "${root.labels}"`);
    }
    config.labelsFile = root.labels;
  } else if (Array.isArray(root.labels)) {
    if (!root.labels.every((l): l is string => typeof l === 'string')) throw fail('labels must be a list of strings');
    config.labels = [...root.labels];
  } else if (root.labels !== undefined) {
    throw fail('labels must be a file name or a list of strings');
  }
  for (const key of ['input', 'output'] as const) {
    const value = root[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0) throw fail(`${key} must be a non-empty tensor name`);
    config[key] = value;
  }
  if (root.preprocess !== undefined) config.preprocess = parsePreprocess(root.preprocess, fail);
  else if (task !== ModelTask.generic) throw fail(`a ${task} model needs a preprocess section`);
  if (root.batching !== undefined) config.batching = parseBatching(root.batching, fail);
  return config;
}

type Fail = (message: string) => FerryError;

function parsePreprocess(value: unknown, fail: Fail): PreprocessConfig {
  const pre = record(value, 'preprocess', fail);
  checkKeys(pre, preKeys, 'preprocess.', fail);
  const resize = pre.resize ?? ResizeMode.stretch;
  const modes: readonly unknown[] = Object.values(ResizeMode);
  if (!modes.includes(resize)) {
    throw fail(`preprocess.resize must be one of ${Object.values(ResizeMode).join(', ')}`);
  }
  const width = integer(pre.width, 'preprocess.width', 1, MAX_SIDE, undefined, fail);
  const height = integer(pre.height, 'preprocess.height', 1, MAX_SIDE, undefined, fail);
  const shorterSide = integer(
    pre.shorterSide,
    'preprocess.shorterSide',
    1,
    MAX_SIDE,
    Math.round((Math.max(width, height) * 256) / 224),
    fail,
  );
  if (resize === ResizeMode.shorterSideCenterCrop && shorterSide < Math.max(width, height)) {
    throw fail('preprocess.shorterSide must be at least the crop width and height');
  }
  const multipleOf = integer(pre.multipleOf, 'preprocess.multipleOf', 1, 1024, 1, fail);
  const std = triple(pre.std, 'preprocess.std', [1, 1, 1], fail);
  if (std.some((s) => s === 0)) throw fail('preprocess.std must not contain 0');
  const scale = pre.scale ?? 1 / 255;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
    throw fail('preprocess.scale must be a positive number (1/255 maps bytes to 0..1)');
  }
  return {
    resize: resize as ResizeMode,
    width,
    height,
    shorterSide,
    multipleOf,
    mean: triple(pre.mean, 'preprocess.mean', [0, 0, 0], fail),
    std,
    scale,
    layout: oneOf(pre.layout, 'preprocess.layout', ['NCHW', 'NHWC'] as const, fail),
    channels: oneOf(pre.channels, 'preprocess.channels', ['RGB', 'BGR'] as const, fail),
    dtype: oneOf(pre.dtype, 'preprocess.dtype', ['float32'] as const, fail),
  };
}

function parseBatching(value: unknown, fail: Fail): BatchingConfig {
  if (value === false || value === true) return { enabled: value };
  const b = record(value, 'batching (false, true or an object)', fail);
  checkKeys(b, batchingKeys, 'batching.', fail);
  return {
    enabled: true,
    ...(b.maxBatch === undefined ? {} : { maxBatch: integer(b.maxBatch, 'batching.maxBatch', 1, 1024, 1, fail) }),
    ...(b.maxQueueDelayUs === undefined
      ? {}
      : { maxQueueDelayUs: integer(b.maxQueueDelayUs, 'batching.maxQueueDelayUs', 0, 1_000_000, 0, fail) }),
  };
}

function parsePostprocess(value: unknown, task: ModelTask, fail: Fail): PostprocessConfig {
  const defaults = postprocessDefaults[task];
  if (value === undefined) return defaults;
  const p = record(value, 'postprocess', fail);
  checkKeys(p, postKeys, 'postprocess.', fail);
  const bool = (v: unknown, name: string, fallback: boolean): boolean => {
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw fail(`postprocess.${name} must be true or false`);
    return v;
  };
  const unit = (v: unknown, name: string, fallback: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw fail(`postprocess.${name} must be a number in [0, 1]`);
    return v;
  };
  const unclipRatio = p.unclipRatio ?? defaults.unclipRatio;
  if (typeof unclipRatio !== 'number' || !(unclipRatio >= 0 && unclipRatio <= 10)) {
    throw fail('postprocess.unclipRatio must be a number in [0, 10]');
  }
  return {
    softmax: bool(p.softmax, 'softmax', defaults.softmax),
    topK: integer(p.topK, 'postprocess.topK', 1, 100_000, defaults.topK, fail),
    threshold: unit(p.threshold, 'threshold', defaults.threshold),
    boxThreshold: unit(p.boxThreshold, 'boxThreshold', defaults.boxThreshold),
    unclipRatio,
    maxCandidates: integer(p.maxCandidates, 'postprocess.maxCandidates', 1, 100_000, defaults.maxCandidates, fail),
    spaceChar: bool(p.spaceChar, 'spaceChar', defaults.spaceChar),
  };
}

function record(value: unknown, what: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function checkKeys(value: Record<string, unknown>, allowed: readonly string[], prefix: string, fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw fail(`unknown field "${prefix}${key}" (known: ${allowed.join(', ')})`);
  }
}

function integer(
  value: unknown,
  name: string,
  min: number,
  max: number,
  fallback: number | undefined,
  fail: Fail,
): number {
  if (value === undefined) {
    if (fallback === undefined) throw fail(`${name} is required`);
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw fail(`${name} must be an integer in [${min}, ${max}], not ${JSON.stringify(value)}`);
  }
  return value;
}

function triple(value: unknown, name: string, fallback: Triple, fail: Fail): Triple {
  if (value === undefined) return fallback;
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !value.every((v): v is number => typeof v === 'number' && Number.isFinite(v))
  ) {
    throw fail(`${name} must be a list of 3 numbers`);
  }
  return [value[0] as number, value[1] as number, value[2] as number];
}

function oneOf<const T extends string>(value: unknown, name: string, allowed: readonly T[], fail: Fail): T {
  if (value === undefined) return allowed[0] as T;
  if (!(allowed as readonly unknown[]).includes(value)) throw fail(`${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}
