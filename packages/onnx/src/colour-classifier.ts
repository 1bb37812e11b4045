import { buildModel } from './build-model.js';

/**
 * A classifier with known semantics, built in code, for tests and the demo: its scores are the mean red,
 * green and blue of a `[1, 3, 32, 32]` float32 image (NCHW, RGB, scaled to 0..1), so the top label of an
 * image is its dominant colour. Use it with {@link COLOUR_CLASSIFIER_CONFIG} and {@link COLOUR_CLASSIFIER_LABELS}.
 */
export function colourClassifierModel(): Uint8Array {
  return buildModel({
    name: 'dominant-colour',
    inputs: [{ name: 'image', dtype: 'float32', shape: [1, 3, 32, 32] }],
    outputs: [{ name: 'scores', dtype: 'float32', shape: [1, 3] }],
    nodes: [{ op: 'ReduceMean', inputs: ['image'], outputs: ['scores'], attributes: { axes: [2, 3], keepdims: 0 } }],
  });
}

/** Its labels, in score order; a repository writes them to `labels.txt`, one a line. */
export const COLOUR_CLASSIFIER_LABELS: readonly string[] = ['red', 'green', 'blue'];

/** Its `ferry.json`: labels from `labels.txt`, the image stretched to 32 × 32, scores softmaxed, top 3. */
export const COLOUR_CLASSIFIER_CONFIG = {
  task: 'classify',
  labels: 'labels.txt',
  preprocess: {
    resize: 'stretch',
    width: 32,
    height: 32,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    scale: 1 / 255,
    layout: 'NCHW',
    channels: 'RGB',
  },
  postprocess: { softmax: true, topK: 3 },
} as const;
