import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNoopBackend } from '@ferry/backend-noop';
import type { Backend, BackendModel } from '@ferry/core';
import { ModelCache } from './model-cache.js';

/** The noop backend, counting loads and releases. */
function countingBackend() {
  const inner = createNoopBackend();
  const counts = { loads: 0, releases: 0 };
  const backend: Backend = {
    name: inner.name,
    async load(bytes, options) {
      counts.loads++;
      const model = await inner.load(bytes, options);
      return {
        inputs: model.inputs,
        outputs: model.outputs,
        run: (i, o) => model.run(i, o),
        release: async () => {
          counts.releases++;
          await model.release();
        },
      } satisfies BackendModel;
    },
    close: () => inner.close(),
  };
  return { backend, counts };
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('ModelCache', () => {
  it('shares one load per content address and keeps idle models until the budget needs room', async () => {
    const { backend, counts } = countingBackend();
    const cache = new ModelCache({ budgetBytes: 250 });
    const a1 = await cache.acquire('aaa', bytes(100, 1), backend);
    const a2 = await cache.acquire('aaa', bytes(100, 1), backend);
    assert.equal(a1.reused, false);
    assert.equal(a2.reused, true);
    assert.equal(counts.loads, 1);
    await cache.release(a1.model);
    await cache.release(a2.model);
    assert.equal(cache.stats().loaded, 1, 'idle, still loaded');
    const b = await cache.acquire('bbb', bytes(100, 2), backend);
    assert.equal(cache.stats().loaded, 2, 'both fit in 250 bytes');
    await cache.acquire('ccc', bytes(100, 3), backend);
    assert.equal(counts.releases, 1, 'the least recently used idle model made room');
    assert.deepEqual(
      { loaded: cache.stats().loaded, evictions: cache.stats().evictions, bytes: cache.stats().bytes },
      { loaded: 2, evictions: 1, bytes: 200 },
    );
    await cache.release(b.model);
    const again = await cache.acquire('aaa', bytes(100, 1), backend);
    assert.equal(again.reused, false, 'evicted models load again');
    assert.equal(counts.loads, 4);
    assert.equal(counts.releases, 2, 'the idle one made room again');
    await cache.clear();
  });

  it('never evicts a model that is held, and refuses before loading a model that does not fit beside the held ones', async () => {
    const { backend, counts } = countingBackend();
    const cache = new ModelCache({ budgetBytes: 150 });
    const held = await cache.acquire('held', bytes(100, 1), backend);
    await assert.rejects(cache.acquire('other', bytes(100, 2), backend), { reason: 'MODEL_CACHE_FULL' });
    await assert.rejects(cache.acquire('huge', bytes(200, 3), backend), { reason: 'MODEL_CACHE_FULL' });
    assert.deepEqual(counts, { loads: 1, releases: 0 }, 'refused before any load; the held model stays');
    await cache.release(held.model);
    await cache.acquire('other', bytes(100, 2), backend);
    assert.deepEqual(counts, { loads: 2, releases: 1 }, 'once idle, it makes room');
    await cache.clear();
  });

  it('counts loads in progress against the budget (concurrent acquires)', async () => {
    const { backend, counts } = countingBackend();
    const cache = new ModelCache({ budgetBytes: 250 });
    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map((id, i) => cache.acquire(id, bytes(100, i + 1), backend)),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    assert.equal(counts.loads, 2);
    await cache.clear();
  });
});
