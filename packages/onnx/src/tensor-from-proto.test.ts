import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { type DType, type Tensor, tensor } from '@ferry/core';
import { TensorProtoSchema } from './gen/onnx/onnx_pb.js';
import { OnnxDataType } from './onnx-data-type.js';
import { tensorFromProto } from './tensor-from-proto.js';

describe('tensorFromProto()', () => {
  const read = (init: Parameters<typeof create<typeof TensorProtoSchema>>[1]) =>
    tensorFromProto(toBinary(TensorProtoSchema, create(TensorProtoSchema, { name: 't', ...init }))).tensor;

  it('reads float_data, double_data, int64_data and uint64_data', () => {
    assert.deepEqual(
      read({ dataType: OnnxDataType.FLOAT, dims: [3n], floatData: [1.5, -2, 0.25] }),
      tensor('float32', [3], new Float32Array([1.5, -2, 0.25])),
    );
    assert.deepEqual(
      read({ dataType: OnnxDataType.DOUBLE, dims: [2n], doubleData: [0.1, -1e300] }),
      tensor('float64', [2], new Float64Array([0.1, -1e300])),
    );
    assert.deepEqual(
      read({ dataType: OnnxDataType.INT64, dims: [2n], int64Data: [-(2n ** 63n), 7n] }),
      tensor('int64', [2], new BigInt64Array([-(2n ** 63n), 7n])),
    );
    assert.deepEqual(
      read({ dataType: OnnxDataType.UINT64, dims: [1n], uint64Data: [2n ** 64n - 1n] }),
      tensor('uint64', [1], new BigUint64Array([2n ** 64n - 1n])),
    );
    assert.deepEqual(
      read({ dataType: OnnxDataType.UINT32, dims: [2n], uint64Data: [4294967295n, 1n] }),
      tensor('uint32', [2], new Uint32Array([4294967295, 1])),
    );
  });

  it('reads int32_data for int32, int16, int8, uint16, uint8, bool, float16 and bfloat16', () => {
    const cases: [DType, number, number[], Tensor][] = [
      ['int32', OnnxDataType.INT32, [-5, 2147483647], tensor('int32', [2], new Int32Array([-5, 2147483647]))],
      ['int16', OnnxDataType.INT16, [-32768, 3], tensor('int16', [2], new Int16Array([-32768, 3]))],
      ['int8', OnnxDataType.INT8, [-128, 127], tensor('int8', [2], new Int8Array([-128, 127]))],
      ['uint16', OnnxDataType.UINT16, [65535, 0], tensor('uint16', [2], new Uint16Array([65535, 0]))],
      ['uint8', OnnxDataType.UINT8, [255, 1], tensor('uint8', [2], new Uint8Array([255, 1]))],
      ['bool', OnnxDataType.BOOL, [1, 0], tensor('bool', [2], new Uint8Array([1, 0]))],
      // float16 1.0 = 0x3c00, -2.0 = 0xc000; bfloat16 1.0 = 0x3f80.
      ['float16', OnnxDataType.FLOAT16, [0x3c00, 0xc000], tensor('float16', [2], new Uint16Array([0x3c00, 0xc000]))],
      ['bfloat16', OnnxDataType.BFLOAT16, [0x3f80, 0], tensor('bfloat16', [2], new Uint16Array([0x3f80, 0]))],
    ];
    for (const [dtype, dataType, int32Data, expected] of cases) {
      assert.deepEqual(read({ dataType, dims: [2n], int32Data }), expected, dtype);
    }
  });

  it('reads raw_data', () => {
    const raw = new Uint8Array(new Int16Array([-1, 2]).buffer);
    assert.deepEqual(read({ dataType: OnnxDataType.INT16, dims: [2n], rawData: raw }), tensor('int16', [2], [-1, 2]));
  });

  it('throws INVALID_ARGUMENT when the element count does not match the dims', () => {
    assert.throws(() => read({ dataType: OnnxDataType.FLOAT, dims: [3n], floatData: [1] }), {
      code: 3,
      reason: 'TENSOR_SIZE_MISMATCH',
      message: /float_data/,
    });
    assert.throws(() => read({ dataType: OnnxDataType.FLOAT, dims: [3n], rawData: new Uint8Array(8) }), {
      code: 3,
      reason: 'TENSOR_SIZE_MISMATCH',
    });
    assert.throws(() => read({ dataType: OnnxDataType.STRING, dims: [2n], stringData: [] }), {
      code: 3,
      reason: 'TENSOR_SIZE_MISMATCH',
    });
  });

  it('throws INVALID_ARGUMENT for external data', () => {
    assert.throws(
      () =>
        read({
          dataType: OnnxDataType.FLOAT,
          dims: [1n],
          dataLocation: 1,
          externalData: [{ $typeName: 'onnx.StringStringEntryProto', key: 'location', value: 'w.bin' }],
        }),
      { code: 3, reason: 'EXTERNAL_DATA' },
    );
  });

  it('throws INVALID_ARGUMENT for unsupported data types and undecodable bytes', () => {
    assert.throws(() => read({ dataType: OnnxDataType.COMPLEX64, dims: [1n] }), {
      code: 3,
      reason: 'UNSUPPORTED_DTYPE',
      message: /COMPLEX64/,
    });
    assert.throws(() => tensorFromProto(new Uint8Array([0x0a, 0xff])), { code: 3, reason: 'INVALID_TENSOR_PROTO' });
  });
});
