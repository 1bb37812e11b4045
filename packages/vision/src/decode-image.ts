import { Code, FerryError } from '@ferry/core';
import sharp, { type Metadata } from 'sharp';
import { abortable } from './abortable.js';

/** A decoded image: 8-bit RGB, row-major, `width * height * 3` bytes. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export interface DecodeImageOptions {
  /** Largest encoded size accepted. */
  readonly maxBytes: number;
  /** Largest `width * height` accepted (checked from the header, before decoding). */
  readonly maxPixels: number;
  readonly signal?: AbortSignal;
}

/** Formats decoded; others (SVG, TIFF, GIF, HEIF, …) are refused so guests cannot reach their decoders. */
const FORMATS = new Set(['jpeg', 'png', 'webp']);

/**
 * Decodes JPEG, PNG or WebP bytes to RGB with sharp: EXIF orientation applied, alpha flattened onto white,
 * converted to sRGB. Throws FerryError INVALID_ARGUMENT with reason IMAGE_EMPTY (no bytes, or a zero-size
 * image), IMAGE_TOO_LARGE (over `maxBytes` or `maxPixels`) or IMAGE_UNDECODABLE (not one of the formats,
 * corrupt, truncated).
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeImageOptions): Promise<RgbImage> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeImage: bytes must be a Uint8Array');
  const { maxBytes, maxPixels, signal } = options;
  signal?.throwIfAborted();
  if (bytes.byteLength === 0) {
    throw new FerryError(Code.INVALID_ARGUMENT, 'The image is empty (0 bytes)', { reason: 'IMAGE_EMPTY' });
  }
  if (bytes.byteLength > maxBytes) {
    throw new FerryError(
      Code.INVALID_ARGUMENT,
      `The image is ${bytes.byteLength} bytes, over the limit of ${maxBytes}`,
      {
        reason: 'IMAGE_TOO_LARGE',
      },
    );
  }
  const input = { failOn: 'error', limitInputPixels: false, autoOrient: true } as const;
  let meta: Metadata;
  try {
    meta = await abortable(sharp(bytes, input).metadata(), signal);
  } catch (error) {
    if (isZeroSizePng(bytes)) {
      throw new FerryError(Code.INVALID_ARGUMENT, 'The image has no pixels (its PNG header says 0 wide or high)', {
        reason: 'IMAGE_EMPTY',
      });
    }
    throw undecodable(error, signal);
  }
  if (!meta.format || !FORMATS.has(meta.format)) {
    throw new FerryError(
      Code.INVALID_ARGUMENT,
      `Images must be JPEG, PNG or WebP, not ${meta.format ?? 'an unknown format'}`,
      { reason: 'IMAGE_UNDECODABLE' },
    );
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) {
    throw new FerryError(Code.INVALID_ARGUMENT, `The image has no pixels (${width ?? 0}x${height ?? 0})`, {
      reason: 'IMAGE_EMPTY',
    });
  }
  if (width * height > maxPixels) {
    throw new FerryError(
      Code.INVALID_ARGUMENT,
      `The image is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels}`,
      { reason: 'IMAGE_TOO_LARGE' },
    );
  }
  try {
    const { data, info } = await abortable(
      sharp(bytes, { ...input, limitInputPixels: maxPixels })
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb')
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true }),
      signal,
    );
    if (info.channels !== 3 || data.byteLength !== info.width * info.height * 3) {
      throw new Error(`decoder returned ${info.channels} channels`);
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (error) {
    throw undecodable(error, signal);
  }
}

function undecodable(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && error === signal.reason) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FerryError(Code.INVALID_ARGUMENT, `The image cannot be decoded: ${message}`, {
    reason: 'IMAGE_UNDECODABLE',
    cause: error,
  });
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** libpng refuses a 0×N header as corrupt; name it for what it is. */
function isZeroSizePng(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 24 || !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(16) === 0 || view.getUint32(20) === 0;
}
