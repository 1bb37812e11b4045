import type { RgbImage } from './decode-image.js';

/** Throws RangeError unless `image` is a well-formed RGB image. */
export function checkImage(image: RgbImage): void {
  const { width, height, data } = image;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Image size ${width}x${height} is not a positive integer size`);
  }
  if (!(data instanceof Uint8Array) || data.byteLength !== width * height * 3) {
    throw new RangeError(`An RGB image of ${width}x${height} needs ${width * height * 3} bytes`);
  }
}
