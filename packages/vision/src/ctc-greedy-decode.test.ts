import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '@ferry/core';
import { ctcGreedyDecode } from './ctc-greedy-decode.js';

const keys = ['a', 'b', 'c', ' '];
const classes = keys.length + 1;

/** One-hot-ish probabilities: at each step `winner` gets `p`, the rest share 1 - p. */
function steps(winners: readonly number[], p = 0.9): number[] {
  const out: number[] = [];
  for (const w of winners) {
    for (let c = 0; c < classes; c++) out.push(c === w ? p : (1 - p) / (classes - 1));
  }
  return out;
}

describe('ctcGreedyDecode()', () => {
  it('collapses repeats, drops blanks and keeps repeats separated by a blank', () => {
    // a a _ b _ b c c _ → "abbc"
    const probs = Float32Array.from(steps([1, 1, 0, 2, 0, 2, 3, 3, 0]));
    const [result] = ctcGreedyDecode(probs, { shape: [1, 9, classes], keys });
    assert.equal(result?.text, 'abbc');
    assert.ok(Math.abs((result?.score ?? 0) - 0.9) < 1e-6);
  });

  it('decodes every line of a batch and maps the last class to the appended space', () => {
    const probs = Float32Array.from([...steps([1, 4, 3]), ...steps([0, 0, 0])]);
    const results = ctcGreedyDecode(probs, { shape: [2, 3, classes], keys });
    assert.equal(results.length, 2);
    assert.equal(results[0]?.text, 'a c');
    assert.deepEqual(results[1], { text: '', score: 0 });
  });

  it('scores a line as the mean top probability of the kept characters only', () => {
    const probs = [...steps([1], 0.6), ...steps([0], 0.99), ...steps([2], 0.8)];
    const [result] = ctcGreedyDecode(probs, { shape: [1, 3, classes], keys });
    assert.equal(result?.text, 'ab');
    assert.ok(Math.abs((result?.score ?? 0) - 0.7) < 1e-9);
  });

  it('throws FAILED_PRECONDITION KEYS_TOO_SHORT when the model has more classes than keys + blank', () => {
    assert.throws(
      () => ctcGreedyDecode(new Float32Array(1 * 2 * 6), { shape: [1, 2, 6], keys }),
      (e: { code: number; reason: string }) => e.code === Code.FAILED_PRECONDITION && e.reason === 'KEYS_TOO_SHORT',
    );
  });

  it('throws RangeError when the values do not fill the shape', () => {
    assert.throws(() => ctcGreedyDecode(new Float32Array(7), { shape: [1, 2, classes], keys }), RangeError);
  });
});
