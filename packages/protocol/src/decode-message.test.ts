import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { decodeMessage } from './decode-message.js';
import { NoopRequestSchema, NoopResponseSchema, ServerInfoResponseSchema } from './gen/ferry/v1/accelerator_pb.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Both decoders' answer, comparable: the message's type and payload, or that it threw. */
function outcome(decode: () => { $typeName: string; payload: Uint8Array }): string {
  try {
    const m = decode();
    return `${m.$typeName}:${hex(m.payload)}:${Object.keys(m).join(',')}`;
  } catch {
    return 'threw';
  }
}

describe('decodeMessage()', () => {
  for (const schema of [NoopRequestSchema, NoopResponseSchema]) {
    it(`reads a ${schema.name} as fromBinary() does, for encoded messages and for any bytes`, () => {
      const encoded = fc.uint8Array({ maxLength: 300 }).map((payload) => toBinary(schema, create(schema, { payload })));
      // Repeated fields (last wins), unknown fields, truncated lengths, long varints: whatever a peer sends.
      const anyBytes = fc.oneof(
        fc.uint8Array({ maxLength: 40 }),
        fc.array(encoded, { maxLength: 3 }).map((parts) => new Uint8Array(Buffer.concat(parts))),
        encoded.map((bytes) => bytes.subarray(0, Math.max(0, bytes.length - 1))),
      );
      fc.assert(
        fc.property(fc.oneof(encoded, anyBytes), (bytes) => {
          assert.equal(
            outcome(() => decodeMessage(schema, bytes)),
            outcome(() => fromBinary(schema, bytes)),
          );
        }),
        { numRuns: 1000 },
      );
    });
  }

  it('gives the payload as a view of the bytes, not a copy', () => {
    const bytes = toBinary(NoopRequestSchema, create(NoopRequestSchema, { payload: new Uint8Array([1, 2, 3]) }));
    const message = decodeMessage(NoopRequestSchema, bytes);
    assert.equal(message.payload.buffer, bytes.buffer);
  });

  it('leaves every other schema to protobuf-es', () => {
    const bytes = toBinary(ServerInfoResponseSchema, create(ServerInfoResponseSchema, { maxInflight: 64 }));
    assert.equal(decodeMessage(ServerInfoResponseSchema, bytes).maxInflight, 64);
  });
});
