import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '@ferry/core';
import { ModelScheduler } from './model-scheduler.js';

/** A run that finishes when the test says so. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('ModelScheduler', () => {
  it('runs at most `concurrency` runs of one model at once, in arrival order, others freely', async () => {
    const scheduler = new ModelScheduler({ concurrency: 2, maxQueue: 10 });
    const gates = [gate(), gate(), gate(), gate()];
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      scheduler.run('m', async () => {
        started.push(i);
        peak = Math.max(peak, ++running);
        await g.opened;
        running--;
        return i;
      }),
    );
    const other = await scheduler.run('other', async () => 'free');
    assert.equal(other.value, 'free', 'another model is not held up');
    assert.equal(scheduler.queued, 2);
    for (const g of gates) g.open();
    assert.deepEqual(
      (await Promise.all(runs)).map((r) => r.value),
      [0, 1, 2, 3],
    );
    assert.deepEqual(started, [0, 1, 2, 3]);
    assert.equal(peak, 2);
  });

  it('drops queued work whose signal aborts, without running it', async () => {
    const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 10 });
    const g = gate();
    const first = scheduler.run('m', () => g.opened);
    const controller = new AbortController();
    let ran = false;
    const queued = scheduler.run(
      'm',
      async () => {
        ran = true;
      },
      { signal: controller.signal },
    );
    controller.abort();
    await assert.rejects(queued, (e: { code: number }) => e.code === Code.CANCELLED);
    g.open();
    await first;
    assert.equal(ran, false);
    assert.equal(scheduler.queued, 0);
  });

  it('refuses work beyond the queue limit with RESOURCE_EXHAUSTED', async () => {
    const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 1 });
    const g = gate();
    const running = scheduler.run('m', () => g.opened);
    const waiting = scheduler.run('m', async () => 'ok');
    await assert.rejects(
      scheduler.run('m', async () => 'too many'),
      (e: { code: number; reason: string }) => e.code === Code.RESOURCE_EXHAUSTED && e.reason === 'MODEL_QUEUE_FULL',
    );
    g.open();
    await running;
    assert.equal((await waiting).value, 'ok');
  });
});
