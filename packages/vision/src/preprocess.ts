import { type NumericTensor, tensor } from '@ferry/core';
import sharp from 'sharp';
import { abortable } from './abortable.js';
import { checkImage } from './check-image.js';
import type { RgbImage } from './decode-image.js';
import type { PreprocessConfig } from './model-config.js';

export interface PreprocessOptions {
  readonly signal?: AbortSignal;
}

interface Plan {
  /** Size the image is resized to. */
  readonly resizeWidth: number;
  readonly resizeHeight: number;
  /** Offset of the region taken from the resized image (centre crop). */
  readonly left: number;
  readonly top: number;
  /** Size of the region copied into the tensor; the rest of the tensor is 0 (padding). */
  readonly copyWidth: number;
  readonly copyHeight: number;
  /** Tensor spatial size. */
  readonly width: number;
  readonly height: number;
}

/**
 * Turns a decoded image into the model's input: resized as `config.resize` says (bilinear, with sharp),
 * channels reordered, each value `(pixel * scale - mean[c]) / std[c]`, laid out NCHW or NHWC with batch 1.
 */
export async function preprocess(
  image: RgbImage,
  config: PreprocessConfig,
  options: PreprocessOptions = {},
): Promise<NumericTensor> {
  checkImage(image);
  const plan = planResize(image.width, image.height, config);
  const resized = await resize(image, plan.resizeWidth, plan.resizeHeight, options.signal);
  const { width, height } = plan;
  const out = new Float32Array(3 * width * height);
  const order = config.channels === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const mul = [0, 1, 2].map((c) => config.scale / (config.std[c] as number));
  const add = [0, 1, 2].map((c) => -(config.mean[c] as number) / (config.std[c] as number));
  const nchw = config.layout === 'NCHW';
  const plane = width * height;
  const src = resized.data;
  for (let y = 0; y < plan.copyHeight; y++) {
    const srcRow = ((y + plan.top) * resized.width + plan.left) * 3;
    for (let x = 0; x < plan.copyWidth; x++) {
      const s = srcRow + x * 3;
      const p = y * width + x;
      for (let c = 0; c < 3; c++) {
        const value = (src[s + (order[c] as number)] as number) * (mul[c] as number) + (add[c] as number);
        out[nchw ? c * plane + p : p * 3 + c] = value;
      }
    }
  }
  const shape = nchw ? [1, 3, height, width] : [1, height, width, 3];
  return tensor('float32', shape, out);
}

function planResize(w: number, h: number, config: PreprocessConfig): Plan {
  const W = config.width;
  const H = config.height;
  switch (config.resize) {
    case 'stretch':
      return whole(W, H);
    case 'shorter-side+center-crop': {
      const s = config.shorterSide / Math.min(w, h);
      const rw = Math.max(W, Math.round(w * s));
      const rh = Math.max(H, Math.round(h * s));
      return {
        resizeWidth: rw,
        resizeHeight: rh,
        left: Math.floor((rw - W) / 2),
        top: Math.floor((rh - H) / 2),
        copyWidth: W,
        copyHeight: H,
        width: W,
        height: H,
      };
    }
    case 'keep-ratio-pad': {
      const s = Math.min(W / w, H / h);
      const rw = clamp(Math.round(w * s), 1, W);
      const rh = clamp(Math.round(h * s), 1, H);
      return { resizeWidth: rw, resizeHeight: rh, left: 0, top: 0, copyWidth: rw, copyHeight: rh, width: W, height: H };
    }
    case 'limit-side': {
      const s = Math.min(1, W / w, H / h);
      const m = config.multipleOf;
      const rw = Math.max(Math.round(Math.trunc(w * s) / m) * m, m);
      const rh = Math.max(Math.round(Math.trunc(h * s) / m) * m, m);
      return whole(rw, rh);
    }
    case 'fit-height': {
      const rw = clamp(Math.ceil((H * w) / h), 1, W);
      return { resizeWidth: rw, resizeHeight: H, left: 0, top: 0, copyWidth: rw, copyHeight: H, width: W, height: H };
    }
  }
}

function whole(width: number, height: number): Plan {
  return {
    resizeWidth: width,
    resizeHeight: height,
    left: 0,
    top: 0,
    copyWidth: width,
    copyHeight: height,
    width,
    height,
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

async function resize(image: RgbImage, width: number, height: number, signal?: AbortSignal): Promise<RgbImage> {
  if (width === image.width && height === image.height) return image;
  const raw = { width: image.width, height: image.height, channels: 3 } as const;
  const data = await abortable(
    sharp(image.data, { raw }).resize(width, height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer(),
    signal,
  );
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
