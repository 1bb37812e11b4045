import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { encodedMessage, fromProtobufEs } from './encodable-message.js';
import {
  Accelerator,
  DataType,
  InferRequestSchema,
  InferResponseSchema,
  NoopRequestSchema,
  NoopResponseSchema,
  TensorSchema,
} from './gen/ferry/v1/accelerator_pb.js';
import { inferRequestMessage } from './infer-request-message.js';
import { inferResponseMessage } from './infer-response-message.js';
import { noopMessage } from './noop-message.js';
import { tensorMapToWire } from './tensor-codec.js';
import { anyBytes, coreTensorMap, wireNamedTensorInit } from './testing/wire-arbitraries.js';
import { toEncodable } from './to-encodable.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Writes a message at an offset inside a larger buffer, checking it stays inside its bytes. */
function bytesOf(message: { byteLength: number; writeTo(buf: Uint8Array, offset: number): number }): string {
  const buf = new Uint8Array(message.byteLength + 6).fill(0xee);
  assert.equal(message.writeTo(buf, 3), 3 + message.byteLength);
  assert.equal(hex(buf.subarray(0, 3)), 'eeeeee');
  assert.equal(hex(buf.subarray(3 + message.byteLength)), 'eeeeee');
  return hex(buf.subarray(3, 3 + message.byteLength));
}

describe('toEncodable()', () => {
  it('is the schema the Accelerator service methods use, so the fast paths apply to client and agent', () => {
    assert.equal(Accelerator.method.noop.input, NoopRequestSchema);
    assert.equal(Accelerator.method.noop.output, NoopResponseSchema);
    assert.equal(Accelerator.method.infer.input, InferRequestSchema);
    assert.equal(Accelerator.method.infer.output, InferResponseSchema);
  });

  it('writes NoopRequest and NoopResponse as toBinary does', () => {
    fc.assert(
      fc.property(anyBytes, (payload) => {
        const expected = hex(toBinary(NoopRequestSchema, create(NoopRequestSchema, { payload })));
        assert.equal(bytesOf(toEncodable(NoopRequestSchema, { payload })), expected);
        assert.equal(bytesOf(toEncodable(NoopResponseSchema, create(NoopResponseSchema, { payload }))), expected);
        assert.equal(bytesOf(noopMessage(payload)), expected);
      }),
      { numRuns: 50 },
    );
    assert.equal(toEncodable(NoopRequestSchema, {}).byteLength, 0);
  });

  it('writes InferRequest and InferResponse messages and init objects as toBinary does', () => {
    fc.assert(
      fc.property(fc.array(wireNamedTensorInit, { maxLength: 4 }), fc.nat(), (list, modelId) => {
        const request = create(InferRequestSchema, { modelId, inputs: list, outputNames: ['a', 'é'] });
        assert.equal(bytesOf(toEncodable(InferRequestSchema, request)), hex(toBinary(InferRequestSchema, request)));
        const response = create(InferResponseSchema, { outputs: list });
        assert.equal(
          bytesOf(toEncodable(InferResponseSchema, { outputs: list })),
          hex(toBinary(InferResponseSchema, response)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('writes a named tensor whose tensor field is unset, and one set but empty', () => {
    const outputs = [{ name: 'unset' }, { name: '', tensor: {} }, { tensor: create(TensorSchema) }];
    const expected = hex(toBinary(InferResponseSchema, create(InferResponseSchema, { outputs })));
    assert.equal(expected, '0a070a05756e736574' + '0a021200' + '0a021200');
    assert.equal(bytesOf(toEncodable(InferResponseSchema, { outputs })), expected);
  });

  it('falls back to protobuf-es for messages with unknown fields, and keeps them', () => {
    // NoopRequest{payload: 05} plus an unknown varint field 2 = 7.
    const noop = fromBinary(NoopRequestSchema, new Uint8Array([0x0a, 0x01, 0x05, 0x10, 0x07]));
    assert.equal(bytesOf(toEncodable(NoopRequestSchema, noop)), '0a01051007');
    // An InferResponse whose tensor carries an unknown field 9.
    const infer = fromBinary(InferResponseSchema, new Uint8Array([0x0a, 0x04, 0x12, 0x02, 0x48, 0x01]));
    assert.equal(bytesOf(toEncodable(InferResponseSchema, infer)), '0a0412024801');
  });

  it('writes every DataType value, negative unknown ones included', () => {
    for (const dtype of [...Object.values(DataType).filter((v) => typeof v === 'number'), 99, -1, -(2 ** 31)]) {
      const outputs = [
        { name: 't', tensor: { dtype: dtype as DataType, shape: [2n, -3n], data: new Uint8Array([1]) } },
      ];
      const expected = hex(toBinary(InferResponseSchema, create(InferResponseSchema, { outputs })));
      assert.equal(bytesOf(toEncodable(InferResponseSchema, { outputs })), expected);
    }
  });
});

describe('inferRequestMessage() / inferResponseMessage()', () => {
  it('write what protobuf-es writes for tensorMapToWire() of the same tensors', () => {
    fc.assert(
      fc.property(coreTensorMap, fc.nat({ max: 0xffff_ffff }), (tensors, modelId) => {
        const inputs = tensorMapToWire(tensors);
        assert.equal(
          bytesOf(inferRequestMessage(modelId, tensors)),
          hex(toBinary(InferRequestSchema, create(InferRequestSchema, { modelId, inputs }))),
        );
        assert.equal(
          bytesOf(inferResponseMessage(tensors)),
          hex(toBinary(InferResponseSchema, create(InferResponseSchema, { outputs: inputs }))),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('throws TypeError for an unknown dtype and RangeError for a bad model id or dimension', () => {
    const data = new Uint8Array(4);
    assert.throws(() => inferResponseMessage({ x: { dtype: 'complex64' as never, shape: [1], data } }), TypeError);
    assert.throws(() => inferResponseMessage({ x: { dtype: 'float32', shape: [1], data: [1] as never } }), TypeError);
    assert.throws(() => inferResponseMessage({ x: { dtype: 'float32', shape: [0.5], data } }), RangeError);
    assert.throws(() => inferRequestMessage(-1, {}), RangeError);
    assert.throws(() => inferRequestMessage(2 ** 32, {}), RangeError);
  });
});

describe('fromProtobufEs() / encodedMessage()', () => {
  it('write the toBinary bytes of any message', () => {
    const tensor = { dtype: DataType.FLOAT32, shape: [1n], data: new Uint8Array(4) };
    assert.equal(
      bytesOf(fromProtobufEs(TensorSchema, tensor)),
      hex(toBinary(TensorSchema, create(TensorSchema, tensor))),
    );
    assert.equal(bytesOf(encodedMessage(new Uint8Array([1, 2, 3]))), '010203');
  });
});
