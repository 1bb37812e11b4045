import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, type ModelSignature, tensor } from '@ferry/core';
import { checkInferRequest, oipShape } from './check-infer-request.js';
import type { InferRequest } from './parse-infer-request.js';

const signature: ModelSignature = {
  inputs: [
    { name: 'x', dtype: 'float32', shape: ['batch', 3] },
    { name: 'k', dtype: 'int64', shape: [] },
  ],
  outputs: [
    { name: 'y', dtype: 'float32', shape: [null, 2] },
    { name: 'z', dtype: 'bool', shape: [-1] },
  ],
};

const x = tensor('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
const k = tensor('int64', [], new BigInt64Array([1n]));

function request(patch: Partial<InferRequest> = {}): InferRequest {
  return {
    inputs: [
      { name: 'x', dtype: 'float32', tensor: x },
      { name: 'k', dtype: 'int64', tensor: k },
    ],
    binaryOutputs: false,
    ...patch,
  };
}

function invalid(reason: string, pattern: RegExp) {
  return (e: { code: number; reason: string; message: string }) =>
    e.code === Code.INVALID_ARGUMENT && e.reason === reason && pattern.test(e.message);
}

describe('oipShape()', () => {
  it('writes every dynamic dimension as -1', () => {
    assert.deepEqual(oipShape(['batch', 3, null, -1, 0]), [-1, 3, -1, -1, 0]);
  });
});

describe('checkInferRequest()', () => {
  it('passes inputs on and answers every output, in model order, binary per binary_data_output', () => {
    assert.deepEqual(checkInferRequest('m', request({ binaryOutputs: true }), signature), {
      inputs: { x, k },
      outputs: [
        { name: 'y', binary: true },
        { name: 'z', binary: true },
      ],
    });
    const asked = [{ name: 'z', binary: false }];
    assert.deepEqual(checkInferRequest('m', request({ outputs: asked }), signature).outputs, asked);
  });

  it('throws INVALID_ARGUMENT in protocol terms, naming what the model expects', () => {
    const expects = /model "m" expects inputs \(x: FP32\[-1, 3\], k: INT64\[\]\)/;
    assert.throws(
      () =>
        checkInferRequest(
          'm',
          request({ inputs: [{ name: 'x', dtype: 'float64', tensor: tensor('float64', [2, 3], [1, 2, 3, 4, 5, 6]) }] }),
          signature,
        ),
      invalid('DATATYPE_MISMATCH', /Input "x" has datatype FP64 but the model declares FP32/),
    );
    assert.throws(
      () =>
        checkInferRequest(
          'm',
          request({ inputs: [{ name: 'x', dtype: 'float32', tensor: tensor('float32', [3, 2], [1, 2, 3, 4, 5, 6]) }] }),
          signature,
        ),
      invalid('SHAPE_MISMATCH', /shape \[3, 2\] but the model declares \[-1, 3\]/),
    );
    assert.throws(
      () => checkInferRequest('m', request({ inputs: [{ name: 'x', dtype: 'float32', tensor: x }] }), signature),
      invalid('MISSING_INPUT', expects),
    );
    assert.throws(
      () =>
        checkInferRequest(
          'm',
          request({ inputs: [...request().inputs, { name: 'q', dtype: 'float32', tensor: x }] }),
          signature,
        ),
      invalid('UNKNOWN_INPUT', /Unknown input "q"/),
    );
    assert.throws(
      () => checkInferRequest('m', request({ outputs: [{ name: 'w', binary: false }] }), signature),
      invalid('UNKNOWN_OUTPUT', /Unknown output "w"; model "m" has outputs \(y: FP32\[-1, 2\], z: BOOL\[-1\]\)/),
    );
  });
});
