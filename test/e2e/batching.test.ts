import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type NumericTensor, type TensorMap, tensor } from '@ferry/core';
import { buildModel } from '@ferry/onnx';
import { client, rejection, startAgent, tempDir } from '../support/fixtures.js';

const FEATURES = 16;

/** Deterministic pseudo-random floats in [-1, 1). */
function floats(count: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  return new Float32Array(count).map(() => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

/**
 * A two-layer network with a batch dimension, and a lookup that fails on an out-of-range index (a
 * value only the run can check, so a batch holding it fails as a whole):
 *   y = softmax(tanh(x · W1 + b1) · W2)    float32 [batch, 16] → [batch, 8]
 *   g = gather_elements(x, idx, axis 1)     int64 idx [batch, 1] → [batch, 1]
 */
function denseModel(): Uint8Array {
  return buildModel({
    name: 'dense',
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['batch', FEATURES] },
      { name: 'idx', dtype: 'int64', shape: ['batch', 1] },
    ],
    outputs: [
      { name: 'y', dtype: 'float32', shape: ['batch', 8] },
      { name: 'g', dtype: 'float32', shape: ['batch', 1] },
    ],
    initializers: {
      W1: tensor('float32', [FEATURES, 32], floats(FEATURES * 32, 1)),
      b1: tensor('float32', [32], floats(32, 2)),
      W2: tensor('float32', [32, 8], floats(32 * 8, 3)),
    },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h1'] },
      { op: 'Add', inputs: ['h1', 'b1'], outputs: ['h2'] },
      { op: 'Tanh', inputs: ['h2'], outputs: ['h3'] },
      { op: 'MatMul', inputs: ['h3', 'W2'], outputs: ['h4'] },
      { op: 'Softmax', inputs: ['h4'], outputs: ['y'], attributes: { axis: 1 } },
      { op: 'GatherElements', inputs: ['x', 'idx'], outputs: ['g'], attributes: { axis: 1 } },
    ],
  });
}

function request(seed: number, options: { rows?: number; index?: number } = {}): TensorMap {
  const rows = options.rows ?? 1;
  return {
    x: tensor('float32', [rows, FEATURES], floats(rows * FEATURES, 100 + seed)),
    idx: tensor('int64', [rows, 1], new BigInt64Array(rows).fill(BigInt(options.index ?? seed % FEATURES))),
  };
}

/** Batch sizes the agent reports for Infer calls while `fn` runs. */
async function batchSizes(fn: () => Promise<void>): Promise<number[]> {
  const sizes: number[] = [];
  const onEnd = (message: unknown) => {
    const event = message as { method: string; batchSize?: number };
    if (event.method === 'Infer' && event.batchSize !== undefined) sizes.push(event.batchSize);
  };
  channel('ferry:agent:call:end').subscribe(onEnd);
  try {
    await fn();
  } finally {
    channel('ferry:agent:call:end').unsubscribe(onEnd);
  }
  return sizes;
}

describe('dynamic batching across tenants', () => {
  it('gives every tenant the same outputs, bit for bit, and the same errors as unbatched runs', async (t) => {
    const dir = await tempDir(t);
    const models = join(dir, 'models');
    await mkdir(join(models, 'dense'), { recursive: true });
    await writeFile(join(models, 'dense', 'model.onnx'), denseModel());
    await writeFile(
      join(models, 'dense', 'ferry.json'),
      JSON.stringify({ batching: { maxBatch: 8, maxQueueDelayUs: 1_000_000 } }),
    );
    const tenants = ['a', 'b', 'c', 'd'];
    const agent = await startAgent(t, {
      modelDir: models,
      builtinModels: false,
      limits: { modelConcurrency: 1 },
      listen: tenants.map((tenant) => ({ address: `unix://${join(dir, `${tenant}.sock`)}`, tenant })),
    });
    const guests = await Promise.all(
      agent.listeners.map(async ({ address }) => {
        const c = client(t, { address });
        const session = await c.createSession();
        const batched = (await c.registerModel(session, { name: 'dense' })).modelId;
        // The same bytes uploaded by the guest: never batched across tenants, the reference.
        const alone = (await c.registerModel(session, { bytes: denseModel() })).modelId;
        return { c, batched, alone };
      }),
    );
    // Four requests per tenant, 16 rows in all (two full batches), one of them (c's third) with an index
    // out of range: its batch fails as a whole and is run again one request at a time.
    const requests = guests.flatMap((guest, g) =>
      [0, 1, 2, 3].map((k) => ({
        guest,
        inputs: request(g * 10 + k, g === 2 && k === 2 ? { index: 99 } : {}),
      })),
    );
    type Outcome = TensorMap | { code: number | undefined; reason: string | undefined };
    const outcome = (call: Promise<TensorMap>): Promise<Outcome> =>
      call.catch((error: { code?: number; reason?: string }) => ({ code: error.code, reason: error.reason }));

    let batchedOutcomes: Outcome[] = [];
    const batchedSizes = await batchSizes(async () => {
      batchedOutcomes = await Promise.all(
        requests.map(({ guest, inputs }) => outcome(guest.c.infer(guest.batched, inputs))),
      );
    });
    const aloneOutcomes: Outcome[] = [];
    const aloneSizes = await batchSizes(async () => {
      for (const { guest, inputs } of requests) aloneOutcomes.push(await outcome(guest.c.infer(guest.alone, inputs)));
    });

    assert.equal(
      batchedSizes.filter((n) => n === 8).length,
      8,
      `one batch of 8 ran (batch sizes ${batchedSizes.join(', ')})`,
    );
    assert.deepEqual(new Set(aloneSizes), new Set([1]), 'the reference ran one request per run');
    assert.deepEqual(batchedOutcomes, aloneOutcomes);
    const failed = batchedOutcomes.filter((o) => 'code' in o);
    assert.equal(failed.length, 1, 'only the request with the bad index failed');
    assert.ok(typeof (failed[0] as { code?: number }).code === 'number');
    assert.equal(batchedOutcomes.indexOf(failed[0] as Outcome), 10);
    // Answers are the tenants' own: each output row matches its request's own lookup.
    for (const [i, o] of batchedOutcomes.entries()) {
      if ('code' in o) continue;
      const g = (o as TensorMap).g as NumericTensor;
      const x = ((requests[i] as (typeof requests)[number]).inputs.x as NumericTensor).data;
      const k = (i % 4) + Math.floor(i / 4) * 10;
      const at = (k % FEATURES) * 4;
      assert.deepEqual(Buffer.from(g.data), Buffer.from(x.subarray(at, at + 4)));
    }
  });

  it("fails a tenant's malformed request alone, and runs another tenant's multi-row request in a batch", async (t) => {
    const dir = await tempDir(t);
    const models = join(dir, 'models');
    await mkdir(join(models, 'dense'), { recursive: true });
    await writeFile(join(models, 'dense', 'model.onnx'), denseModel());
    const agent = await startAgent(t, {
      modelDir: models,
      builtinModels: false,
      limits: { modelConcurrency: 1 },
      batching: { maxBatch: 8, maxQueueDelayUs: 1_000_000 },
      listen: [
        { address: `unix://${join(dir, 'a.sock')}`, tenant: 'a' },
        { address: `unix://${join(dir, 'b.sock')}`, tenant: 'b' },
      ],
    });
    const [a, b] = await Promise.all(
      agent.listeners.map(async ({ address }) => {
        const c = client(t, { address });
        const session = await c.createSession();
        const batched = (await c.registerModel(session, { name: 'dense' })).modelId;
        const alone = (await c.registerModel(session, { bytes: denseModel() })).modelId;
        return { c, batched, alone };
      }),
    );
    assert.ok(a && b);
    const wrongShape = {
      x: tensor('float32', [1, FEATURES + 1], floats(FEATURES + 1, 7)),
      idx: tensor('int64', [1, 1], new BigInt64Array([0n])),
    };
    const [bad, good, multi] = await Promise.all([
      rejection(a.c.infer(a.batched, wrongShape)),
      a.c.infer(a.batched, request(1, { rows: 3 })),
      b.c.infer(b.batched, request(2, { rows: 5 })),
    ]);
    assert.equal(bad.reason, 'INPUT_MISMATCH');
    assert.deepEqual(good, await a.c.infer(a.alone, request(1, { rows: 3 })));
    assert.deepEqual(multi, await b.c.infer(b.alone, request(2, { rows: 5 })));
    assert.deepEqual((multi.y as NumericTensor).shape, [5, 8]);
  });
});
