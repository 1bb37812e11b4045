import type { Writable } from 'node:stream';
import { encodeFrame, encodeFrameHeader, type Frame, type FrameCodecOptions } from './frame.js';

/** Below this payload size one copied buffer is cheaper than a two-buffer writev. */
const COPY_BELOW_BYTES = 16 * 1024;

/**
 * Writes one frame to a stream: small frames as one buffer, large ones as header + payload without
 * copying the payload. The stream is the caller's; this only formats and writes (no other I/O).
 */
export function writeFrame(stream: Writable, frame: Frame, options: FrameCodecOptions = {}): boolean {
  if (frame.payload.byteLength < COPY_BELOW_BYTES) return stream.write(encodeFrame(frame, options));
  stream.cork();
  stream.write(encodeFrameHeader(frame.streamId, frame.type, frame.flags, frame.payload.byteLength, options));
  const ok = stream.write(frame.payload);
  stream.uncork();
  return ok;
}
