import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bytesPerElement,
  type DType,
  DTypes,
  elementCount,
  type NumericTensor,
  stringTensor,
  type Tensor,
  tensor,
  tensorValues,
} from '@ferry/core';
import fc from 'fast-check';
import { encodeInferResponse, tensorDataJson } from './encode-infer-response.js';
import { parseInferRequest } from './parse-infer-request.js';

describe('encodeInferResponse()', () => {
  it('writes plain JSON when no output is binary', () => {
    const encoded = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      id: 'r',
      outputs: [{ name: 'y', tensor: tensor('int64', [2], new BigInt64Array([2n ** 62n, -1n])), binary: false }],
    });
    assert.equal(encoded.headerLength, undefined);
    assert.match(encoded.contentType, /^application\/json/);
    assert.equal(
      encoded.body.toString(),
      '{"model_name":"m","model_version":"1","id":"r","outputs":[{"name":"y","datatype":"INT64","shape":[2],"data":[4611686018427387904,-1]}]}',
    );
  });

  it('puts binary outputs after the JSON header, announcing each size', () => {
    const encoded = encodeInferResponse({
      modelName: 'm',
      outputs: [
        { name: 'a', tensor: tensor('uint8', [3], [1, 2, 3]), binary: true },
        { name: 'j', tensor: tensor('bool', [1], [1]), binary: false },
        { name: 's', tensor: stringTensor([2], ['é', '']), binary: true },
      ],
    });
    assert.equal(encoded.contentType, 'application/octet-stream');
    const headerLength = encoded.headerLength as number;
    const header = JSON.parse(encoded.body.subarray(0, headerLength).toString());
    assert.deepEqual(header.outputs, [
      { name: 'a', datatype: 'UINT8', shape: [3], parameters: { binary_data_size: 3 } },
      { name: 'j', datatype: 'BOOL', shape: [1], data: [true] },
      { name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 10 } },
    ]);
    assert.deepEqual([...encoded.body.subarray(headerLength)], [1, 2, 3, 2, 0, 0, 0, 0xc3, 0xa9, 0, 0, 0, 0]);
  });

  it('writes non-finite floats as the strings the parser reads back, and -0 as -0', () => {
    assert.equal(
      tensorDataJson(tensor('float32', [4], [Number.NaN, Infinity, -Infinity, -0])),
      '["NaN","Infinity","-Infinity",-0]',
    );
    assert.equal(tensorDataJson(tensor('float16', [2], [0x3c00, 0x7c00])), '[1,"Infinity"]');
  });

  it('round-trips any tensor of any datatype through the request parser, as JSON and as binary', () => {
    const numeric = DTypes.filter((d) => d !== 'string');
    const arbitraryTensor = fc
      .record({
        dtype: fc.constantFrom<DType>(...DTypes),
        shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
        seed: fc.uint8Array({ minLength: 512, maxLength: 512 }),
        strings: fc.array(fc.string({ unit: 'grapheme', maxLength: 6 }), { minLength: 64, maxLength: 64 }),
      })
      .map(({ dtype, shape, seed, strings }): Tensor => {
        const count = elementCount(shape);
        if (dtype === 'string') return stringTensor(shape, strings.slice(0, count));
        const size = bytesPerElement(dtype as (typeof numeric)[number]);
        const data = seed.slice(0, count * size);
        const t = { dtype, shape, data } as NumericTensor;
        const values = tensorValues(t);
        for (let i = 0; i < values.length; i++) {
          const v = values[i] as number | bigint;
          if (dtype === 'bool') values[i] = (v as number) & 1;
          // NaN payloads do not survive JSON; one canonical NaN does.
          else if (dtype === 'float32' || dtype === 'float64') {
            if (Number.isNaN(v)) values[i] = Number.NaN;
          } else if (dtype === 'float16' && ((v as number) & 0x7c00) === 0x7c00 && (v as number) & 0x3ff)
            values[i] = 0x7e00;
          else if (dtype === 'bfloat16' && ((v as number) & 0x7f80) === 0x7f80 && (v as number) & 0x7f)
            values[i] = 0x7fc0;
          // JSON numbers hold integers up to 2^53 exactly.
          else if (typeof v === 'bigint') values[i] = (v as bigint) % 2n ** 53n;
        }
        return t;
      });
    fc.assert(
      fc.property(arbitraryTensor, fc.boolean(), (t, binary) => {
        const encoded = encodeInferResponse({ modelName: 'm', outputs: [{ name: 'y', tensor: t, binary }] });
        const headerLength = encoded.headerLength ?? encoded.body.byteLength;
        // The response output, sent back as a request input (spliced as text: JSON.stringify would turn -0 into 0).
        const responseHeader = encoded.body.subarray(0, headerLength).toString();
        const header = Buffer.from(responseHeader.replace(/^\{"model_name":"m","outputs":/, '{"inputs":'));
        const body = Buffer.concat([header, encoded.body.subarray(headerLength)]);
        const parsed = parseInferRequest(new Uint8Array(body), binary ? header.byteLength : undefined);
        const back = parsed.inputs[0]?.tensor as Tensor;
        if (t.dtype === 'float32' || t.dtype === 'float64') {
          assert.deepEqual([...tensorValues(back as NumericTensor)], [...tensorValues(t)]);
          assert.deepEqual(back.shape, t.shape);
        } else {
          assert.deepEqual(back, t);
        }
      }),
      { numRuns: 500 },
    );
  });
});
