export type { BuiltinModel } from './builtin-models.js';
export { builtinModels } from './builtin-models.js';
export { cropTextLine } from './crop-text-line.js';
export type { CtcGreedyDecodeOptions, RecognizedText } from './ctc-greedy-decode.js';
export { ctcGreedyDecode } from './ctc-greedy-decode.js';
export type { DbBoxesOptions, TextBox } from './db-boxes.js';
export { dbBoxes } from './db-boxes.js';
export type { DecodeImageOptions, RgbImage } from './decode-image.js';
export { decodeImage } from './decode-image.js';
export type { DetectTextOptions } from './detect-text.js';
export { detectText } from './detect-text.js';
export type { FromBackendModelOptions, TensorRunner, TensorRunnerOptions } from './from-backend-model.js';
export { fromBackendModel } from './from-backend-model.js';
export type { Point, Quad } from './min-area-rect.js';
export type {
  BatchingConfig,
  ChannelOrder,
  Layout,
  ModelConfig,
  ParseModelConfigOptions,
  PostprocessConfig,
  PreprocessConfig,
  Triple,
} from './model-config.js';
export { ModelTask, parseModelConfig, ResizeMode } from './model-config.js';
export type { OcrLine, OcrOptions, OcrPipeline, OcrPipelineOptions, OcrResult } from './ocr-pipeline.js';
export { createOcrPipeline } from './ocr-pipeline.js';
export type { ParseKeysOptions } from './parse-keys.js';
export { parseKeys } from './parse-keys.js';
export { parseLabels } from './parse-labels.js';
export type { PreprocessOptions } from './preprocess.js';
export { preprocess } from './preprocess.js';
export { rotate180 } from './rotate-180.js';
export { stackBatch } from './stack-batch.js';
export type { Classification, TopKOptions } from './top-k.js';
export { topK } from './top-k.js';
