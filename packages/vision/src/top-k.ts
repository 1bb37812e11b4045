import { Code, FerryError } from '@ferry/core';

export interface TopKOptions {
  readonly k: number;
  /** Class names by index; when absent, labels are the indices as strings. */
  readonly labels?: readonly string[];
  /** Apply softmax to the scores first (for models that output logits). */
  readonly softmax?: boolean;
  /** Leave out classes scoring below this (after softmax). */
  readonly threshold?: number;
}

export interface Classification {
  readonly label: string;
  readonly score: number;
  readonly index: number;
}

/**
 * The `k` best classes of one score vector, best first; ties keep the lower index first. Throws
 * FAILED_PRECONDITION, reason LABELS_TOO_SHORT, when `labels` has fewer entries than there are scores.
 */
export function topK(scores: ArrayLike<number>, options: TopKOptions): Classification[] {
  const { k, labels, threshold = Number.NEGATIVE_INFINITY } = options;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`topK: k must be a positive integer, not ${k}`);
  const n = scores.length;
  if (labels && labels.length < n) {
    throw new FerryError(
      Code.FAILED_PRECONDITION,
      `The model outputs ${n} classes but its labels list has only ${labels.length}`,
      { reason: 'LABELS_TOO_SHORT' },
    );
  }
  const values = options.softmax ? softmax(scores) : Float64Array.from(scores);
  const best: Classification[] = [];
  for (let i = 0; i < n; i++) {
    const score = values[i] as number;
    if (Number.isNaN(score) || score < threshold) continue;
    if (best.length === k && score <= (best[k - 1] as Classification).score) continue;
    let at = best.length;
    while (at > 0 && (best[at - 1] as Classification).score < score) at--;
    best.splice(at, 0, { label: labels ? (labels[i] as string) : String(i), score, index: i });
    if (best.length > k) best.pop();
  }
  return best;
}

function softmax(scores: ArrayLike<number>): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < scores.length; i++) max = Math.max(max, scores[i] as number);
  const out = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const e = Math.exp((scores[i] as number) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}
