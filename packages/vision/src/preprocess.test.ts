import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, type NumericTensor, tensor, tensorValues } from '@ferry/core';
import type { RgbImage } from './decode-image.js';
import type { PreprocessConfig } from './model-config.js';
import { preprocess } from './preprocess.js';
import { stackBatch } from './stack-batch.js';

/** 2 wide × 1 high: red-ish and blue-ish pixels. */
const tiny: RgbImage = { width: 2, height: 1, data: Uint8Array.from([255, 0, 51, 102, 153, 204]) };

const base: PreprocessConfig = {
  resize: 'stretch',
  width: 2,
  height: 1,
  shorterSide: 2,
  multipleOf: 1,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  scale: 1 / 255,
  layout: 'NCHW',
  channels: 'RGB',
  dtype: 'float32',
};

function close(actual: NumericTensor, expected: readonly number[]): void {
  const values = [...(tensorValues(actual) as Float32Array)];
  assert.equal(values.length, expected.length);
  values.forEach((v, i) => {
    assert.ok(Math.abs(v - (expected[i] as number)) < 1e-5, `value ${i}: ${v} ≠ ${expected[i]}`);
  });
}

/** An image whose pixels are all one colour. */
function solid(width: number, height: number, rgb: readonly [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

describe('preprocess()', () => {
  it('scales to 0..1 in NCHW planes', async () => {
    const t = await preprocess(tiny, base);
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.shape, [1, 3, 1, 2]);
    close(t, [1, 0.4, 0, 0.6, 0.2, 0.8]);
  });

  it('reorders to BGR and applies mean/std per tensor channel, interleaved for NHWC', async () => {
    const t = await preprocess(tiny, {
      ...base,
      layout: 'NHWC',
      channels: 'BGR',
      mean: [0.5, 0.25, 0],
      std: [0.5, 0.25, 2],
    });
    assert.deepEqual(t.shape, [1, 1, 2, 3]);
    // pixel 0: B=0.2, G=0, R=1 → (0.2-0.5)/0.5, (0-0.25)/0.25, (1-0)/2
    // pixel 1: B=0.8, G=0.6, R=0.4 → (0.8-0.5)/0.5, (0.6-0.25)/0.25, 0.4/2
    close(t, [-0.6, -1, 0.5, 0.6, 1.4, 0.2]);
  });

  it('normalises like PP-OCR recognition: (x/255 - 0.5)/0.5, padded on the right with 0 (fit-height)', async () => {
    const image = solid(8, 4, [255, 255, 0]);
    const t = await preprocess(image, {
      ...base,
      resize: 'fit-height',
      width: 10,
      height: 2,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    });
    assert.deepEqual(t.shape, [1, 3, 2, 10]);
    const v = tensorValues(t) as Float32Array;
    // 8×4 at height 2 is 4 wide: columns 0..3 hold the image, 4..9 padding.
    const row = (c: number, y: number) =>
      [...v.subarray(c * 20 + y * 10, c * 20 + y * 10 + 10)].map((x) => Math.round(x * 1000) / 1000);
    assert.deepEqual(row(0, 0), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(row(2, 1), [-1, -1, -1, -1, 0, 0, 0, 0, 0, 0]);
  });

  it('squeezes strips wider than the width in fit-height mode', async () => {
    const t = await preprocess(solid(100, 10, [0, 0, 0]), { ...base, resize: 'fit-height', width: 16, height: 4 });
    assert.deepEqual(t.shape, [1, 3, 4, 16]);
    close(t, new Array(3 * 4 * 16).fill(0));
  });

  it('rounds sides to multiples in limit-side mode and never enlarges', async () => {
    const t = await preprocess(solid(100, 50, [10, 20, 30]), {
      ...base,
      resize: 'limit-side',
      width: 64,
      height: 64,
      multipleOf: 32,
    });
    assert.deepEqual(t.shape, [1, 3, 32, 64]);
    const small = await preprocess(solid(40, 20, [10, 20, 30]), {
      ...base,
      resize: 'limit-side',
      width: 960,
      height: 960,
      multipleOf: 32,
    });
    assert.deepEqual(small.shape, [1, 3, 32, 32]);
  });

  it('crops the centre after resizing the shorter side', async () => {
    // Left half black, right half white, 40×20; shorter side 20 → 10, image 20×10, centre 10×10 crop.
    const image = solid(40, 20, [0, 0, 0]);
    for (let y = 0; y < 20; y++) for (let x = 20; x < 40; x++) image.data.set([255, 255, 255], (y * 40 + x) * 3);
    const t = await preprocess(image, {
      ...base,
      resize: 'shorter-side+center-crop',
      width: 10,
      height: 10,
      shorterSide: 10,
    });
    assert.deepEqual(t.shape, [1, 3, 10, 10]);
    const v = tensorValues(t) as Float32Array;
    assert.ok((v[5 * 10 + 1] as number) < 0.1, 'left of centre is black');
    assert.ok((v[5 * 10 + 8] as number) > 0.9, 'right of centre is white');
  });

  it('letterboxes at the top-left in keep-ratio-pad mode', async () => {
    const t = await preprocess(solid(20, 10, [255, 255, 255]), {
      ...base,
      resize: 'keep-ratio-pad',
      width: 8,
      height: 8,
    });
    assert.deepEqual(t.shape, [1, 3, 8, 8]);
    const v = tensorValues(t) as Float32Array;
    assert.ok(Math.abs((v[0] as number) - 1) < 1e-6);
    assert.ok(Math.abs((v[3 * 8 + 7] as number) - 1) < 1e-6, 'row 3 is image');
    assert.equal(v[4 * 8], 0, 'row 4 is padding');
  });

  it('throws RangeError for an image whose bytes do not match its size', async () => {
    await assert.rejects(preprocess({ width: 2, height: 2, data: new Uint8Array(5) }, base), RangeError);
  });
});

describe('stackBatch()', () => {
  it('concatenates along the batch dimension', () => {
    const a = tensor('float32', [1, 2], [1, 2]);
    const b = tensor('float32', [2, 2], [3, 4, 5, 6]);
    const batch = stackBatch([a, b]);
    assert.deepEqual(batch.shape, [3, 2]);
    assert.deepEqual([...(tensorValues(batch) as Float32Array)], [1, 2, 3, 4, 5, 6]);
  });

  it('throws INVALID_ARGUMENT BATCH_SHAPE_MISMATCH for different shapes or dtypes', () => {
    const check = (e: { code: number; reason: string }) =>
      e.code === Code.INVALID_ARGUMENT && e.reason === 'BATCH_SHAPE_MISMATCH';
    assert.throws(() => stackBatch([tensor('float32', [1, 2], [1, 2]), tensor('float32', [1, 3], [1, 2, 3])]), check);
    assert.throws(() => stackBatch([tensor('float32', [1, 2], [1, 2]), tensor('int32', [1, 2], [1, 2])]), check);
  });
});
