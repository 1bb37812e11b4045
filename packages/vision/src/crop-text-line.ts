import { checkImage } from './check-image.js';
import type { RgbImage } from './decode-image.js';
import type { Point, Quad } from './min-area-rect.js';

/**
 * Cuts the quadrilateral `box` (top-left, top-right, bottom-right, bottom-left) out of `image` as an upright
 * strip: a perspective warp (bilinear, edges replicated) to a rectangle as long as the box's longer opposite
 * sides. A strip at least 1.5 times taller than wide is turned 90° counter-clockwise, as PaddleOCR does, so
 * vertical text lines read left to right.
 */
export function cropTextLine(image: RgbImage, box: Quad): RgbImage {
  checkImage(image);
  const [p0, p1, p2, p3] = box;
  const width = Math.max(1, Math.trunc(Math.max(dist(p0, p1), dist(p2, p3))));
  const height = Math.max(1, Math.trunc(Math.max(dist(p0, p3), dist(p1, p2))));
  const h = homography(
    [
      { x: 0, y: 0 },
      { x: width, y: 0 },
      { x: width, y: height },
      { x: 0, y: height },
    ],
    [p0, p1, p2, p3],
  );
  const out = new Uint8Array(width * height * 3);
  const { data, width: iw, height: ih } = image;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = h[6] * x + h[7] * y + 1;
      const sx = clamp((h[0] * x + h[1] * y + h[2]) / d, 0, iw - 1);
      const sy = clamp((h[3] * x + h[4] * y + h[5]) / d, 0, ih - 1);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, iw - 1);
      const y1 = Math.min(y0 + 1, ih - 1);
      const fx = sx - x0;
      const fy = sy - y0;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const a = data[(y0 * iw + x0) * 3 + c] as number;
        const b = data[(y0 * iw + x1) * 3 + c] as number;
        const e = data[(y1 * iw + x0) * 3 + c] as number;
        const f = data[(y1 * iw + x1) * 3 + c] as number;
        const top = a + (b - a) * fx;
        const bottom = e + (f - e) * fx;
        out[o + c] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  const strip = { width, height, data: out };
  return height / width >= 1.5 ? rotate90ccw(strip) : strip;
}

function rotate90ccw(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  // new[r][c] = old[c][width - 1 - r]; the result is `height` wide and `width` high.
  for (let r = 0; r < width; r++) {
    for (let c = 0; c < height; c++) {
      const from = (c * width + (width - 1 - r)) * 3;
      const to = (r * height + c) * 3;
      out[to] = data[from] as number;
      out[to + 1] = data[from + 1] as number;
      out[to + 2] = data[from + 2] as number;
    }
  }
  return { width: height, height: width, data: out };
}

type Homography = [number, number, number, number, number, number, number, number];

/** The projective map sending each `from[i]` to `to[i]` (h33 = 1), by Gaussian elimination. */
function homography(from: readonly Point[], to: readonly Point[]): Homography {
  const rows: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const { x, y } = from[i] as Point;
    const { x: u, y: v } = to[i] as Point;
    rows.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    rows.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let r = col + 1; r < 8; r++) {
      if (Math.abs((rows[r] as number[])[col] as number) > Math.abs((rows[pivot] as number[])[col] as number))
        pivot = r;
    }
    [rows[col], rows[pivot]] = [rows[pivot] as number[], rows[col] as number[]];
    const p = rows[col] as number[];
    const pv = p[col] as number;
    if (Math.abs(pv) < 1e-12) {
      // Degenerate box (collinear corners): fall back to the axis-aligned bounding box.
      return boundingBoxMap(from, to);
    }
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const row = rows[r] as number[];
      const factor = (row[col] as number) / pv;
      if (factor === 0) continue;
      for (let k = col; k < 9; k++) row[k] = (row[k] as number) - factor * (p[k] as number);
    }
  }
  return rows.map((row, i) => (row[8] as number) / (row[i] as number)) as Homography;
}

function boundingBoxMap(from: readonly Point[], to: readonly Point[]): Homography {
  const fx = from.map((p) => p.x);
  const fy = from.map((p) => p.y);
  const tx = to.map((p) => p.x);
  const ty = to.map((p) => p.y);
  const span = (v: number[]) => Math.max(...v) - Math.min(...v) || 1;
  const ax = span(tx) / span(fx);
  const ay = span(ty) / span(fy);
  return [ax, 0, Math.min(...tx) - ax * Math.min(...fx), 0, ay, Math.min(...ty) - ay * Math.min(...fy), 0, 0];
}

function dist(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
