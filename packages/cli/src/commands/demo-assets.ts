import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tensor } from '@ferry/core';
import { buildModel, COLOUR_CLASSIFIER_CONFIG, COLOUR_CLASSIFIER_LABELS, colourClassifierModel } from '@ferry/onnx';
import sharp from 'sharp';

/** y = relu(x · W + b), float32 [batch, 3] → [batch, 2]: the demo's OIP v2 model. */
export function linearModel(): Uint8Array {
  return buildModel({
    name: 'linear',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    initializers: {
      W: tensor('float32', [3, 2], new Float32Array([1, -1, 0.5, 2, -0.25, 1])),
      b: tensor('float32', [2], new Float32Array([0.1, -0.2])),
    },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['z'] },
      { op: 'Relu', inputs: ['z'], outputs: ['y'] },
    ],
  });
}

/** The answer {@link linearModel} gives, computed here. */
export function linearExpected(x: readonly number[]): number[] {
  const W = [1, -1, 0.5, 2, -0.25, 1];
  const b = [0.1, -0.2];
  const out: number[] = [];
  for (let r = 0; r < x.length / 3; r++) {
    for (let c = 0; c < 2; c++) {
      let acc = b[c] as number;
      for (let k = 0; k < 3; k++) acc += (x[r * 3 + k] as number) * (W[k * 2 + c] as number);
      out.push(Math.max(0, acc));
    }
  }
  return out;
}

/** `<dir>/colour` and `<dir>/linear`, with their ferry.json and labels. */
export async function writeDemoModels(dir: string): Promise<void> {
  await mkdir(join(dir, 'colour'), { recursive: true });
  await writeFile(join(dir, 'colour', 'model.onnx'), colourClassifierModel());
  await writeFile(join(dir, 'colour', 'labels.txt'), `${COLOUR_CLASSIFIER_LABELS.join('\n')}\n`);
  await writeFile(join(dir, 'colour', 'ferry.json'), JSON.stringify(COLOUR_CLASSIFIER_CONFIG));
  await mkdir(join(dir, 'linear'), { recursive: true });
  await writeFile(join(dir, 'linear', 'model.onnx'), linearModel());
}

export interface DemoImage {
  readonly bytes: Uint8Array;
  readonly contentType: string;
  /** What the function must answer: the text lines, or the colour label. */
  readonly expected: readonly string[];
}

const FONT = "'DejaVu Sans Mono', 'Liberation Mono', monospace";

/** Text documents for /ocr, rendered here (nothing downloaded). */
export async function textImages(): Promise<DemoImage[]> {
  const documents = [['FERRY 2048', 'hello world 42'], ['INVOICE 7731', 'total 1250 EUR'], ['kata sandbox 9']];
  return Promise.all(
    documents.map(async (lines) => {
      const width = 40 + Math.max(...lines.map((l) => l.length)) * 30;
      const height = 40 + lines.length * 80;
      const text = lines
        .map((l, i) => `<text x="20" y="${80 + i * 80}" font-family="${FONT}" font-size="48">${l}</text>`)
        .join('');
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${text}</svg>`;
      return {
        bytes: new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer()),
        contentType: 'image/png',
        expected: lines,
      };
    }),
  );
}

/** Solid-colour photos for /classify, as JPEG, PNG and WebP. */
export async function colourImages(): Promise<DemoImage[]> {
  const colours = [
    [[214, 40, 40], 'red', 'jpeg'],
    [[30, 170, 70], 'green', 'png'],
    [[40, 70, 220], 'blue', 'webp'],
  ] as const;
  return Promise.all(
    colours.map(async ([[r, g, b], label, format]) => ({
      bytes: new Uint8Array(
        await sharp({ create: { width: 96, height: 64, channels: 3, background: { r, g, b } } })
          .toFormat(format)
          .toBuffer(),
      ),
      contentType: `image/${format}`,
      expected: [label],
    })),
  );
}
