import { parseLabels } from './parse-labels.js';

export interface ParseKeysOptions {
  /** Append a space character, as PaddleOCR does with `use_space_char` (true for PP-OCR). */
  readonly spaceChar?: boolean;
}

/**
 * Reads a CTC recognizer's dictionary (PaddleOCR's `ppocr_keys_v1.txt`): one character a line, then a
 * space when `spaceChar`. Class 0 of the model is the CTC blank; class `i` is `keys[i - 1]`.
 */
export function parseKeys(text: string, options: ParseKeysOptions = {}): string[] {
  const keys = parseLabels(text);
  if (options.spaceChar ?? true) keys.push(' ');
  return keys;
}
