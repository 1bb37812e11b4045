import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, FerryError } from '@ferry/core';
import fc from 'fast-check';
import type { EncodableMessage } from './encodable-message.js';
import { encodeResponseFrame, encodeResponseFrameParts } from './encode-response-frame.js';
import { createFrameDecoder, encodeFrame, MessageType } from './frame.js';
import { FrameTooLargeError } from './frame-too-large-error.js';
import { GATHER_MIN_BYTES } from './gather.js';
import { InferResponseSchema, NoopResponseSchema, ServerInfoResponseSchema } from './gen/ferry/v1/accelerator_pb.js';
import { inferResponseMessage } from './infer-response-message.js';
import { noopMessage } from './noop-message.js';
import { tensorMapToWire } from './tensor-codec.js';
import {
  anyBytes,
  anyString,
  coreTensorMap,
  int32,
  wellFormedString,
  wireNamedTensorInit,
} from './testing/wire-arbitraries.js';
import { toEncodable } from './to-encodable.js';
import { decodeResponse, encodeResponse, statusFromError, type TtrpcStatus } from './ttrpc.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const streamId = fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.constantFrom(1, 0xffff_ffff));
const maxFrameBytes = 0xffff_ffff;

const detail = fc.record({ typeUrl: anyString, value: anyBytes });
const status: fc.Arbitrary<TtrpcStatus | undefined> = fc.option(
  fc.tuple(int32, anyString, fc.option(anyString, { nil: undefined }), fc.array(detail, { maxLength: 3 })).map(
    ([code, message, reason, details]): TtrpcStatus => ({
      code,
      message,
      ...(reason === undefined ? {} : { reason }),
      ...(details.length === 0 ? {} : { details }),
    }),
  ),
  { nil: undefined },
);

/** The frame the old path builds: toBinary, encodeResponse, encodeFrame. */
function oldFrame(id: number, st: TtrpcStatus | undefined, payload: Uint8Array | undefined): string {
  const envelope = encodeResponse({
    ...(st === undefined ? {} : { status: st }),
    ...(payload === undefined ? {} : { payload }),
  });
  return hex(encodeFrame({ streamId: id, type: MessageType.RESPONSE, flags: 0, payload: envelope }, { maxFrameBytes }));
}

const withStatus = (st: TtrpcStatus | undefined) => (st === undefined ? {} : { status: st });

describe('encodeResponseFrame()', () => {
  it('writes the bytes of encodeFrame(encodeResponse()) for any status and a Noop body', () => {
    fc.assert(
      fc.property(streamId, status, anyBytes, (id, st, payload) => {
        const expected = oldFrame(id, st, toBinary(NoopResponseSchema, create(NoopResponseSchema, { payload })));
        assert.equal(hex(encodeResponseFrame(id, withStatus(st), noopMessage(payload), { maxFrameBytes })), expected);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the bytes of encodeFrame(encodeResponse()) for a status alone, without a body', () => {
    fc.assert(
      fc.property(streamId, status, (id, st) => {
        assert.equal(hex(encodeResponseFrame(id, withStatus(st))), oldFrame(id, st, undefined));
      }),
    );
  });

  it('writes an error status as statusFromError() gives it', () => {
    const error = new FerryError(Code.NOT_FOUND, 'Session "7" does not exist for tenant "sbx-é"', {
      reason: 'SESSION_NOT_FOUND',
    });
    const st = statusFromError(error);
    const frame = encodeResponseFrame(3, { status: st });
    assert.equal(hex(frame), oldFrame(3, st, undefined));
    const [decoded] = createFrameDecoder().push(frame);
    assert.ok(decoded);
    assert.deepEqual(decodeResponse(decoded.payload).status, {
      code: Code.NOT_FOUND,
      message: st.message,
      reason: 'SESSION_NOT_FOUND',
    });
  });

  it('writes the bytes of the agent path for an InferResponse from core tensors', () => {
    fc.assert(
      fc.property(coreTensorMap, (outputs) => {
        const wire = create(InferResponseSchema, { outputs: tensorMapToWire(outputs) });
        const expected = oldFrame(5, undefined, toBinary(InferResponseSchema, wire));
        assert.equal(hex(encodeResponseFrame(5, {}, inferResponseMessage(outputs), { maxFrameBytes })), expected);
      }),
      { numRuns: 200 },
    );
  });

  it('writes the bytes of the agent path for an InferResponse handler result', () => {
    fc.assert(
      fc.property(fc.array(wireNamedTensorInit, { maxLength: 3 }), (outputs) => {
        const expected = oldFrame(
          5,
          undefined,
          toBinary(InferResponseSchema, create(InferResponseSchema, { outputs })),
        );
        const body = toEncodable(InferResponseSchema, { outputs });
        assert.equal(hex(encodeResponseFrame(5, {}, body, { maxFrameBytes })), expected);
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips through the frame decoder, decodeResponse() and fromBinary()', () => {
    fc.assert(
      fc.property(
        streamId,
        fc.option(fc.record({ code: int32, message: wellFormedString, reason: fc.stringMatching(/^[A-Z][A-Z_]*$/) }), {
          nil: undefined,
        }),
        anyBytes,
        (id, st, payload) => {
          const frame = encodeResponseFrame(id, withStatus(st), noopMessage(payload), { maxFrameBytes });
          const [decoded, ...rest] = createFrameDecoder({ maxFrameBytes }).push(frame);
          assert.equal(rest.length, 0);
          assert.ok(decoded);
          assert.equal(decoded.streamId, id);
          assert.equal(decoded.type, MessageType.RESPONSE);
          const response = decodeResponse(decoded.payload);
          assert.deepEqual(response.status, st === undefined ? { code: Code.OK, message: '' } : { ...st });
          assert.equal(hex(fromBinary(NoopResponseSchema, response.payload).payload), hex(payload));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('writes a cold message through toEncodable() identically', () => {
    const init = { version: '0.1.0', tenant: 'sbx-😀', backends: ['cpu', 'noop'], maxFrameBytes: 16 << 20 };
    const expected = oldFrame(
      11,
      undefined,
      toBinary(ServerInfoResponseSchema, create(ServerInfoResponseSchema, init)),
    );
    assert.equal(hex(encodeResponseFrame(11, {}, toEncodable(ServerInfoResponseSchema, init))), expected);
  });

  it('throws FrameTooLargeError before asking the body to write or allocating', () => {
    let wrote = false;
    const huge: EncodableMessage = {
      byteLength: 2 ** 33,
      writeTo: () => {
        wrote = true;
        return 0;
      },
    };
    assert.throws(
      () => encodeResponseFrame(9, {}, huge, { maxFrameBytes: 4096 }),
      (error: unknown) => error instanceof FrameTooLargeError && error.streamId === 9 && error.maxFrameBytes === 4096,
    );
    assert.equal(wrote, false);
  });

  it('throws a TypeError or RangeError for a bad status, as encodeResponse() does', () => {
    assert.throws(() => encodeResponseFrame(1, { status: { code: 2 ** 31, message: '' } }), RangeError);
    assert.throws(() => encodeResponseFrame(1, { status: { code: 1.5, message: '' } }), RangeError);
    assert.throws(() => encodeResponseFrame(1, { status: { code: 2, message: 3 as never } }), TypeError);
    assert.throws(() => encodeResponseFrame(1, {}, { byteLength: -1 } as never), TypeError);
  });
});

describe('encodeResponseFrameParts()', () => {
  const big = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);
  /** Tensors around the gathering threshold, so that some are gathered and some copied. */
  const sizes = fc.array(
    fc.constantFrom(0, 4, GATHER_MIN_BYTES - 1, GATHER_MIN_BYTES, GATHER_MIN_BYTES + 3, 3 * GATHER_MIN_BYTES),
    { minLength: 1, maxLength: 4 },
  );

  it('gives, concatenated, the bytes of encodeResponseFrame(), referencing large tensor data without a copy', () => {
    fc.assert(
      fc.property(sizes, streamId, (lengths, id) => {
        const outputs = Object.fromEntries(
          lengths.map((n, i) => [`out${i}`, { dtype: 'uint8' as const, shape: [n], data: big(n, i) }]),
        );
        const whole = encodeResponseFrame(id, {}, inferResponseMessage(outputs), { maxFrameBytes });
        const encoded = encodeResponseFrameParts(id, {}, inferResponseMessage(outputs), { maxFrameBytes });
        const parts = encoded instanceof Uint8Array ? [encoded] : encoded;
        assert.equal(hex(Buffer.concat(parts)), hex(whole));
        for (const tensor of Object.values(outputs)) {
          // The same object, not a copy of it: the socket writes the worker's buffer itself.
          assert.equal(parts.includes(tensor.data), tensor.data.byteLength >= GATHER_MIN_BYTES);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('gathers the tensors of a handler result as toEncodable() brings them, and round-trips', () => {
    const data = big(2 * GATHER_MIN_BYTES, 7);
    const body = toEncodable(InferResponseSchema, {
      outputs: [{ name: 'y', tensor: { dtype: 1, shape: [BigInt(data.length / 4)], data } }],
    });
    const parts = encodeResponseFrameParts(9, {}, body, { maxFrameBytes });
    assert.ok(Array.isArray(parts) && parts.length >= 2 && parts.includes(data));
    const [frame] = createFrameDecoder({ maxFrameBytes }).push(Buffer.concat(parts));
    const response = decodeResponse((frame as { payload: Uint8Array }).payload);
    const decoded = fromBinary(InferResponseSchema, response.payload);
    assert.equal(hex(decoded.outputs[0]?.tensor?.data ?? new Uint8Array()), hex(data));
  });

  it('is one buffer when nothing is large enough to gather, and checks the frame limit the same way', () => {
    const small = inferResponseMessage({ y: { dtype: 'uint8', shape: [8], data: big(8, 1) } });
    assert.ok(encodeResponseFrameParts(3, {}, small) instanceof Uint8Array);
    const large = inferResponseMessage({
      y: { dtype: 'uint8', shape: [GATHER_MIN_BYTES], data: big(GATHER_MIN_BYTES, 1) },
    });
    assert.throws(() => encodeResponseFrameParts(3, {}, large, { maxFrameBytes: 1000 }), FrameTooLargeError);
  });
});
