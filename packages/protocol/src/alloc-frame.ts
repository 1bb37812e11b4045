import type { EncodableMessage } from './encodable-message.js';
import { DEFAULT_MAX_FRAME_BYTES, type FrameCodecOptions, HEADER_BYTES } from './frame.js';
import { FrameTooLargeError } from './frame-too-large-error.js';
import type { Gather } from './gather.js';

const MAX_U32 = 0xffff_ffff;

/**
 * Checks the limit, then allocates a whole frame and writes its 10-byte header (flags 0), for the
 * single-allocation frame encoders. The buffer comes from `Buffer.allocUnsafe` (pooled below 4 KiB, never
 * zero-filled): the caller must write every payload byte, and checks so with {@link checkFrameEnd}.
 * Internal to the package.
 */
export function allocFrame(
  streamId: number,
  type: number,
  payloadLength: number,
  options: FrameCodecOptions | undefined,
  /** Payload bytes that will travel as buffers of their own (scatter/gather), not in this one. */
  gathered = 0,
): Buffer {
  const maxFrameBytes = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_U32) {
    throw new RangeError(`maxFrameBytes must be an integer from 0 to ${MAX_U32}, got ${maxFrameBytes}`);
  }
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > MAX_U32) {
    throw new RangeError(`Frame streamId must be an integer from 0 to ${MAX_U32}, got ${streamId}`);
  }
  if (payloadLength > maxFrameBytes) throw new FrameTooLargeError(streamId, payloadLength, maxFrameBytes);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + payloadLength - gathered);
  buf[0] = payloadLength >>> 24;
  buf[1] = payloadLength >>> 16;
  buf[2] = payloadLength >>> 8;
  buf[3] = payloadLength;
  buf[4] = streamId >>> 24;
  buf[5] = streamId >>> 16;
  buf[6] = streamId >>> 8;
  buf[7] = streamId;
  buf[8] = type;
  buf[9] = 0;
  return buf;
}

/** Throws if the writers did not fill the frame exactly (a message whose byteLength lied). */
export function checkFrameEnd(buf: Uint8Array, end: number): Uint8Array {
  if (end !== buf.byteLength) {
    throw new Error(`Frame encoder wrote ${end} of ${buf.byteLength} bytes: a message misreported its byteLength`);
  }
  return buf;
}

/**
 * Writes a message body of `byteLength` bytes at `pos` (less what it hands to `gather`); throws if it wrote
 * another number of bytes.
 */
export function writeBody(
  buf: Uint8Array,
  pos: number,
  body: EncodableMessage,
  byteLength: number,
  gather?: Gather,
): number {
  const before = gather?.bytes ?? 0;
  const end = body.writeTo(buf, pos, gather);
  if (end - pos + (gather?.bytes ?? 0) - before !== byteLength) {
    throw new Error(`A message of ${byteLength} bytes wrote ${end - pos}: it misreported its byteLength`);
  }
  return end;
}

/** TypeError unless `body` looks like an EncodableMessage. */
export function checkBody(body: { readonly byteLength: number; writeTo: unknown } | undefined): void {
  if (
    typeof body !== 'object' ||
    body === null ||
    typeof body.writeTo !== 'function' ||
    !Number.isInteger(body.byteLength) ||
    body.byteLength < 0
  ) {
    throw new TypeError('The message body must be an EncodableMessage');
  }
}
