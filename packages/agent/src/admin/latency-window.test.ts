import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLatencyWindow } from './latency-window.js';

describe('createLatencyWindow()', () => {
  const options = { windowMs: 60_000, slots: 12, samplesPerSlot: 8 };

  it('gives exact quantiles while every slot holds all its values', () => {
    const w = createLatencyWindow(options);
    for (let k = 1; k <= 10; k++) w.record(k, 1_000 + k * 6_000);
    assert.equal(w.count(61_000), 10);
    assert.deepEqual(w.quantiles([0.5, 0.99], 61_000), [5, 10]);
  });

  it('forgets values older than the window', () => {
    const w = createLatencyWindow(options);
    w.record(100, 0);
    w.record(1, 59_000);
    assert.deepEqual(w.quantiles([0.99], 59_999), [100]);
    assert.equal(w.count(61_000), 1);
    assert.deepEqual(w.quantiles([0.99], 61_000), [1]);
    assert.deepEqual(w.quantiles([0.5, 0.99], 200_000), [null, null]);
    assert.equal(w.count(200_000), 0);
  });

  it('weighs a busy slot by the values it saw, not the ones it kept', () => {
    const w = createLatencyWindow(options);
    // 1000 fast calls in one slot (8 kept), 8 slow ones in another: the median is fast.
    for (let k = 0; k < 1000; k++) w.record(1, 10_000);
    for (let k = 0; k < 8; k++) w.record(500, 20_000);
    assert.equal(w.count(20_000), 1008);
    const [p75, p99, p995] = w.quantiles([0.75, 0.99, 0.995], 20_000);
    assert.equal(p75, 1, 'unweighted, half the kept values are slow');
    assert.equal(p99, 1, 'only 0.8% of the calls are slow');
    assert.equal(p995, 500);
  });

  it('reuses a slot for a later period', () => {
    const w = createLatencyWindow(options);
    w.record(9, 0);
    w.record(2, 60_000);
    assert.deepEqual(w.quantiles([1], 60_000), [2]);
  });
});
