import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, FerryError } from '@ferry/core';
import fc from 'fast-check';
import {
  createFrameDecoder,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  encodeFrameHeader,
  type Frame,
  FrameFlags,
  HEADER_BYTES,
  MessageType,
} from './frame.js';
import { FrameTooLargeError } from './frame-too-large-error.js';

const frameArb = fc.record({
  streamId: fc.integer({ min: 0, max: 0xffff_ffff }),
  type: fc.integer({ min: 0, max: 0xff }),
  flags: fc.integer({ min: 0, max: 0xff }),
  payload: fc.uint8Array({ maxLength: 64 }),
});

/** A frame in a form whose comparison prints well. */
function plain(frame: Frame): [number, number, number, string] {
  return [frame.streamId, frame.type, frame.flags, Buffer.from(frame.payload).toString('hex')];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Splits bytes at the given cut points (any integers; reduced modulo the length). */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.byteLength === 0 ? 0 : c % bytes.byteLength)))]
    .filter((p) => p > 0)
    .sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.byteLength]) {
    chunks.push(bytes.slice(start, point));
    start = point;
  }
  return chunks;
}

function decodeChunks(chunks: readonly Uint8Array[], maxFrameBytes?: number): Frame[] {
  const decoder = createFrameDecoder({ maxFrameBytes });
  const frames = chunks.flatMap((chunk) => decoder.push(chunk));
  decoder.end();
  assert.equal(decoder.buffered, 0);
  return frames;
}

function assertFerryError(error: unknown, code: number, reason: string): true {
  assert.ok(error instanceof FerryError, `expected a FerryError, got ${String(error)}`);
  assert.equal(error.code, code);
  assert.equal(error.reason, reason);
  return true;
}

describe('encodeFrame()', () => {
  it('writes the header as u32 BE length, u32 BE stream id, u8 type, u8 flags, then the payload', () => {
    const bytes = encodeFrame({
      streamId: 0x0102_0304,
      type: MessageType.RESPONSE,
      flags: FrameFlags.REMOTE_CLOSED | FrameFlags.NO_DATA,
      payload: new Uint8Array([0xaa, 0xbb, 0xcc]),
    });
    assert.deepEqual([...bytes], [0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04, 0x02, 0x05, 0xaa, 0xbb, 0xcc]);
  });

  it('writes large lengths and stream ids big-endian and unsigned', () => {
    const header = encodeFrameHeader(0xfffe_fdfc, 0xff, 0x80, 0x8000_0001, { maxFrameBytes: 0xffff_ffff });
    assert.deepEqual([...header], [0x80, 0x00, 0x00, 0x01, 0xff, 0xfe, 0xfd, 0xfc, 0xff, 0x80]);
  });

  it('encodes an empty payload as a bare header', () => {
    const bytes = encodeFrame({ streamId: 1, type: MessageType.REQUEST, flags: 0, payload: new Uint8Array(0) });
    assert.deepEqual([...bytes], [0, 0, 0, 0, 0, 0, 0, 1, 1, 0]);
  });

  it('uses ttrpc numbering for message types and flags', () => {
    assert.equal(HEADER_BYTES, 10);
    assert.equal(DEFAULT_MAX_FRAME_BYTES, 4 << 20);
    assert.deepEqual({ ...MessageType }, { REQUEST: 1, RESPONSE: 2, DATA: 3 });
    assert.deepEqual({ ...FrameFlags }, { REMOTE_CLOSED: 1, REMOTE_OPEN: 2, NO_DATA: 4 });
  });

  it('throws RangeError for a stream id, type or flags out of range', () => {
    const payload = new Uint8Array(0);
    for (const streamId of [-1, 0x1_0000_0000, 1.5, Number.NaN]) {
      assert.throws(() => encodeFrame({ streamId, type: 1, flags: 0, payload }), RangeError);
    }
    for (const type of [-1, 256, 2.5]) {
      assert.throws(() => encodeFrame({ streamId: 1, type, flags: 0, payload }), RangeError);
    }
    for (const flags of [-1, 256]) {
      assert.throws(() => encodeFrame({ streamId: 1, type: 1, flags, payload }), RangeError);
    }
    assert.throws(() => encodeFrameHeader(1, 1, 0, -1), RangeError);
  });

  it('throws RESOURCE_EXHAUSTED FRAME_TOO_LARGE with the stream id when the payload exceeds maxFrameBytes', () => {
    const frame = { streamId: 7, type: 1, flags: 0, payload: new Uint8Array(5) };
    assert.equal(encodeFrame(frame, { maxFrameBytes: 5 }).byteLength, 15);
    assert.throws(
      () => encodeFrame(frame, { maxFrameBytes: 4 }),
      (error) =>
        assertFerryError(error, Code.RESOURCE_EXHAUSTED, 'FRAME_TOO_LARGE') &&
        error instanceof FrameTooLargeError &&
        error.streamId === 7 &&
        error.length === 5 &&
        error.maxFrameBytes === 4,
    );
    assert.throws(
      () => encodeFrameHeader(9, 1, 0, DEFAULT_MAX_FRAME_BYTES + 1),
      (error) => error instanceof FrameTooLargeError && error.streamId === 9,
    );
  });
});

describe('createFrameDecoder()', () => {
  it('decodes a hand-written byte vector', () => {
    const bytes = new Uint8Array([
      ...[0, 0, 0, 2, 0, 0, 0, 1, 1, 0, 0x08, 0x01],
      ...[0, 0, 0, 0, 0, 0, 0, 3, 3, 0x05],
      ...[0, 0, 0, 1, 0x80, 0, 0, 0, 0xc8, 0xff, 0x7f],
    ]);
    assert.deepEqual(createFrameDecoder().push(bytes).map(plain), [
      [1, MessageType.REQUEST, 0, '0801'],
      [3, MessageType.DATA, FrameFlags.REMOTE_CLOSED | FrameFlags.NO_DATA, ''],
      [0x8000_0000, 200, 0xff, '7f'],
    ]);
  });

  it('round-trips any sequence of frames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), (frames) => {
        const bytes = concat(frames.map((f) => encodeFrame(f)));
        assert.deepEqual(decodeChunks([bytes]).map(plain), frames.map(plain));
      }),
    );
  });

  it('yields the same frames however the bytes are chunked', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const bytes = concat(frames.map((f) => encodeFrame(f)));
        assert.deepEqual(decodeChunks(split(bytes, cuts)).map(plain), frames.map(plain));
      }),
    );
  });

  it('decodes one byte at a time', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), (frames) => {
        const bytes = concat(frames.map((f) => encodeFrame(f)));
        const chunks = [...bytes].map((b) => new Uint8Array([b]));
        const decoder = createFrameDecoder();
        const decoded: Frame[] = [];
        for (const chunk of chunks) {
          decoded.push(...decoder.push(chunk));
          assert.ok(decoder.buffered < HEADER_BYTES + 64);
        }
        decoder.end();
        assert.deepEqual(decoded.map(plain), frames.map(plain));
      }),
    );
  });

  it('returns zero-copy views for frames wholly inside a chunk and copies for frames that span chunks', () => {
    const a = encodeFrame({ streamId: 1, type: 1, flags: 0, payload: new Uint8Array([1, 2, 3]) });
    const b = encodeFrame({ streamId: 3, type: 1, flags: 0, payload: new Uint8Array([4, 5, 6]) });
    const bytes = concat([a, b]);
    const decoder = createFrameDecoder();
    const first = decoder.push(bytes.subarray(0, a.byteLength + 11));
    assert.equal(first.length, 1);
    assert.equal(first[0]?.payload.buffer, bytes.buffer);
    assert.equal(first[0]?.payload.byteOffset, HEADER_BYTES);
    assert.equal(decoder.buffered, 11);
    const second = decoder.push(bytes.slice(a.byteLength + 11));
    assert.equal(second.length, 1);
    assert.notEqual(second[0]?.payload.buffer, bytes.buffer);
    assert.deepEqual([...(second[0]?.payload ?? [])], [4, 5, 6]);
    assert.equal(decoder.buffered, 0);
  });

  it('reports the bytes held for an incomplete frame, header included', () => {
    const decoder = createFrameDecoder();
    const bytes = encodeFrame({ streamId: 1, type: 1, flags: 0, payload: new Uint8Array(20) });
    assert.deepEqual(decoder.push(bytes.subarray(0, 4)), []);
    assert.equal(decoder.buffered, 4);
    assert.deepEqual(decoder.push(bytes.subarray(4, 15)), []);
    assert.equal(decoder.buffered, 15);
    assert.equal(decoder.push(bytes.subarray(15)).length, 1);
    assert.equal(decoder.buffered, 0);
  });

  it('returns frames of unknown message types as they are', () => {
    const frame = { streamId: 5, type: 0x42, flags: 0x10, payload: new Uint8Array([9]) };
    assert.deepEqual(createFrameDecoder().push(encodeFrame(frame)).map(plain), [plain(frame)]);
  });

  it('accepts a payload of exactly maxFrameBytes', () => {
    const frame = { streamId: 1, type: 2, flags: 0, payload: new Uint8Array(16).fill(7) };
    assert.deepEqual(decodeChunks([encodeFrame(frame)], 16).map(plain), [plain(frame)]);
  });

  it('rejects a payload of maxFrameBytes + 1', () => {
    const bytes = encodeFrame({ streamId: 11, type: 2, flags: 0, payload: new Uint8Array(17) });
    assert.throws(
      () => createFrameDecoder({ maxFrameBytes: 16 }).push(bytes),
      (error) => error instanceof FrameTooLargeError && error.streamId === 11 && error.length === 17,
    );
  });

  it('throws DATA_LOSS TRUNCATED_FRAME at end() after any prefix that ends inside a frame', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, cut, cuts) => {
          const encoded = frames.map((f) => encodeFrame(f));
          const bytes = concat(encoded);
          const length = cut % bytes.byteLength; // a strict prefix
          const boundaries: number[] = [0];
          for (const e of encoded) boundaries.push((boundaries.at(-1) ?? 0) + e.byteLength);
          const complete = boundaries.filter((b) => b <= length).length - 1;

          const decoder = createFrameDecoder();
          const decoded = split(bytes.subarray(0, length), cuts).flatMap((chunk) => decoder.push(chunk));
          assert.deepEqual(decoded.map(plain), frames.slice(0, complete).map(plain));
          if (boundaries.includes(length)) {
            assert.equal(decoder.buffered, 0);
            decoder.end();
          } else {
            assert.equal(decoder.buffered, length - (boundaries[complete] ?? 0));
            assert.throws(
              () => decoder.end(),
              (error) => assertFerryError(error, Code.DATA_LOSS, 'TRUNCATED_FRAME'),
            );
            assert.throws(() => decoder.push(new Uint8Array(1)), { reason: 'TRUNCATED_FRAME' });
          }
        },
      ),
    );
  });

  it('throws RESOURCE_EXHAUSTED FRAME_TOO_LARGE as soon as a header claims 0xFFFFFFFF bytes', () => {
    const decoder = createFrameDecoder({ maxFrameBytes: 1 << 20 });
    const header = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x2b, 0x01, 0x00]);
    for (let i = 0; i < HEADER_BYTES - 1; i++) {
      assert.deepEqual(decoder.push(header.subarray(i, i + 1)), []);
      assert.equal(decoder.buffered, i + 1);
    }
    let thrown: unknown;
    assert.throws(
      () => decoder.push(header.subarray(HEADER_BYTES - 1)),
      (error) => {
        thrown = error;
        return (
          assertFerryError(error, Code.RESOURCE_EXHAUSTED, 'FRAME_TOO_LARGE') &&
          error instanceof FrameTooLargeError &&
          error.streamId === 43 &&
          error.length === 0xffff_ffff &&
          error.maxFrameBytes === 1 << 20
        );
      },
    );
    assert.ok(decoder.buffered <= HEADER_BYTES);
    // Poisoned: every later call throws the same error.
    assert.throws(
      () => decoder.push(new Uint8Array(0)),
      (error) => error === thrown,
    );
    assert.throws(
      () => decoder.end(),
      (error) => error === thrown,
    );
  });

  it('throws FRAME_TOO_LARGE with the stream id for any oversized header, after the frames before it', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 5 }),
        fc.integer({ min: 64, max: 1 << 20 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 1, max: 0xffff_ffff }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, maxFrameBytes, streamId, excess, cuts) => {
          const length = Math.min(maxFrameBytes + excess, 0xffff_ffff);
          const good = concat(frames.map((f) => encodeFrame(f)));
          const bad = encodeFrameHeader(streamId, MessageType.REQUEST, 0, length, { maxFrameBytes: length });
          const decoder = createFrameDecoder({ maxFrameBytes });
          const decoded = split(good, cuts).flatMap((chunk) => decoder.push(chunk));
          assert.deepEqual(decoded.map(plain), frames.map(plain));
          // The header, then some of the claimed payload, in one chunk: the throw comes before any buffering.
          const chunk = concat([bad, new Uint8Array(32)]);
          assert.throws(
            () => decoder.push(chunk),
            (error) => error instanceof FrameTooLargeError && error.streamId === streamId && error.length === length,
          );
          assert.ok(decoder.buffered <= HEADER_BYTES);
        },
      ),
    );
  });

  it('ends cleanly when nothing is pending', () => {
    const decoder = createFrameDecoder();
    decoder.end();
    assert.deepEqual(decoder.push(new Uint8Array(0)), []);
    decoder.end();
  });

  it('throws RangeError for an invalid maxFrameBytes and TypeError for a non-byte chunk', () => {
    assert.throws(() => createFrameDecoder({ maxFrameBytes: -1 }), RangeError);
    assert.throws(() => createFrameDecoder({ maxFrameBytes: 1.5 }), RangeError);
    assert.throws(() => createFrameDecoder().push('abc' as unknown as Uint8Array), TypeError);
  });
});
