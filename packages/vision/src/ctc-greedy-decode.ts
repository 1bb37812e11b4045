import { Code, FerryError } from '@ferry/core';

export interface CtcGreedyDecodeOptions {
  /** `[batch, steps, classes]` of the recognizer's output. */
  readonly shape: readonly [number, number, number];
  /** Class `i` (i ≥ 1) is `keys[i - 1]`; class 0 is the CTC blank. See `parseKeys`. */
  readonly keys: readonly string[];
}

export interface RecognizedText {
  readonly text: string;
  /** Mean probability of the characters kept; 0 when none were. */
  readonly score: number;
}

/**
 * Greedy CTC decoding of per-step class probabilities: argmax at each step, repeats collapsed, blanks (class 0)
 * dropped. Throws FAILED_PRECONDITION, reason KEYS_TOO_SHORT, when the model has more classes than keys + blank.
 */
export function ctcGreedyDecode(probs: ArrayLike<number>, options: CtcGreedyDecodeOptions): RecognizedText[] {
  const [batch, steps, classes] = options.shape;
  const { keys } = options;
  for (const d of options.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`ctcGreedyDecode: invalid shape [${options.shape}]`);
  }
  if (probs.length !== batch * steps * classes) {
    throw new RangeError(`ctcGreedyDecode: ${probs.length} values do not fill shape [${options.shape.join(', ')}]`);
  }
  if (classes > keys.length + 1) {
    throw new FerryError(
      Code.FAILED_PRECONDITION,
      `The recognizer outputs ${classes} classes but the dictionary has ${keys.length} keys (+ blank)`,
      { reason: 'KEYS_TOO_SHORT' },
    );
  }
  const results: RecognizedText[] = [];
  for (let b = 0; b < batch; b++) {
    let text = '';
    let sum = 0;
    let kept = 0;
    let previous = -1;
    for (let t = 0; t < steps; t++) {
      const base = (b * steps + t) * classes;
      let best = 0;
      let bestProb = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < classes; c++) {
        const p = probs[base + c] as number;
        if (p > bestProb) {
          bestProb = p;
          best = c;
        }
      }
      if (best !== 0 && best !== previous) {
        text += keys[best - 1] as string;
        sum += bestProb;
        kept++;
      }
      previous = best;
    }
    results.push({ text, score: kept === 0 ? 0 : sum / kept });
  }
  return results;
}
