import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendModel, TensorInfo, TensorMap } from '@ferry/core';
import { ModelScheduler } from './model-scheduler.js';
import { warmUp, warmUpShapes } from './warm-up.js';

/** A model with the given signature that records the inputs of each run. */
function recordingModel(inputs: TensorInfo[], run: (inputs: TensorMap) => Promise<TensorMap> = async () => ({})) {
  const runs: TensorMap[] = [];
  const model: BackendModel = {
    inputs,
    outputs: [],
    run: async (tensors) => {
      runs.push(tensors);
      return run(tensors);
    },
    release: async () => {},
  };
  return { model, runs };
}

const scheduler = new ModelScheduler({ concurrency: 1, maxQueue: 4 });
const options = {
  maxBytes: 4 * 1024 * 1024,
  timeoutMs: 5000,
  schedule: (work: (signal: AbortSignal) => Promise<unknown>, signal: AbortSignal) =>
    scheduler.run('m', () => work(signal), { signal }),
};

describe('warmUp()', () => {
  it('runs once on zeros, open dimensions as 1 (first) or 32', async () => {
    const { model, runs } = recordingModel([
      { name: 'x', dtype: 'float32', shape: [null, 3, 'h', 'w'] },
      { name: 's', dtype: 'string', shape: [2] },
    ]);
    assert.equal(await warmUp(model, options), 'warmed');
    assert.equal(runs.length, 1);
    const x = runs[0]?.x;
    assert.deepEqual(x?.shape, [1, 3, 32, 32]);
    assert.equal(x?.dtype === 'string' ? -1 : x?.data.byteLength, 3 * 32 * 32 * 4);
    assert.deepEqual(runs[0]?.s?.data, ['', '']);
  });

  it('allocates nothing for a model whose declared inputs exceed maxBytes (a 3 GiB Identity)', async () => {
    const { model, runs } = recordingModel([{ name: 'x', dtype: 'float32', shape: [1, 3, 16384, 16384] }]);
    assert.equal(warmUpShapes(model).bytes, 3 * 16384 * 16384 * 4);
    assert.equal(await warmUp(model, options), 'too-large');
    assert.equal(runs.length, 0);
    const astronomic = recordingModel([{ name: 'x', dtype: 'float64', shape: [2 ** 40, 2 ** 40] }]);
    assert.equal(await warmUp(astronomic.model, options), 'too-large');
  });

  it('gives up at its deadline and reports a failing run, never throwing', async () => {
    const hung = recordingModel([{ name: 'x', dtype: 'uint8', shape: [1] }], () => new Promise(() => {}));
    assert.equal(await warmUp(hung.model, { ...options, timeoutMs: 10 }), 'failed');
    const failing = recordingModel([{ name: 'x', dtype: 'uint8', shape: [1] }], async () => {
      throw new Error('zeros are not welcome');
    });
    assert.equal(await warmUp(failing.model, options), 'failed');
  });
});
