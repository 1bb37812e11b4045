import { checkImage } from './check-image.js';
import type { RgbImage } from './decode-image.js';

/** The image turned upside down (a text line the direction classifier found rotated by 180°). */
export function rotate180(image: RgbImage): RgbImage {
  checkImage(image);
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  const pixels = width * height;
  for (let i = 0; i < pixels; i++) {
    const from = i * 3;
    const to = (pixels - 1 - i) * 3;
    out[to] = data[from] as number;
    out[to + 1] = data[from + 1] as number;
    out[to + 2] = data[from + 2] as number;
  }
  return { width, height, data: out };
}
