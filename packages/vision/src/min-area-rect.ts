export interface Point {
  readonly x: number;
  readonly y: number;
}

/** Four corners, clockwise on screen from the top-left: top-left, top-right, bottom-right, bottom-left. */
export type Quad = readonly [Point, Point, Point, Point];

/** A rotated rectangle: centre, unit direction of its first side, half-lengths along it and across it. */
export interface RotatedRect {
  readonly cx: number;
  readonly cy: number;
  readonly ux: number;
  readonly uy: number;
  readonly halfU: number;
  readonly halfV: number;
}

/** The smallest-area enclosing rectangle of a point set (rotating calipers over the convex hull). */
export function minAreaRect(points: readonly Point[]): RotatedRect {
  const hull = convexHull(points);
  const first = hull[0];
  if (!first) throw new RangeError('minAreaRect needs at least one point');
  if (hull.length === 1) return { cx: first.x, cy: first.y, ux: 1, uy: 0, halfU: 0, halfV: 0 };
  let best: RotatedRect | undefined;
  let bestArea = Number.POSITIVE_INFINITY;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i] as Point;
    const b = hull[(i + 1) % hull.length] as Point;
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (len === 0) continue;
    const ux = (b.x - a.x) / len;
    const uy = (b.y - a.y) / len;
    let minU = Number.POSITIVE_INFINITY;
    let maxU = Number.NEGATIVE_INFINITY;
    let minV = Number.POSITIVE_INFINITY;
    let maxV = Number.NEGATIVE_INFINITY;
    for (const p of hull) {
      const u = p.x * ux + p.y * uy;
      const v = -p.x * uy + p.y * ux;
      minU = Math.min(minU, u);
      maxU = Math.max(maxU, u);
      minV = Math.min(minV, v);
      maxV = Math.max(maxV, v);
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = {
        cx: cu * ux - cv * uy,
        cy: cu * uy + cv * ux,
        ux,
        uy,
        halfU: (maxU - minU) / 2,
        halfV: (maxV - minV) / 2,
      };
    }
  }
  return best ?? { cx: first.x, cy: first.y, ux: 1, uy: 0, halfU: 0, halfV: 0 };
}

/** The rectangle grown by `distance` on every side. */
export function expandRect(rect: RotatedRect, distance: number): RotatedRect {
  return { ...rect, halfU: rect.halfU + distance, halfV: rect.halfV + distance };
}

/** Corners ordered as PaddleOCR orders them: of the two leftmost, the upper is top-left; likewise on the right. */
export function rectCorners(rect: RotatedRect): Quad {
  const { cx, cy, ux, uy, halfU, halfV } = rect;
  const vx = -uy;
  const vy = ux;
  const corners = [
    { x: cx - halfU * ux - halfV * vx, y: cy - halfU * uy - halfV * vy },
    { x: cx + halfU * ux - halfV * vx, y: cy + halfU * uy - halfV * vy },
    { x: cx + halfU * ux + halfV * vx, y: cy + halfU * uy + halfV * vy },
    { x: cx - halfU * ux + halfV * vx, y: cy - halfU * uy + halfV * vy },
  ];
  return orderQuad(corners);
}

/** Orders four corners top-left, top-right, bottom-right, bottom-left. */
export function orderQuad(points: readonly Point[]): Quad {
  const byX = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  const [l0, l1, r0, r1] = byX as [Point, Point, Point, Point];
  const [tl, bl] = l1.y < l0.y ? [l1, l0] : [l0, l1];
  const [tr, br] = r1.y < r0.y ? [r1, r0] : [r0, r1];
  return [tl, tr, br, bl];
}

/** Convex hull, counter-clockwise in y-down coordinates, without collinear points (monotone chain). */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points]
    .sort((a, b) => a.x - b.x || a.y - b.y)
    .filter((p, i, all) => i === 0 || p.x !== all[i - 1]?.x || p.y !== all[i - 1]?.y);
  if (sorted.length <= 2) return sorted;
  const cross = (o: Point, a: Point, b: Point) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: Point[] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2] as Point, lower[lower.length - 1] as Point, p) <= 0) {
      lower.pop();
    }
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i] as Point;
    while (upper.length >= 2 && cross(upper[upper.length - 2] as Point, upper[upper.length - 1] as Point, p) <= 0) {
      upper.pop();
    }
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}
