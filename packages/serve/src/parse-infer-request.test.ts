import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, stringTensor, tensor } from '@ferry/core';
import { parseInferRequest } from './parse-infer-request.js';

const json = (value: unknown) => new Uint8Array(Buffer.from(JSON.stringify(value)));

function withBinary(header: unknown, ...parts: Uint8Array[]): [Uint8Array, number] {
  const head = Buffer.from(JSON.stringify(header));
  return [new Uint8Array(Buffer.concat([head, ...parts])), head.byteLength];
}

function invalid(reason: string, pattern?: RegExp) {
  return (e: { code: number; reason: string; message: string }) =>
    e.code === Code.INVALID_ARGUMENT && e.reason === reason && (pattern === undefined || pattern.test(e.message));
}

describe('parseInferRequest()', () => {
  it('parses a JSON request: id, inputs, requested outputs and binary_data_output', () => {
    const request = parseInferRequest(
      json({
        id: 'r1',
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
          { name: 's', datatype: 'BYTES', shape: [1], data: ['hi'] },
        ],
        outputs: [{ name: 'y' }, { name: 'z', parameters: { binary_data: false } }],
        parameters: { binary_data_output: true },
      }),
      undefined,
    );
    assert.deepEqual(request, {
      id: 'r1',
      inputs: [
        { name: 'x', dtype: 'float32', tensor: tensor('float32', [1, 2], [1, 2]) },
        { name: 's', dtype: 'string', tensor: stringTensor([1], ['hi']) },
      ],
      outputs: [
        { name: 'y', binary: true },
        { name: 'z', binary: false },
      ],
      binaryOutputs: true,
    });
  });

  it('takes binary inputs after the JSON header, in input order, beside JSON inputs', () => {
    const [body, headerLength] = withBinary(
      {
        inputs: [
          { name: 'a', datatype: 'UINT32', shape: [2, 2], parameters: { binary_data_size: 16 } },
          { name: 'j', datatype: 'INT8', shape: [1], data: [-1] },
          { name: 'b', datatype: 'BOOL', shape: [3], parameters: { binary_data_size: 3 } },
        ],
      },
      new Uint8Array(new Uint32Array([1, 2, 3, 4]).buffer),
      Uint8Array.of(1, 0, 1),
    );
    const request = parseInferRequest(body, headerLength);
    assert.deepEqual(
      request.inputs.map((i) => i.tensor),
      [tensor('uint32', [2, 2], [1, 2, 3, 4]), tensor('int8', [1], [-1]), tensor('bool', [3], [1, 0, 1])],
    );
    assert.equal(request.outputs, undefined);
    assert.equal(request.binaryOutputs, false);
  });

  it('throws MALFORMED_JSON for bodies that are not JSON, or empty', () => {
    assert.throws(
      () => parseInferRequest(new Uint8Array(Buffer.from('{"inputs": [')), undefined),
      invalid('MALFORMED_JSON'),
    );
    assert.throws(() => parseInferRequest(new Uint8Array(0), undefined), invalid('MALFORMED_JSON', /empty/));
  });

  it('throws for malformed request structure', () => {
    const cases: [unknown, string, RegExp][] = [
      [[], 'MALFORMED_REQUEST', /JSON object/],
      [{}, 'MALFORMED_REQUEST', /"inputs" must be a non-empty array/],
      [{ inputs: [5] }, 'MALFORMED_REQUEST', /inputs\[0\] must be an object/],
      [{ inputs: [{ datatype: 'FP32', shape: [1], data: [1] }] }, 'MALFORMED_REQUEST', /needs a "name"/],
      [{ inputs: [{ name: 'x', shape: [1], data: [1] }] }, 'MALFORMED_REQUEST', /needs a "datatype"/],
      [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1], data: [1] }] }, 'INVALID_SHAPE', /non-negative/],
      [{ inputs: [{ name: 'x', datatype: 'FP32', shape: '1', data: [1] }] }, 'INVALID_SHAPE', /shape/],
      [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] }, 'MALFORMED_REQUEST', /neither "data"/],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1], parameters: { binary_data_size: 4 } }] },
        'MALFORMED_REQUEST',
        /both/,
      ],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } }] },
        'MALFORMED_REQUEST',
        /Inference-Header-Content-Length/,
      ],
      [
        {
          inputs: [
            { name: 'x', datatype: 'FP32', shape: [1], data: [1] },
            { name: 'x', datatype: 'FP32', shape: [1], data: [1] },
          ],
        },
        'DUPLICATE_TENSOR',
        /twice/,
      ],
      [{ id: 5, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }, 'MALFORMED_REQUEST', /"id"/],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], outputs: {} },
        'MALFORMED_REQUEST',
        /"outputs" must be an array/,
      ],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], outputs: [{ name: 'y' }, { name: 'y' }] },
        'DUPLICATE_TENSOR',
        /twice/,
      ],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], parameters: { binary_data_output: 'yes' } },
        'MALFORMED_REQUEST',
        /binary_data_output/,
      ],
      [{ inputs: [{ name: 'x', datatype: 'FP8', shape: [1], data: [1] }] }, 'UNKNOWN_DATATYPE', /FP8/],
    ];
    for (const [body, reason, pattern] of cases) {
      assert.throws(() => parseInferRequest(json(body), undefined), invalid(reason, pattern), JSON.stringify(body));
    }
  });

  it('throws INVALID_BINARY_SIZE / INVALID_HEADER_LENGTH when the binary sizes do not add up to the body', () => {
    const header = { inputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }] };
    const [short, shortLength] = withBinary(header, new Uint8Array(4));
    assert.throws(() => parseInferRequest(short, shortLength), invalid('INVALID_BINARY_SIZE', /only 4 remain/));
    const [long, longLength] = withBinary(header, new Uint8Array(12));
    assert.throws(
      () => parseInferRequest(long, longLength),
      invalid('INVALID_BINARY_SIZE', /holds 12 bytes .* add up to 8/),
    );
    const [ok, okLength] = withBinary(header, new Uint8Array(8));
    assert.throws(() => parseInferRequest(ok, ok.byteLength + 1), invalid('INVALID_HEADER_LENGTH'));
    assert.throws(() => parseInferRequest(ok, 0), invalid('INVALID_HEADER_LENGTH'));
    assert.throws(() => parseInferRequest(ok, okLength - 1), invalid('MALFORMED_JSON'));
    const negative = { inputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: -8 } }] };
    const [bad, badLength] = withBinary(negative);
    assert.throws(() => parseInferRequest(bad, badLength), invalid('INVALID_BINARY_SIZE'));
  });
});
