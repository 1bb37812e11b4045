import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, FerryError } from '@ferry/core';
import fc from 'fast-check';
import { StatusSchema } from './gen/google/rpc/status_pb.js';
import { RequestSchema, ResponseSchema } from './gen/ttrpc/ttrpc_pb.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  errorFromStatus,
  statusFromError,
} from './ttrpc.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const entries = (record: Readonly<Record<string, string>>) =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const codeArb = fc.constantFrom(...Object.values(Code).filter((c) => c !== Code.OK));
const reasonArb = fc.stringMatching(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);

/** What protobuf-es alone makes of a request: the reference the fast path must match. */
function referenceRequest(bytes: Uint8Array) {
  const m = fromBinary(RequestSchema, bytes);
  return {
    service: m.service,
    method: m.method,
    payload: hex(m.payload),
    timeoutNano: m.timeoutNano,
    metadata: Object.fromEntries(m.metadata.map((kv) => [kv.key, kv.value])),
  };
}

describe('decodeRequest() and decodeResponse() fast paths', () => {
  it('decode every request exactly as protobuf-es does, and fail where it fails', () => {
    const request = fc.record({
      service: fc.oneof(fc.string(), fc.constant('ferry.v1.Accelerator')),
      method: fc.oneof(fc.string(), fc.constant('Noop')),
      payload: fc.uint8Array({ maxLength: 300 }),
      timeoutNano: fc.oneof(
        fc.constant(0n),
        fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 49n }),
      ),
      metadata: fc.oneof(fc.constant({}), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })),
    });
    fc.assert(
      fc.property(request, (r) => {
        const bytes = encodeRequest(r);
        const fast = decodeRequest(bytes);
        assert.deepEqual(
          { ...fast, payload: hex(fast.payload), metadata: { ...fast.metadata } },
          referenceRequest(bytes),
        );
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let reference: unknown;
        try {
          reference = referenceRequest(bytes);
        } catch {
          assert.throws(
            () => decodeRequest(bytes),
            (e: FerryError) => e.reason === 'MALFORMED_REQUEST',
          );
          return;
        }
        const fast = decodeRequest(bytes);
        assert.deepEqual({ ...fast, payload: hex(fast.payload), metadata: { ...fast.metadata } }, reference);
      }),
      { numRuns: 2000 },
    );
  });

  it('decode every response exactly as protobuf-es does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let reference: ReturnType<typeof fromBinary<typeof ResponseSchema>>;
        try {
          reference = fromBinary(ResponseSchema, bytes);
        } catch {
          assert.throws(() => decodeResponse(bytes));
          return;
        }
        const fast = decodeResponse(bytes);
        assert.equal(hex(fast.payload), hex(reference.payload));
        assert.equal(fast.status.code, reference.status?.code ?? Code.OK);
      }),
      { numRuns: 2000 },
    );
    const ok = encodeResponse({ payload: new Uint8Array([1, 2, 3]) });
    assert.deepEqual(decodeResponse(ok), {
      status: { code: Code.OK, message: '' },
      payload: new Uint8Array([1, 2, 3]),
    });
  });
});

describe('encodeRequest() / decodeRequest()', () => {
  it('writes ttrpc.Request field numbers and wire types', () => {
    const bytes = encodeRequest({
      service: 's',
      method: 'm',
      payload: new Uint8Array([1]),
      timeoutNano: 5n,
      metadata: { k: 'v' },
    });
    // 1: service, 2: method, 3: payload (length-delimited), 4: timeout_nano (varint), 5: KeyValue{1: key, 2: value}
    assert.equal(hex(bytes), '0a017312016d1a010120052a060a016b120176');
  });

  it('round-trips any request', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.uint8Array({ maxLength: 128 }),
        fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
        fc.dictionary(fc.string(), fc.string()),
        (service, method, payload, timeoutNano, metadata) => {
          const decoded = decodeRequest(encodeRequest({ service, method, payload, timeoutNano, metadata }));
          assert.equal(decoded.service, service);
          assert.equal(decoded.method, method);
          assert.equal(hex(decoded.payload), hex(payload));
          assert.equal(decoded.timeoutNano, timeoutNano);
          assert.deepEqual(entries(decoded.metadata), entries(metadata));
        },
      ),
    );
  });

  it('defaults to no deadline and no metadata', () => {
    const decoded = decodeRequest(encodeRequest({ service: 'a', method: 'b', payload: new Uint8Array(0) }));
    assert.equal(decoded.timeoutNano, 0n);
    assert.deepEqual(decoded.metadata, {});
  });

  it('keeps a "__proto__" metadata key as an ordinary key', () => {
    const metadata = Object.fromEntries([['__proto__', 'x']]);
    const decoded = decodeRequest(encodeRequest({ service: 'a', method: 'b', payload: new Uint8Array(0), metadata }));
    assert.deepEqual(Object.entries(decoded.metadata), [['__proto__', 'x']]);
    assert.equal(Object.getPrototypeOf(decoded.metadata), Object.prototype);
  });

  it('throws RangeError for a negative or oversized timeoutNano', () => {
    const base = { service: 'a', method: 'b', payload: new Uint8Array(0) };
    assert.throws(() => encodeRequest({ ...base, timeoutNano: -1n }), RangeError);
    assert.throws(() => encodeRequest({ ...base, timeoutNano: 2n ** 63n }), RangeError);
  });

  it('throws INVALID_ARGUMENT MALFORMED_REQUEST for bytes that are not a request', () => {
    assert.throws(() => decodeRequest(new Uint8Array([0x0a, 0x05, 0x61])), {
      code: Code.INVALID_ARGUMENT,
      reason: 'MALFORMED_REQUEST',
    });
  });
});

describe('encodeResponse() / decodeResponse()', () => {
  it('round-trips a payload with no status as OK', () => {
    const decoded = decodeResponse(encodeResponse({ payload: new Uint8Array([1, 2, 3]) }));
    assert.deepEqual(decoded.status, { code: Code.OK, message: '' });
    assert.equal(hex(decoded.payload), '010203');
    assert.deepEqual(decodeResponse(encodeResponse({})).status, { code: Code.OK, message: '' });
  });

  it('round-trips any status and payload', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.string(),
        fc.option(reasonArb, { nil: undefined }),
        fc.uint8Array({ maxLength: 64 }),
        (code, message, reason, payload) => {
          const status = reason === undefined ? { code, message } : { code, message, reason };
          const decoded = decodeResponse(encodeResponse({ status, payload }));
          assert.deepEqual(decoded.status, status);
          assert.equal(hex(decoded.payload), hex(payload));
        },
      ),
    );
  });

  it('packs the reason as google.protobuf.Any of ferry.errors.v1.ErrorInfo', () => {
    const bytes = encodeResponse({ status: { code: Code.NOT_FOUND, message: 'gone', reason: 'SESSION_NOT_FOUND' } });
    const details = fromBinary(ResponseSchema, bytes).status?.details ?? [];
    assert.equal(details.length, 1);
    assert.equal(details[0]?.typeUrl, 'type.googleapis.com/ferry.errors.v1.ErrorInfo');
    // ErrorInfo{1: reason}
    assert.equal(hex(details[0]?.value ?? new Uint8Array(0)), hex(Buffer.from('\x0a\x11SESSION_NOT_FOUND')));
  });

  it('ignores unknown and malformed details', () => {
    const bytes = toBinary(
      ResponseSchema,
      create(ResponseSchema, {
        status: create(StatusSchema, {
          code: Code.UNAVAILABLE,
          message: 'busy',
          details: [
            { typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: new Uint8Array([0x0a, 0x00]) },
            { typeUrl: 'type.googleapis.com/ferry.errors.v1.ErrorInfo', value: new Uint8Array([0x0a, 0x09]) },
            { typeUrl: 'type.googleapis.com/ferry.errors.v1.ErrorInfo', value: Buffer.from('\x0a\x04BUSY') },
          ],
        }),
      }),
    );
    assert.deepEqual(decodeResponse(bytes).status, { code: Code.UNAVAILABLE, message: 'busy', reason: 'BUSY' });
  });

  it('throws RangeError for a status code outside int32', () => {
    assert.throws(() => encodeResponse({ status: { code: 2 ** 31, message: '' } }), RangeError);
  });

  it('throws INTERNAL MALFORMED_RESPONSE for bytes that are not a response', () => {
    assert.throws(() => decodeResponse(new Uint8Array([0x12, 0x05])), {
      code: Code.INTERNAL,
      reason: 'MALFORMED_RESPONSE',
    });
  });
});

describe('statusFromError() / errorFromStatus()', () => {
  it('carries code, message and reason across the wire', () => {
    fc.assert(
      fc.property(codeArb, fc.string(), reasonArb, (code, message, reason) => {
        const sent = new FerryError(code, message, { reason });
        const status = statusFromError(sent);
        assert.equal(status.message, message);
        const received = errorFromStatus(decodeResponse(encodeResponse({ status })).status);
        assert.ok(received instanceof FerryError);
        assert.equal(received.code, code);
        assert.equal(received.rawMessage, message);
        assert.equal(received.message, sent.message);
        assert.equal(received.reason, reason);
      }),
    );
  });

  it('reports a plain Error as INTERNAL without the code prefix', () => {
    assert.deepEqual(statusFromError(new Error('boom')), { code: Code.INTERNAL, message: 'boom', reason: 'INTERNAL' });
    assert.deepEqual(statusFromError('nope'), { code: Code.INTERNAL, message: 'nope', reason: 'INTERNAL' });
  });

  it('reads an unknown code as UNKNOWN and a missing reason as the code name', () => {
    const unknown = errorFromStatus({ code: 99, message: 'odd' });
    assert.equal(unknown.code, Code.UNKNOWN);
    assert.equal(unknown.rawMessage, 'odd');
    const plain = errorFromStatus({ code: Code.NOT_FOUND, message: 'x', reason: '' });
    assert.equal(plain.reason, 'NOT_FOUND');
  });

  it('throws RangeError for an OK status', () => {
    assert.throws(() => errorFromStatus({ code: Code.OK, message: '' }), RangeError);
  });
});
