import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cropTextLine } from './crop-text-line.js';
import type { RgbImage } from './decode-image.js';
import { rotate180 } from './rotate-180.js';

/** Each pixel's red = x, green = y, blue = 7. */
function gradient(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  return { width, height, data };
}

const px = (image: RgbImage, x: number, y: number) => [
  ...image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3),
];
const q = (...xy: number[]) =>
  [0, 2, 4, 6].map((i) => ({ x: xy[i] as number, y: xy[i + 1] as number })) as unknown as Parameters<
    typeof cropTextLine
  >[1];

describe('cropTextLine()', () => {
  it('cuts an axis-aligned box exactly', () => {
    const crop = cropTextLine(gradient(50, 40), q(10, 5, 30, 5, 30, 15, 10, 15));
    assert.deepEqual([crop.width, crop.height], [20, 10]);
    assert.deepEqual(px(crop, 0, 0), [10, 5, 7]);
    assert.deepEqual(px(crop, 19, 9), [29, 14, 7]);
  });

  it('straightens a rotated box so the strip runs along its top edge', () => {
    // A 30 × 10 rectangle rotated 90° clockwise: its top edge runs down the image.
    const image = gradient(60, 60);
    const crop = cropTextLine(image, q(40, 10, 40, 40, 30, 40, 30, 10));
    assert.deepEqual([crop.width, crop.height], [30, 10]);
    // Along the strip (x) the image's y grows; across it (y) the image's x shrinks.
    assert.deepEqual(px(crop, 0, 0), [40, 10, 7]);
    assert.deepEqual(px(crop, 29, 0), [40, 39, 7]);
    assert.deepEqual(px(crop, 0, 9), [31, 10, 7]);
  });

  it('turns strips at least 1.5 times taller than wide 90° counter-clockwise', () => {
    const crop = cropTextLine(gradient(50, 50), q(10, 10, 20, 10, 20, 40, 10, 40));
    assert.deepEqual([crop.width, crop.height], [30, 10]);
    // The box's top-right corner (19, 10) ends up at the top-left.
    assert.deepEqual(px(crop, 0, 0), [19, 10, 7]);
    assert.deepEqual(px(crop, 29, 0), [19, 39, 7]);
    assert.deepEqual(px(crop, 0, 9), [10, 10, 7]);
  });

  it('replicates edge pixels for boxes reaching past the image', () => {
    const crop = cropTextLine(gradient(10, 10), q(5, 5, 15, 5, 15, 8, 5, 8));
    assert.deepEqual(px(crop, 9, 0), [9, 5, 7]);
  });
});

describe('rotate180()', () => {
  it('turns the image upside down', () => {
    const image = gradient(3, 2);
    const turned = rotate180(image);
    assert.deepEqual([turned.width, turned.height], [3, 2]);
    assert.deepEqual(px(turned, 0, 0), [2, 1, 7]);
    assert.deepEqual(px(turned, 2, 1), [0, 0, 7]);
    assert.deepEqual(rotate180(turned), image);
  });
});
