import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dbBoxes } from './db-boxes.js';

function map(width: number, height: number): Float32Array {
  return new Float32Array(width * height);
}

function fill(m: Float32Array, width: number, x0: number, y0: number, x1: number, y1: number, p: number): void {
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * width + x] = p;
}

const corners = (box: { points: readonly { x: number; y: number }[] }) => box.points.map((p) => [p.x, p.y]);

describe('dbBoxes()', () => {
  // Two text regions, a faint one (mean 0.4 < box threshold 0.6) and a speck (under the minimum size).
  const W = 100;
  const H = 60;
  const m = map(W, H);
  fill(m, W, 20, 35, 79, 44, 0.8);
  fill(m, W, 10, 10, 49, 19, 0.9);
  fill(m, W, 85, 5, 95, 15, 0.4);
  fill(m, W, 90, 55, 91, 56, 0.95);

  it('finds the two rectangles, grown by area × 1.5 / perimeter, top to bottom', () => {
    const boxes = dbBoxes(m, { width: W, height: H });
    assert.equal(boxes.length, 2);
    // A: pixel centres x 10..49, y 10..19 → 39 × 9, grows by 39·9·1.5 / (2·48) = 5.48 on each side.
    assert.deepEqual(corners(boxes[0] as (typeof boxes)[0]), [
      [5, 5],
      [54, 5],
      [54, 24],
      [5, 24],
    ]);
    // B: 59 × 9, grows by 59·9·1.5 / (2·68) = 5.86.
    assert.deepEqual(corners(boxes[1] as (typeof boxes)[0]), [
      [14, 29],
      [85, 29],
      [85, 50],
      [14, 50],
    ]);
    assert.ok(Math.abs((boxes[0]?.score ?? 0) - 0.9) < 1e-6);
    assert.ok(Math.abs((boxes[1]?.score ?? 0) - 0.8) < 1e-6);
  });

  it('scales boxes to the original image size', () => {
    const boxes = dbBoxes(m, { width: W, height: H, imageWidth: 200, imageHeight: 120 });
    assert.deepEqual(boxes.map(corners), [
      [
        [9, 9],
        [109, 9],
        [109, 49],
        [9, 49],
      ],
      [
        [28, 58],
        [170, 58],
        [170, 100],
        [28, 100],
      ],
    ]);
  });

  it('keeps the faint region when the box threshold allows it', () => {
    const boxes = dbBoxes(m, { width: W, height: H, boxThreshold: 0.3 });
    assert.equal(boxes.length, 3);
  });

  it('clips grown boxes to the image', () => {
    const small = map(20, 10);
    fill(small, 20, 0, 0, 19, 9, 0.9);
    const [box] = dbBoxes(small, { width: 20, height: 10 });
    assert.deepEqual(corners(box as NonNullable<typeof box>), [
      [0, 0],
      [20, 0],
      [20, 10],
      [0, 10],
    ]);
  });

  it('orders boxes of one line left to right even when the right one starts higher', () => {
    const w = 100;
    const line = map(w, 40);
    fill(line, w, 60, 10, 90, 19, 0.9);
    fill(line, w, 5, 12, 30, 21, 0.9);
    const boxes = dbBoxes(line, { width: w, height: 40 });
    assert.deepEqual(
      boxes.map((b) => b.points[0].x < 40),
      [true, false],
    );
  });

  it('returns a rotated rectangle for rotated text', () => {
    const w = 120;
    const h = 100;
    const rotated = map(w, h);
    const angle = (30 * Math.PI) / 180;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const u = (x - 60) * Math.cos(angle) + (y - 50) * Math.sin(angle);
        const v = -(x - 60) * Math.sin(angle) + (y - 50) * Math.cos(angle);
        if (Math.abs(u) <= 30 && Math.abs(v) <= 6) rotated[y * w + x] = 0.9;
      }
    }
    const boxes = dbBoxes(rotated, { width: w, height: h });
    assert.equal(boxes.length, 1);
    const [tl, tr, br, bl] = (boxes[0] as NonNullable<(typeof boxes)[0]>).points;
    const degrees = (Math.atan2(tr.y - tl.y, tr.x - tl.x) * 180) / Math.PI;
    assert.ok(Math.abs(degrees - 30) < 3, `top edge at ${degrees}°`);
    const cx = (tl.x + tr.x + br.x + bl.x) / 4;
    const cy = (tl.y + tr.y + br.y + bl.y) / 4;
    assert.ok(Math.abs(cx - 60) <= 1.5 && Math.abs(cy - 50) <= 1.5, `centre at ${cx}, ${cy}`);
    // 60 × 12 region grows by about 60·12·1.5 / 144 = 7.5 on each side.
    const long = Math.hypot(tr.x - tl.x, tr.y - tl.y);
    const short = Math.hypot(bl.x - tl.x, bl.y - tl.y);
    assert.ok(Math.abs(long - 74) < 4, `long side ${long}`);
    assert.ok(Math.abs(short - 26) < 4, `short side ${short}`);
  });

  it('returns no boxes for an empty map and rejects a map of the wrong size', () => {
    assert.deepEqual(dbBoxes(map(10, 10), { width: 10, height: 10 }), []);
    assert.throws(() => dbBoxes(map(10, 10), { width: 10, height: 11 }), RangeError);
  });
});
