import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code } from '@ferry/core';
import fc from 'fast-check';
import type { EncodableMessage } from './encodable-message.js';
import { encodeRequestFrame } from './encode-request-frame.js';
import { createFrameDecoder, encodeFrame, MessageType } from './frame.js';
import { FrameTooLargeError } from './frame-too-large-error.js';
import { InferRequestSchema, NoopRequestSchema, RegisterModelRequestSchema } from './gen/ferry/v1/accelerator_pb.js';
import { inferRequestMessage } from './infer-request-message.js';
import { noopMessage } from './noop-message.js';
import { tensorMapToWire } from './tensor-codec.js';
import {
  anyBytes,
  anyString,
  coreTensorMap,
  metadata,
  timeoutNano,
  wellFormedString,
  wireNamedTensorInit,
} from './testing/wire-arbitraries.js';
import { toEncodable } from './to-encodable.js';
import { decodeRequest, encodeRequest } from './ttrpc.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const streamId = fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.constantFrom(1, 3, 0xffff_ffff));
const maxFrameBytes = 0xffff_ffff;

/** The frame the old path builds: toBinary, encodeRequest, encodeFrame. */
function oldFrame(
  id: number,
  request: { service: string; method: string; timeoutNano?: bigint; metadata?: Record<string, string> },
  payload: Uint8Array,
): string {
  const envelope = encodeRequest({ ...request, payload });
  return hex(encodeFrame({ streamId: id, type: MessageType.REQUEST, flags: 0, payload: envelope }, { maxFrameBytes }));
}

const requestInit = fc.record(
  { service: anyString, method: anyString, timeoutNano, metadata },
  { requiredKeys: ['service', 'method'] },
);

describe('encodeRequestFrame()', () => {
  it('writes the bytes of encodeFrame(encodeRequest()) for a Noop body', () => {
    fc.assert(
      fc.property(streamId, requestInit, anyBytes, (id, request, payload) => {
        const expected = oldFrame(id, request, toBinary(NoopRequestSchema, create(NoopRequestSchema, { payload })));
        assert.equal(hex(encodeRequestFrame(id, request, noopMessage(payload), { maxFrameBytes })), expected);
      }),
      { numRuns: 200 },
    );
  });

  it('writes the bytes of encodeFrame(encodeRequest()) for an InferRequest from protobuf-es init objects', () => {
    fc.assert(
      fc.property(
        streamId,
        requestInit,
        fc.record(
          {
            modelId: fc.nat({ max: 0xffff_ffff }),
            inputs: fc.array(wireNamedTensorInit, { maxLength: 3 }),
            outputNames: fc.array(anyString, { maxLength: 3 }),
          },
          { requiredKeys: [] },
        ),
        (id, request, init) => {
          const expected = oldFrame(id, request, toBinary(InferRequestSchema, create(InferRequestSchema, init)));
          const body = toEncodable(InferRequestSchema, init);
          assert.equal(hex(encodeRequestFrame(id, request, body, { maxFrameBytes })), expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes the bytes of the client path for an InferRequest from core tensors', () => {
    fc.assert(
      fc.property(
        requestInit,
        fc.nat({ max: 0xffff_ffff }),
        coreTensorMap,
        fc.array(anyString, { maxLength: 3 }),
        (request, modelId, inputs, outputNames) => {
          const wire = create(InferRequestSchema, { modelId, inputs: tensorMapToWire(inputs), outputNames });
          const expected = oldFrame(7, request, toBinary(InferRequestSchema, wire));
          const body = inferRequestMessage(modelId, inputs, { outputNames });
          assert.equal(hex(encodeRequestFrame(7, request, body, { maxFrameBytes })), expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('round-trips through the frame decoder, decodeRequest() and fromBinary()', () => {
    fc.assert(
      fc.property(
        streamId,
        wellFormedString,
        wellFormedString,
        timeoutNano,
        fc.dictionary(wellFormedString, wellFormedString, { maxKeys: 3 }),
        anyBytes,
        (id, service, method, timeout, meta, payload) => {
          const frame = encodeRequestFrame(
            id,
            { service, method, timeoutNano: timeout, metadata: meta },
            noopMessage(payload),
            { maxFrameBytes },
          );
          const [decoded, ...rest] = createFrameDecoder({ maxFrameBytes }).push(frame);
          assert.equal(rest.length, 0);
          assert.ok(decoded);
          assert.equal(decoded.streamId, id);
          assert.equal(decoded.type, MessageType.REQUEST);
          assert.equal(decoded.flags, 0);
          const request = decodeRequest(decoded.payload);
          assert.equal(request.service, service);
          assert.equal(request.method, method);
          assert.equal(request.timeoutNano, timeout);
          assert.deepEqual({ ...request.metadata }, { ...meta });
          assert.equal(hex(fromBinary(NoopRequestSchema, request.payload).payload), hex(payload));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('writes a 1 MiB Noop payload identically', () => {
    const payload = Uint8Array.from({ length: 1 << 20 }, (_, i) => i & 0xff);
    const request = { service: 'ferry.v1.Accelerator', method: 'Noop', timeoutNano: 5_000_000_000n };
    const expected = oldFrame(1, request, toBinary(NoopRequestSchema, create(NoopRequestSchema, { payload })));
    assert.equal(hex(encodeRequestFrame(1, request, noopMessage(payload), { maxFrameBytes })), expected);
  });

  it('writes the body of a cold message through toEncodable() identically', () => {
    const init = { sessionId: 3, source: { case: 'name' as const, value: 'résnet' }, backend: 'cpu' };
    const expected = oldFrame(
      9,
      { service: 's', method: 'm' },
      toBinary(RegisterModelRequestSchema, create(RegisterModelRequestSchema, init)),
    );
    const body = toEncodable(RegisterModelRequestSchema, init);
    assert.equal(hex(encodeRequestFrame(9, { service: 's', method: 'm' }, body)), expected);
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
      () => encodeRequestFrame(5, { service: 's', method: 'm' }, huge, { maxFrameBytes: 1024 }),
      (error: unknown) => {
        assert.ok(error instanceof FrameTooLargeError);
        assert.equal(error.code, Code.RESOURCE_EXHAUSTED);
        assert.equal(error.reason, 'FRAME_TOO_LARGE');
        assert.equal(error.streamId, 5);
        assert.equal(error.maxFrameBytes, 1024);
        return true;
      },
    );
    assert.equal(wrote, false);
  });

  it('throws FrameTooLargeError when the envelope alone tips the payload over maxFrameBytes', () => {
    const body = noopMessage(new Uint8Array(1000));
    // Noop body: 1003 bytes; envelope adds service, method and the payload's tag and length.
    const request = { service: 's', method: 'm' };
    const frame = encodeRequestFrame(1, request, body, { maxFrameBytes: 1012 });
    assert.equal(frame.byteLength, 10 + 1012);
    assert.throws(() => encodeRequestFrame(1, request, body, { maxFrameBytes: 1011 }), {
      reason: 'FRAME_TOO_LARGE',
      length: 1012,
    });
  });

  it('throws a TypeError or RangeError for bad arguments, as encodeRequest() does', () => {
    const body = noopMessage(new Uint8Array(1));
    assert.throws(() => encodeRequestFrame(1, { service: 1 as never, method: 'm' }, body), TypeError);
    assert.throws(() => encodeRequestFrame(1, { service: 's', method: 'm', timeoutNano: -1n }, body), RangeError);
    assert.throws(() => encodeRequestFrame(1, { service: 's', method: 'm', timeoutNano: 2n ** 63n }, body), RangeError);
    assert.throws(() => encodeRequestFrame(1, { service: 's', method: 'm' }, {} as never), TypeError);
    assert.throws(
      () => encodeRequestFrame(1, { service: 's', method: 'm', metadata: { k: 1 as never } }, body),
      TypeError,
    );
    assert.throws(() => encodeRequestFrame(-1, { service: 's', method: 'm' }, body), RangeError);
    assert.throws(() => encodeRequestFrame(1, { service: 's', method: 'm' }, body, { maxFrameBytes: -1 }), RangeError);
  });

  it('throws rather than return a frame when a body misreports its byteLength', () => {
    const liar: EncodableMessage = { byteLength: 4, writeTo: (_buf, offset) => offset + 3 };
    assert.throws(() => encodeRequestFrame(1, { service: 's', method: 'm' }, liar), /misreported/);
  });
});
