import { Code, FerryError } from '@ferry/core';

/**
 * A frame whose payload exceeds `maxFrameBytes` (RESOURCE_EXHAUSTED, reason `FRAME_TOO_LARGE`). It carries the
 * offending stream id so that a receiver can answer that stream with RESOURCE_EXHAUSTED before it closes the
 * connection. Match on `reason === 'FRAME_TOO_LARGE'` and read `streamId`, rather than on `instanceof`.
 */
export class FrameTooLargeError extends FerryError {
  /** The stream id from the frame header. */
  readonly streamId: number;
  /** The payload length the frame declared (or tried to send). */
  readonly length: number;
  /** The limit it exceeded. */
  readonly maxFrameBytes: number;

  constructor(streamId: number, length: number, maxFrameBytes: number) {
    super(
      Code.RESOURCE_EXHAUSTED,
      `Frame of ${length} bytes on stream ${streamId} exceeds the limit of ${maxFrameBytes} bytes`,
      { reason: 'FRAME_TOO_LARGE' },
    );
    this.streamId = streamId;
    this.length = length;
    this.maxFrameBytes = maxFrameBytes;
  }
}
