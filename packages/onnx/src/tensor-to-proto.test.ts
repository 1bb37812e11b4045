import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { type DType, DTypes, stringTensor, type Tensor, tensor } from '@ferry/core';
import { TensorProtoSchema } from './gen/onnx/onnx_pb.js';
import { OnnxDataType } from './onnx-data-type.js';
import { tensorFromProto } from './tensor-from-proto.js';
import { tensorToProto } from './tensor-to-proto.js';

/** A tensor of `dtype` whose bytes are 0, 1, 2, … (every byte pattern is a valid element of every dtype). */
function sample(dtype: DType, shape: number[]): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'string')
    return stringTensor(
      shape,
      Array.from({ length: count }, (_, i) => `s${i}-é✓`),
    );
  const t = tensor(dtype, shape, new Array(count).fill(0));
  t.data.forEach((_, i) => {
    t.data[i] = dtype === 'bool' ? i % 2 : (i * 37 + 11) & 0xff;
  });
  return t;
}

describe('tensorToProto() / tensorFromProto()', () => {
  for (const dtype of DTypes) {
    it(`round-trips ${dtype} tensors bit-exactly`, () => {
      const t = sample(dtype, [2, 3]);
      const back = tensorFromProto(tensorToProto('x', t));
      assert.equal(back.name, 'x');
      assert.deepEqual(back.tensor, t);
    });
    it(`round-trips empty and scalar ${dtype} tensors`, () => {
      for (const shape of [[0], [2, 0, 3], []]) {
        const t = sample(dtype, shape);
        assert.deepEqual(tensorFromProto(tensorToProto('e', t)).tensor, t);
      }
    });
  }

  it('writes numeric data to raw_data and strings to string_data', () => {
    const numeric = fromBinary(TensorProtoSchema, tensorToProto('n', tensor('int64', [2], [1, -1])));
    assert.equal(numeric.dataType, OnnxDataType.INT64);
    assert.deepEqual(numeric.dims, [2n]);
    assert.deepEqual([...numeric.rawData], [1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);
    const strings = fromBinary(TensorProtoSchema, tensorToProto('s', stringTensor([1], ['hé'])));
    assert.deepEqual(strings.stringData, [new TextEncoder().encode('hé')]);
    assert.equal(strings.rawData.length, 0);
  });

  it('throws INVALID_ARGUMENT when the data does not match the shape', () => {
    assert.throws(() => tensorToProto('x', { dtype: 'float32', shape: [2], data: new Uint8Array(4) }), {
      code: 3,
      reason: 'TENSOR_SIZE_MISMATCH',
    });
  });
});
