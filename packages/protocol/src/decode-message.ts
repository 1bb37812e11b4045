import { type DescMessage, fromBinary, type MessageShape } from '@bufbuild/protobuf';
import { NoopRequestSchema, NoopResponseSchema } from './gen/ferry/v1/accelerator_pb.js';

/** `bytes payload = 1`, tag (1 << 3) | 2. */
const PAYLOAD_TAG = 0x0a;

/**
 * `fromBinary(schema, bytes)`, with a hand-written path for the messages of every call's floor: NoopRequest
 * and NoopResponse (`bytes payload = 1`) are read without protobuf-es's reflection. Anything the fast path
 * does not recognise (another field, a malformed length) goes to protobuf-es, which decodes or rejects it,
 * so both give the same message (property-tested). The counterpart of {@link toEncodable}.
 */
export function decodeMessage<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  if (schema === (NoopRequestSchema as DescMessage) || schema === (NoopResponseSchema as DescMessage)) {
    const payload = scanPayload(bytes);
    if (payload !== undefined) return { $typeName: schema.typeName, payload } as unknown as MessageShape<Desc>;
  }
  return fromBinary(schema, bytes);
}

/** The last `payload` field (protobuf's rule for a repeated scalar field), or undefined for anything else. */
function scanPayload(bytes: Uint8Array): Uint8Array | undefined {
  let payload = bytes.subarray(0, 0);
  let pos = 0;
  const end = bytes.byteLength;
  while (pos < end) {
    if (bytes[pos++] !== PAYLOAD_TAG) return undefined;
    let length = 0;
    let shift = 0;
    for (;;) {
      if (shift > 21 || pos >= end) return undefined;
      const b = bytes[pos++] as number;
      length |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) break;
    }
    if (pos + length > end) return undefined;
    payload = bytes.subarray(pos, pos + length);
    pos += length;
  }
  return payload;
}
