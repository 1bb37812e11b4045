import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringTensor, tensor } from '@ferry/core';
import { describeBackendContract } from '@ferry/core/testing';
import { createNoopBackend } from './create-noop-backend.js';

const inputs = {
  x: tensor('float32', [2, 2], new Float32Array([1, -0, Number.NaN, 3.5])),
  ids: tensor('int64', [3], new BigInt64Array([1n, -1n, 2n ** 62n])),
  s: stringTensor([2], ['a', 'é']),
  empty: tensor('uint8', [0], []),
};

describeBackendContract('createNoopBackend()', {
  declaresSignature: false,
  create: createNoopBackend,
  fixtures: [
    { name: 'an identity of several dtypes', model: new Uint8Array([1, 2, 3]), inputs, expected: inputs },
    { name: 'an empty model', model: new Uint8Array(0), inputs: { one: inputs.x }, expected: { one: inputs.x } },
  ],
});

describe('createNoopBackend()', () => {
  it('loads any bytes as a model with an empty signature', async (t) => {
    const backend = createNoopBackend();
    t.after(() => backend.close());
    const model = await backend.load(new Uint8Array([0xde, 0xad]));
    assert.equal(backend.name, 'noop');
    assert.deepEqual([model.inputs, model.outputs], [[], []]);
  });

  it('returns the very input tensors, without copying', async (t) => {
    const backend = createNoopBackend();
    t.after(() => backend.close());
    const model = await backend.load(new Uint8Array());
    const out = await model.run(inputs);
    assert.equal(out.x, inputs.x);
    assert.equal(out.s, inputs.s);
  });

  it('rejects malformed tensors with INVALID_ARGUMENT', async (t) => {
    const backend = createNoopBackend();
    t.after(() => backend.close());
    const model = await backend.load(new Uint8Array());
    await assert.rejects(model.run({ x: { dtype: 'float32', shape: [2], data: new Uint8Array(3) } }), {
      code: 3,
      reason: 'TENSOR_SIZE_MISMATCH',
    });
  });

  it('rejects load after close with FAILED_PRECONDITION (BACKEND_CLOSED)', async () => {
    const backend = createNoopBackend();
    await backend.close();
    await assert.rejects(backend.load(new Uint8Array()), { code: 9, reason: 'BACKEND_CLOSED' });
  });
});
