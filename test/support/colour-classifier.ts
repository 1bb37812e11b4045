import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModel } from '@ferry/onnx';

/**
 * A classifier with known semantics: the mean of each colour channel, i.e. "which colour dominates".
 * input [1, 3, 32, 32] float32 (NCHW, RGB, scaled to 0..1) → scores [1, 3].
 */
export function colourModel(): Uint8Array {
  return buildModel({
    name: 'dominant-colour',
    opset: 17,
    inputs: [{ name: 'image', dtype: 'float32', shape: [1, 3, 32, 32] }],
    outputs: [{ name: 'scores', dtype: 'float32', shape: [1, 3] }],
    nodes: [
      { op: 'ReduceMean', inputs: ['image'], outputs: ['mean'], attributes: { axes: [2, 3], keepdims: 0 } },
      { op: 'Identity', inputs: ['mean'], outputs: ['scores'] },
    ],
  });
}

/** The `ferry.json` of {@link colourModel}, labels from `labels.txt` (red, green, blue). */
export const colourConfig = {
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
};

/** Writes the colour classifier as the model-repository entry `<dir>/<name>` (model, ferry.json, labels). */
export async function writeColourClassifier(dir: string, name: string, labels = 'red\ngreen\nblue\n'): Promise<void> {
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(join(dir, name, 'model.onnx'), colourModel());
  await writeFile(join(dir, name, 'ferry.json'), JSON.stringify(colourConfig));
  await writeFile(join(dir, name, 'labels.txt'), labels);
}
