import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '@ferry/core';
import { topK } from './top-k.js';

describe('topK()', () => {
  it('returns the k best classes, best first, with labels and indices', () => {
    const scores = Float32Array.from([0.1, 0.5, 0.05, 0.3, 0.05]);
    const result = topK(scores, { k: 3, labels: ['a', 'b', 'c', 'd', 'e'] });
    assert.deepEqual(
      result.map((r) => [r.label, r.index]),
      [
        ['b', 1],
        ['d', 3],
        ['a', 0],
      ],
    );
    assert.ok(Math.abs((result[0]?.score ?? 0) - 0.5) < 1e-7);
  });

  it('keeps the lower index first on ties and uses indices as labels without a list', () => {
    const result = topK([1, 3, 3, 2], { k: 2 });
    assert.deepEqual(result, [
      { label: '1', score: 3, index: 1 },
      { label: '2', score: 3, index: 2 },
    ]);
  });

  it('applies softmax to logits when asked', () => {
    const result = topK([0, Math.log(3)], { k: 2, softmax: true });
    assert.equal(result[0]?.index, 1);
    assert.ok(Math.abs((result[0]?.score ?? 0) - 0.75) < 1e-12);
    assert.ok(Math.abs((result[1]?.score ?? 0) - 0.25) < 1e-12);
  });

  it('leaves out classes below the threshold and returns fewer than k', () => {
    const result = topK([0.7, 0.2, 0.1], { k: 3, threshold: 0.15 });
    assert.deepEqual(
      result.map((r) => r.index),
      [0, 1],
    );
  });

  it('throws FAILED_PRECONDITION LABELS_TOO_SHORT when labels are fewer than scores', () => {
    assert.throws(
      () => topK([0.1, 0.2, 0.7], { k: 1, labels: ['a', 'b'] }),
      (e: { code: number; reason: string }) => e.code === Code.FAILED_PRECONDITION && e.reason === 'LABELS_TOO_SHORT',
    );
  });

  it('throws RangeError for a k that is not a positive integer', () => {
    assert.throws(() => topK([1], { k: 0 }), RangeError);
  });
});
