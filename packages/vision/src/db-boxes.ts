import { expandRect, minAreaRect, type Point, type Quad, rectCorners } from './min-area-rect.js';

export interface DbBoxesOptions {
  /** Size of the probability map. */
  readonly width: number;
  readonly height: number;
  /** Size of the original image the boxes are scaled to; the map's size when absent. */
  readonly imageWidth?: number;
  readonly imageHeight?: number;
  /** Binarisation threshold of the probability map (PaddleOCR det_db_thresh 0.3). */
  readonly threshold?: number;
  /** Minimum mean probability inside a box (det_db_box_thresh 0.6). */
  readonly boxThreshold?: number;
  /** Growth of a box: distance = area × ratio / perimeter (det_db_unclip_ratio 1.5). */
  readonly unclipRatio?: number;
  /** At most this many regions are considered (max_candidates 1000). */
  readonly maxCandidates?: number;
  /** Boxes whose shorter side is below this (in map pixels; +2 after growing) are dropped (min_size 3). */
  readonly minSize?: number;
}

export interface TextBox {
  /** Corners in image pixels: top-left, top-right, bottom-right, bottom-left. */
  readonly points: Quad;
  /** Mean probability inside the box before it grew. */
  readonly score: number;
}

/** Boxes whose first corners are closer than this vertically are on one line and ordered left to right. */
const SAME_LINE_PX = 10;

/**
 * Text boxes from a DB (Differentiable Binarization) probability map: threshold → 8-connected regions →
 * minimum-area rotated rectangle → mean probability inside → drop small or faint boxes → grow by
 * area × unclipRatio / perimeter → scale to the image and clip. Sorted top to bottom, then left to right
 * within a line, as PaddleOCR sorts them.
 */
export function dbBoxes(probMap: ArrayLike<number>, options: DbBoxesOptions): TextBox[] {
  const { width, height } = options;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`dbBoxes: invalid map size ${width}x${height}`);
  }
  if (probMap.length !== width * height) {
    throw new RangeError(`dbBoxes: a ${width}x${height} map needs ${width * height} values, not ${probMap.length}`);
  }
  const imageWidth = options.imageWidth ?? width;
  const imageHeight = options.imageHeight ?? height;
  const threshold = options.threshold ?? 0.3;
  const boxThreshold = options.boxThreshold ?? 0.6;
  const unclipRatio = options.unclipRatio ?? 1.5;
  const maxCandidates = options.maxCandidates ?? 1000;
  const minSize = options.minSize ?? 3;
  const sx = imageWidth / width;
  const sy = imageHeight / height;

  const boxes: TextBox[] = [];
  for (const region of regions(probMap, width, height, threshold, maxCandidates)) {
    const rect = minAreaRect(region);
    if (Math.min(rect.halfU, rect.halfV) * 2 < minSize) continue;
    const score = meanInside(probMap, width, height, rectCorners(rect));
    if (score < boxThreshold) continue;
    const w = rect.halfU * 2;
    const h = rect.halfV * 2;
    const grown = expandRect(rect, (w * h * unclipRatio) / (2 * (w + h)));
    if (Math.min(grown.halfU, grown.halfV) * 2 < minSize + 2) continue;
    const points = rectCorners(grown).map((p) => ({
      x: clamp(Math.round(p.x * sx), 0, imageWidth),
      y: clamp(Math.round(p.y * sy), 0, imageHeight),
    })) as unknown as Quad;
    const [tl, tr, , bl] = points;
    if (distance(tl, tr) <= 3 || distance(tl, bl) <= 3) continue;
    boxes.push({ points, score });
  }
  return sortBoxes(boxes);
}

/**
 * 8-connected regions of pixels above `threshold`, in scan order, each as the leftmost and rightmost
 * pixel centre of every row (enough for the convex hull).
 */
function regions(
  probMap: ArrayLike<number>,
  width: number,
  height: number,
  threshold: number,
  maxCandidates: number,
): Point[][] {
  const seen = new Uint8Array(width * height);
  const stack: number[] = [];
  const out: Point[][] = [];
  for (let start = 0; start < width * height && out.length < maxCandidates; start++) {
    if (seen[start] || !((probMap[start] as number) > threshold)) continue;
    seen[start] = 1;
    stack.push(start);
    const rowMin = new Map<number, number>();
    const rowMax = new Map<number, number>();
    while (stack.length > 0) {
      const i = stack.pop() as number;
      const x = i % width;
      const y = (i - x) / width;
      if (!((rowMin.get(y) ?? Number.POSITIVE_INFINITY) <= x)) rowMin.set(y, x);
      if (!((rowMax.get(y) ?? Number.NEGATIVE_INFINITY) >= x)) rowMax.set(y, x);
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const j = ny * width + nx;
          if (seen[j] || !((probMap[j] as number) > threshold)) continue;
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
    const points: Point[] = [];
    for (const [y, x] of rowMin) points.push({ x, y }, { x: rowMax.get(y) as number, y });
    out.push(points);
  }
  return out;
}

/** Mean of the map over pixels whose centres lie in the convex quad (edges included). */
function meanInside(probMap: ArrayLike<number>, width: number, height: number, quad: Quad): number {
  const xs = quad.map((p) => p.x);
  const ys = quad.map((p) => p.y);
  const x0 = clamp(Math.floor(Math.min(...xs)), 0, width - 1);
  const x1 = clamp(Math.ceil(Math.max(...xs)), 0, width - 1);
  const y0 = clamp(Math.floor(Math.min(...ys)), 0, height - 1);
  const y1 = clamp(Math.ceil(Math.max(...ys)), 0, height - 1);
  let sum = 0;
  let count = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!insideConvex(quad, x, y)) continue;
      sum += probMap[y * width + x] as number;
      count++;
    }
  }
  return count === 0 ? 0 : sum / count;
}

function insideConvex(quad: Quad, x: number, y: number): boolean {
  let sign = 0;
  for (let i = 0; i < 4; i++) {
    const a = quad[i] as Point;
    const b = quad[(i + 1) % 4] as Point;
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (len === 0) continue;
    const side = ((b.x - a.x) * (y - a.y) - (b.y - a.y) * (x - a.x)) / len;
    if (Math.abs(side) <= 1e-6) continue;
    const s = Math.sign(side);
    if (sign === 0) sign = s;
    else if (s !== sign) return false;
  }
  return true;
}

function sortBoxes(boxes: TextBox[]): TextBox[] {
  const sorted = [...boxes].sort((a, b) => a.points[0].y - b.points[0].y || a.points[0].x - b.points[0].x);
  for (let i = 0; i + 1 < sorted.length; i++) {
    for (let j = i; j >= 0; j--) {
      const a = sorted[j] as TextBox;
      const b = sorted[j + 1] as TextBox;
      if (Math.abs(b.points[0].y - a.points[0].y) < SAME_LINE_PX && b.points[0].x < a.points[0].x) {
        sorted[j] = b;
        sorted[j + 1] = a;
      } else {
        break;
      }
    }
  }
  return sorted;
}

function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
