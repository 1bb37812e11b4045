import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReservoir, quantile } from './reservoir.js';

describe('quantile()', () => {
  it('picks the nearest rank', () => {
    const values = Float64Array.from({ length: 100 }, (_, k) => k + 1);
    assert.equal(quantile(values, 0.5), 50);
    assert.equal(quantile(values, 0.99), 99);
    assert.equal(quantile(values, 1), 100);
    assert.equal(quantile(values, 0), 1);
    assert.equal(quantile(new Float64Array([7]), 0.99), 7);
  });

  it('is null without values', () => {
    assert.equal(quantile(new Float64Array(0), 0.5), null);
  });
});

describe('createReservoir()', () => {
  it('holds every value up to its capacity, sorted on demand', () => {
    const r = createReservoir(4);
    for (const v of [3, 1, 2]) r.offer(v);
    assert.deepEqual([...r.sorted()], [1, 2, 3]);
    assert.equal(r.seen, 3);
  });

  it('keeps at most capacity values however many it sees, and counts them all', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const r = createReservoir(64, random);
    for (let k = 0; k < 10_000; k++) r.offer(k);
    assert.equal(r.size, 64);
    assert.equal(r.seen, 10_000);
    const median = quantile(r.sorted(), 0.5) as number;
    assert.ok(median > 2500 && median < 7500, `a uniform sample's median is near the middle, got ${median}`);
  });

  it('starts over after clear()', () => {
    const r = createReservoir(2);
    r.offer(5);
    r.clear();
    assert.equal(r.size, 0);
    assert.equal(r.seen, 0);
    assert.deepEqual([...r.sorted()], []);
  });
});
