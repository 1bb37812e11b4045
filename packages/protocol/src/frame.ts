import { Code, FerryError } from '@ferry/core';
import { FrameTooLargeError } from './frame-too-large-error.js';

/**
 * ttrpc frame codec. A frame is a 10-byte header — u32 BE payload length, u32 BE stream id, u8 message type,
 * u8 flags — followed by the payload (a protobuf `ttrpc.Request`/`ttrpc.Response`, or raw stream data).
 */

/** Size of the frame header in bytes. */
export const HEADER_BYTES = 10;

/** ttrpc message types (the header's type byte). */
export const MessageType = { REQUEST: 1, RESPONSE: 2, DATA: 3 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** ttrpc header flags (a bit set). */
export const FrameFlags = { REMOTE_CLOSED: 0x1, REMOTE_OPEN: 0x2, NO_DATA: 0x4 } as const;

/** ttrpc's default message limit (4 MiB), the default of `maxFrameBytes`. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

const MAX_U32 = 0xffff_ffff;
const MAX_U8 = 0xff;

export interface FrameHeader {
  /** u32; client-initiated streams are odd and increasing. */
  readonly streamId: number;
  /** u8, one of {@link MessageType} for frames Ferry understands. */
  readonly type: number;
  /** u8, a bit set of {@link FrameFlags}. */
  readonly flags: number;
}

export interface Frame extends FrameHeader {
  readonly payload: Uint8Array;
}

export interface FrameCodecOptions {
  /** Largest payload accepted or produced, in bytes; defaults to {@link DEFAULT_MAX_FRAME_BYTES}. */
  readonly maxFrameBytes?: number | undefined;
}

/** Encodes one frame, header and payload, into a new buffer. */
export function encodeFrame(frame: Frame, options: FrameCodecOptions = {}): Uint8Array {
  if (!(frame.payload instanceof Uint8Array)) throw new TypeError('Frame payload must be a Uint8Array');
  const header = encodeFrameHeader(frame.streamId, frame.type, frame.flags, frame.payload.byteLength, options);
  const bytes = new Uint8Array(HEADER_BYTES + frame.payload.byteLength);
  bytes.set(header, 0);
  bytes.set(frame.payload, HEADER_BYTES);
  return bytes;
}

/**
 * Encodes a frame header alone, so that a writer can send header and payload without copying the payload
 * (`socket.cork(); socket.write(header); socket.write(payload); socket.uncork()`). Throws RangeError for a
 * field out of range and {@link FrameTooLargeError} when `payloadLength` exceeds `maxFrameBytes`.
 *
 * The four header fields are positional, in wire order, against the house rule of two: this is the hot
 * path of every call, and the fields are as fixed as the header itself.
 */
export function encodeFrameHeader(
  streamId: number,
  type: number,
  flags: number,
  payloadLength: number,
  options: FrameCodecOptions = {},
): Uint8Array {
  const maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes);
  checkUint('streamId', streamId, MAX_U32);
  checkUint('type', type, MAX_U8);
  checkUint('flags', flags, MAX_U8);
  checkUint('payloadLength', payloadLength, MAX_U32);
  if (payloadLength > maxFrameBytes) throw new FrameTooLargeError(streamId, payloadLength, maxFrameBytes);
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payloadLength);
  view.setUint32(4, streamId);
  view.setUint8(8, type);
  view.setUint8(9, flags);
  return bytes;
}

/** Incremental frame decoder for one byte stream (one connection). */
export interface FrameDecoder {
  /**
   * Feeds bytes and returns the frames they complete, in order (possibly none). Frames of unknown message
   * types are returned as they are; the caller decides.
   *
   * A frame that lies wholly inside `chunk` gets a payload that is a view into `chunk` (no copy); a frame
   * that spans chunks gets a fresh buffer. Until a spanning frame completes the decoder keeps views of the
   * chunks it was given, so a caller must not reuse or modify a chunk after pushing it (Node's socket
   * chunks are never reused).
   *
   * Throws {@link FrameTooLargeError} (RESOURCE_EXHAUSTED, reason `FRAME_TOO_LARGE`, with the stream id) as soon
   * as a header declares a payload larger than `maxFrameBytes`, without buffering that payload; frames
   * completed earlier in the same chunk are lost with the throw, which ends the connection anyway. Once it
   * has thrown, the decoder is poisoned: every later call throws the same error.
   */
  push(chunk: Uint8Array): Frame[];
  /** Bytes held for the incomplete frame, header included. */
  readonly buffered: number;
  /**
   * Declares the end of the stream. Throws DATA_LOSS (reason `TRUNCATED_FRAME`) if a partial frame is
   * pending, and poisons the decoder.
   */
  end(): void;
}

/** Creates a decoder for one byte stream. */
export function createFrameDecoder(options: FrameCodecOptions = {}): FrameDecoder {
  return new Decoder(checkMaxFrameBytes(options.maxFrameBytes));
}

interface PendingHeader {
  readonly length: number;
  readonly streamId: number;
  readonly type: number;
  readonly flags: number;
}

class Decoder implements FrameDecoder {
  readonly #maxFrameBytes: number;
  /** Header bytes of the next frame, gathered when a header spans chunks. */
  readonly #header = new Uint8Array(HEADER_BYTES);
  readonly #headerView = new DataView(this.#header.buffer);
  #headerFill = 0;
  /** The header of the frame whose payload is being gathered. */
  #current: PendingHeader | undefined;
  /** Pieces of the current payload, concatenated once it is complete. */
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  #error: FerryError | undefined;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  get buffered(): number {
    return this.#current === undefined ? this.#headerFill : HEADER_BYTES + this.#partBytes;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.#error) throw this.#error;
    if (!(chunk instanceof Uint8Array)) throw new TypeError('FrameDecoder.push() takes a Uint8Array');
    const frames: Frame[] = [];
    const end = chunk.byteLength;
    let offset = 0;
    for (;;) {
      let current = this.#current;
      if (current === undefined) {
        if (this.#headerFill === 0 && end - offset >= HEADER_BYTES) {
          current = this.#readHeader(new DataView(chunk.buffer, chunk.byteOffset + offset, HEADER_BYTES));
          offset += HEADER_BYTES;
        } else {
          const n = Math.min(HEADER_BYTES - this.#headerFill, end - offset);
          if (n === 0) break;
          this.#header.set(chunk.subarray(offset, offset + n), this.#headerFill);
          this.#headerFill += n;
          offset += n;
          if (this.#headerFill < HEADER_BYTES) break;
          this.#headerFill = 0;
          current = this.#readHeader(this.#headerView);
        }
        this.#current = current;
      }
      const available = end - offset;
      const missing = current.length - this.#partBytes;
      let payload: Uint8Array;
      if (available < missing) {
        // Incomplete: keep a view of the rest of the chunk (possibly empty) until more arrives.
        if (available > 0) {
          this.#parts.push(chunk.subarray(offset));
          this.#partBytes += available;
        }
        break;
      }
      if (this.#partBytes === 0) {
        payload = chunk.subarray(offset, offset + missing);
      } else {
        // Every byte is written below, so the buffer is not zero-filled first (a memset of up to
        // maxFrameBytes per frame); a plain Uint8Array over a buffer of its own, as the views above are.
        const buffer = Buffer.allocUnsafeSlow(current.length);
        payload = new Uint8Array(buffer.buffer, buffer.byteOffset, current.length);
        let at = 0;
        for (const part of this.#parts) {
          payload.set(part, at);
          at += part.byteLength;
        }
        payload.set(chunk.subarray(offset, offset + missing), at);
        this.#parts = [];
        this.#partBytes = 0;
      }
      offset += missing;
      this.#current = undefined;
      frames.push({ streamId: current.streamId, type: current.type, flags: current.flags, payload });
    }
    return frames;
  }

  end(): void {
    if (this.#error) throw this.#error;
    const buffered = this.buffered;
    if (buffered === 0) return;
    const expected = this.#current === undefined ? 'a frame header' : `${HEADER_BYTES + this.#current.length} bytes`;
    this.#poison(
      new FerryError(Code.DATA_LOSS, `Stream ended inside a frame: got ${buffered} bytes of ${expected}`, {
        reason: 'TRUNCATED_FRAME',
      }),
    );
  }

  #readHeader(view: DataView): PendingHeader {
    const length = view.getUint32(0);
    const streamId = view.getUint32(4);
    if (length > this.#maxFrameBytes) this.#poison(new FrameTooLargeError(streamId, length, this.#maxFrameBytes));
    return { length, streamId, type: view.getUint8(8), flags: view.getUint8(9) };
  }

  #poison(error: FerryError): never {
    this.#error = error;
    this.#current = undefined;
    this.#headerFill = 0;
    this.#parts = [];
    this.#partBytes = 0;
    throw error;
  }
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Frame ${name} must be an integer from 0 to ${max}, got ${value}`);
  }
}

function checkMaxFrameBytes(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
    throw new RangeError(`maxFrameBytes must be an integer from 0 to ${MAX_U32}, got ${value}`);
  }
  return value;
}
