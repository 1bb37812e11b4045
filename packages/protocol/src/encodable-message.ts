import { create, type DescMessage, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import type { Gather } from './gather.js';

/**
 * A message that knows its exact encoded size and writes itself into a buffer someone else allocated, so a
 * frame encoder can put header, ttrpc envelope and message into one allocation
 * ({@link encodeRequestFrame}, {@link encodeResponseFrame}). Build one with {@link noopMessage},
 * {@link inferRequestMessage}, {@link inferResponseMessage}, {@link toEncodable} or {@link fromProtobufEs}.
 */
export interface EncodableMessage {
  /** Exact encoded length in bytes. */
  readonly byteLength: number;
  /**
   * Writes the encoded message at `offset`, which must have `byteLength` bytes of room, and returns the
   * offset after it. May be called more than once; writes the same bytes every time.
   *
   * With `gather`, a message that has {@link gatherBytes} hands each of its large byte fields to `gather`
   * instead of copying it (the field's tag and length are still written), so it writes `byteLength -
   * gatherBytes` bytes into `buf`. Messages without `gatherBytes` ignore `gather`.
   */
  writeTo(buf: Uint8Array, offset: number, gather?: Gather): number;
  /** Bytes of the byte fields that `writeTo` with a `Gather` leaves out of `buf` (see {@link Gather.bytesOf}). */
  readonly gatherBytes?: number;
}

/**
 * Any message, encoded now with protobuf-es (`toBinary(schema, create(schema, message))`), for messages off
 * the hot path: costs one extra copy of the encoded bytes when written into a frame.
 */
export function fromProtobufEs<Desc extends DescMessage>(
  schema: Desc,
  message: MessageInitShape<Desc>,
): EncodableMessage {
  return encodedMessage(toBinary(schema, create(schema, message)));
}

/** Bytes that are already an encoded message. They are referenced, not copied, until written. */
export function encodedMessage(bytes: Uint8Array): EncodableMessage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('An encoded message must be a Uint8Array');
  return {
    byteLength: bytes.byteLength,
    writeTo(buf, offset) {
      buf.set(bytes, offset);
      return offset + bytes.byteLength;
    },
  };
}
