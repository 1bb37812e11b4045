import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBfloat16Bits, fromFloat16Bits, toBfloat16Bits, toFloat16Bits } from './half-float.js';

describe('toFloat16Bits() / fromFloat16Bits()', () => {
  it('encodes known values, rounding to nearest even', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65519.99, 0x7bff],
      [65520, 0x7c00], // halfway to the next binade: ties to even is infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // halfway to the smallest subnormal: ties to even is 0
      [3 * 2 ** -25, 0x0002],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next: even mantissa
      [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [value, bits] of cases) assert.equal(toFloat16Bits(value), bits, `${value}`);
    assert.equal(toFloat16Bits(Number.NaN) & 0x7c00, 0x7c00);
    assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN))));
  });

  it('round-trips every non-NaN bit pattern', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromFloat16Bits(bits);
      if (Number.isNaN(value)) continue;
      assert.equal(toFloat16Bits(value), bits);
    }
  });
});

describe('toBfloat16Bits() / fromBfloat16Bits()', () => {
  it('agrees with truncating float32 bits after round-to-nearest-even', () => {
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let k = 0; k < 20000; k++) {
      u32[0] = (k * 2654435761) >>> 0;
      const value = f32[0] as number;
      if (Number.isNaN(value)) continue;
      const b = u32[0] as number;
      const expected = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
      assert.equal(toBfloat16Bits(value), expected, `${value}`);
    }
  });

  it('round-trips every non-NaN bit pattern', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromBfloat16Bits(bits);
      if (Number.isNaN(value)) continue;
      assert.equal(toBfloat16Bits(value), bits);
    }
  });
});
