import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BackendModel, Code, type NumericTensor, type TensorMap, tensor, tensorValues } from '@ferry/core';
import { type BatchPolicy, ModelScheduler } from './model-scheduler.js';

/** A run that finishes when the test says so. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/**
 * A model with a batch dimension whose runs the test releases one at a time: `y = x * 2` row by row,
 * and it records the rows of every run (each row's first value tags the request).
 */
function steppedModel() {
  const runs: number[][] = [];
  const gates: ReturnType<typeof gate>[] = [];
  const model: BackendModel = {
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 2] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    async run(inputs: TensorMap) {
      const x = inputs.x as NumericTensor;
      const values = tensorValues(x) as Float32Array;
      runs.push(Array.from({ length: x.shape[0] as number }, (_, r) => values[r * 2] as number));
      const g = gate();
      gates.push(g);
      await g.opened;
      return {
        y: tensor(
          'float32',
          x.shape,
          values.map((v) => v * 2),
        ),
      };
    },
    async release() {},
  };
  /** Lets the oldest unfinished run finish, once it has started. */
  const step = async () => {
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    gates.shift()?.open();
  };
  return { model, runs, step };
}

const row = (tag: number) => ({ x: tensor('float32', [1, 2], [tag, tag + 0.5]) });
const batching: BatchPolicy = { maxBatch: 4, maxQueueDelayUs: 0 };

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

  it("refuses a tenant's work beyond its queue limit with RESOURCE_EXHAUSTED, not another tenant's", async () => {
    const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 1 });
    const g = gate();
    const running = scheduler.run('m', () => g.opened, { tenant: 'a' });
    const waiting = scheduler.run('m', async () => 'ok', { tenant: 'a' });
    await assert.rejects(
      scheduler.run('m', async () => 'too many', { tenant: 'a' }),
      (e: { code: number; reason: string }) => e.code === Code.RESOURCE_EXHAUSTED && e.reason === 'MODEL_QUEUE_FULL',
    );
    const other = scheduler.run('m', async () => 'b served', { tenant: 'b' });
    g.open();
    await running;
    assert.equal((await waiting).value, 'ok');
    assert.equal((await other).value, 'b served');
  });

  it("serves tenants round-robin: a flooding tenant's backlog does not delay another's next run", async () => {
    const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 1000 });
    const started: string[] = [];
    const gates: ReturnType<typeof gate>[] = [];
    const work = (name: string) => async () => {
      started.push(name);
      const g = gate();
      gates.push(g);
      await g.opened;
      return name;
    };
    const flood = Array.from({ length: 50 }, (_, i) => scheduler.run('m', work(`a${i}`), { tenant: 'a' }));
    const paced: Promise<unknown>[] = [];
    // The paced tenant sends its next request only after the previous one has been answered.
    for (let i = 0; i < 5; i++) {
      const before = started.length;
      const answered = scheduler.run('m', work(`b${i}`), { tenant: 'b' });
      paced.push(answered);
      while (!started.includes(`b${i}`)) {
        await new Promise((resolve) => setImmediate(resolve));
        gates.shift()?.open();
      }
      assert.ok(
        started.indexOf(`b${i}`) - before <= 1,
        `b${i} waited for ${started.indexOf(`b${i}`) - before} of a's runs, not at most the one running`,
      );
      gates.shift()?.open();
      await answered;
    }
    while (started.length < 55) {
      await new Promise((resolve) => setImmediate(resolve));
      gates.shift()?.open();
    }
    for (const g of gates) g.open();
    await Promise.all([...flood, ...paced]);
    const aOrder = started.filter((s) => s.startsWith('a'));
    assert.deepEqual(
      aOrder,
      Array.from({ length: 50 }, (_, i) => `a${i}`),
      "the flooding tenant's runs keep their order",
    );
  });

  it('gives each tenant its weight in runs per turn', async () => {
    const scheduler = new ModelScheduler({
      concurrency: 1,
      maxQueue: 1000,
      weightOf: (tenant) => (tenant === 'heavy' ? 3 : 1),
    });
    const started: string[] = [];
    const blocker = gate();
    const first = scheduler.run('m', () => blocker.opened, { tenant: 'other' });
    const all: Promise<unknown>[] = [first];
    for (let i = 0; i < 12; i++) {
      all.push(scheduler.run('m', async () => started.push('heavy'), { tenant: 'heavy' }));
      all.push(scheduler.run('m', async () => started.push('light'), { tenant: 'light' }));
    }
    blocker.open();
    await Promise.all(all);
    const firstSixteen = started.slice(0, 16);
    assert.equal(firstSixteen.filter((s) => s === 'heavy').length, 12, started.join(' '));
    assert.equal(firstSixteen.filter((s) => s === 'light').length, 4, started.join(' '));
  });

  it('stacks requests from several tenants into one run, fills it round-robin, and splits the outputs back', async () => {
    const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 1000 });
    const { model, runs, step } = steppedModel();
    const infer = (tenant: string, tag: number) =>
      scheduler.infer('m', model, row(tag), { tenant, batching }).then(({ value, timing }) => ({ value, timing, tag }));
    // The first request runs alone while the others queue: a floods, b and c send one each.
    const pending = [infer('a', 100)];
    for (let i = 1; i <= 6; i++) pending.push(infer('a', 100 + i));
    pending.push(infer('b', 200), infer('c', 300));
    for (let i = 0; i < 3; i++) await step();
    const results = await Promise.all(pending);
    assert.deepEqual(runs[0], [100]);
    // Round-robin fill: b and c get into the first batch although a queued six before them.
    assert.deepEqual(runs[1]?.slice().sort(), [101, 102, 200, 300].sort());
    assert.deepEqual(runs[2], [103, 104, 105, 106], "a's requests in its own order");
    for (const { value, timing, tag } of results) {
      assert.deepEqual(Array.from(tensorValues(value.y as NumericTensor) as Float32Array), [tag * 2, (tag + 0.5) * 2]);
      assert.deepEqual((value.y as NumericTensor).shape, [1, 2]);
      assert.equal(timing.batchSize, runs.find((r) => r.includes(tag))?.length);
    }
  });

  it('fails only the request whose input is wrong, before it can join a batch', async () => {
    const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 1000 });
    const { model, runs, step } = steppedModel();
    const first = scheduler.infer('m', model, row(1), { tenant: 'a', batching });
    const good = scheduler.infer('m', model, row(2), { tenant: 'a', batching });
    const bad = scheduler.infer('m', model, { x: tensor('float32', [1, 3], [9, 9, 9]) }, { tenant: 'b', batching });
    await assert.rejects(bad, (e: { code: number; reason: string }) => e.reason === 'INPUT_MISMATCH');
    const other = scheduler.infer('m', model, row(3), { tenant: 'b', batching });
    await step();
    await step();
    assert.deepEqual(
      (await Promise.all([first, good, other])).map((r) =>
        Array.from(tensorValues(r.value.y as NumericTensor) as Float32Array),
      ),
      [
        [2, 3],
        [4, 5],
        [6, 7],
      ],
    );
    assert.deepEqual(runs, [[1], [2, 3]]);
  });

  it('runs the requests of a failed batch one by one, so only the failing one fails', async () => {
    const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 1000 });
    const runs: number[][] = [];
    const blocker = gate();
    const model: BackendModel = {
      inputs: [{ name: 'x', dtype: 'float32', shape: [null, 2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [null, 2] }],
      async run(inputs: TensorMap) {
        const x = inputs.x as NumericTensor;
        const values = tensorValues(x) as Float32Array;
        runs.push(Array.from({ length: x.shape[0] as number }, (_, r) => values[r * 2] as number));
        if (runs.length === 1) await blocker.opened;
        // A value-dependent failure, as an out-of-range index makes ONNX Runtime fail a whole run.
        if (values.some((v) => v < 0)) throw new Error('negative input');
        return { y: x };
      },
      async release() {},
    };
    const calls = [
      scheduler.infer('m', model, row(1), { tenant: 'a', batching }),
      scheduler.infer('m', model, row(2), { tenant: 'a', batching }),
      scheduler.infer('m', model, row(-3), { tenant: 'b', batching }),
      scheduler.infer('m', model, row(4), { tenant: 'c', batching }),
    ];
    blocker.open();
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(runs[0], [1]);
    assert.equal(runs[1]?.length, 3, 'the three queued requests ran as one batch first');
    assert.deepEqual(runs.slice(2).sort(), [[-3], [2], [4]].sort(), 'then one by one');
  });

  it('does not batch a model without a batch dimension, nor requests without a policy', async () => {
    const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 1000 });
    const fixed = steppedModel();
    const fixedModel: BackendModel = {
      ...fixed.model,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2] }],
      run: fixed.model.run,
    };
    const a = [1, 2, 3].map((tag) => scheduler.infer('fixed', fixedModel, row(tag), { tenant: `t${tag}`, batching }));
    const open = steppedModel();
    const b = [1, 2, 3].map((tag) => scheduler.infer('open', open.model, row(tag), { tenant: `t${tag}` }));
    for (let i = 0; i < 3; i++) {
      await fixed.step();
      await open.step();
    }
    await Promise.all([...a, ...b]);
    assert.deepEqual(fixed.runs, [[1], [2], [3]]);
    assert.deepEqual(open.runs, [[1], [2], [3]]);
  });

  it('waits up to maxQueueDelayUs for a batch to fill, and no longer once it is full', async () => {
    const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 1000 });
    const { model, runs, step } = steppedModel();
    const policy = { maxBatch: 3, maxQueueDelayUs: 60_000_000 };
    const send = (tag: number) => scheduler.infer('m', model, row(tag), { tenant: `t${tag}`, batching: policy });
    const calls = [send(1), send(2)];
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(runs.length, 0, 'nothing runs before the batch is full or the delay has passed');
    calls.push(send(3));
    await step();
    await Promise.all(calls);
    assert.equal(runs.length, 1);
    assert.deepEqual(runs[0]?.slice().sort(), [1, 2, 3]);
    // A batch that does not fill runs once its first request has waited the delay.
    const alone = scheduler.infer('m', model, row(4), { batching: { maxBatch: 3, maxQueueDelayUs: 1000 } });
    await step();
    await alone;
    assert.deepEqual(runs[1], [4]);
  });
});
