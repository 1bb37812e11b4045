import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COLOUR_CLASSIFIER_CONFIG, COLOUR_CLASSIFIER_LABELS, colourClassifierModel } from '@ferry/onnx';

/** `@ferry/onnx`'s colour classifier (mean red, green, blue of a 32 × 32 image), the one the demo serves. */
export { colourClassifierModel as colourModel } from '@ferry/onnx';

/**
 * Writes the colour classifier as the model-repository entry `<dir>/<name>` (model.onnx, ferry.json,
 * labels.txt). `labels` replaces its labels (a short list makes a broken model); `postprocess` is merged
 * into its ferry.json's.
 */
export async function writeColourClassifier(
  dir: string,
  name: string,
  options: { readonly labels?: readonly string[]; readonly postprocess?: Record<string, unknown> } = {},
): Promise<void> {
  await mkdir(join(dir, name), { recursive: true });
  const config = {
    ...COLOUR_CLASSIFIER_CONFIG,
    postprocess: { ...COLOUR_CLASSIFIER_CONFIG.postprocess, ...options.postprocess },
  };
  await writeFile(join(dir, name, 'model.onnx'), colourClassifierModel());
  await writeFile(join(dir, name, 'ferry.json'), JSON.stringify(config));
  await writeFile(join(dir, name, 'labels.txt'), `${(options.labels ?? COLOUR_CLASSIFIER_LABELS).join('\n')}\n`);
}
