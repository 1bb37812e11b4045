import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import {
  delimitedSize,
  int32Size,
  int64Size,
  packedInt64Size,
  uint32Size,
  uint64Size,
  utf8Size,
  writeBytesField,
  writeFloat32,
  writeInt32,
  writeInt64,
  writePackedInt64,
  writeStringField,
  writeUint64,
  writeVarint,
} from './sized-writer.js';
import { anyBytes, anyString, int32, int64, uint32 } from './testing/wire-arbitraries.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Writes with `write` into a buffer of exactly `size` bytes, checking the returned end. */
function sized(size: number, write: (buf: Uint8Array) => number, buffer = false): string {
  const buf = buffer ? Buffer.alloc(size) : new Uint8Array(size);
  assert.equal(write(buf), size, 'the write functions end where the size functions said');
  return hex(buf);
}

describe('sized-writer', () => {
  it('writes uint32 varints as protobuf-es does', () => {
    fc.assert(
      fc.property(uint32, (v) => {
        assert.equal(
          sized(uint32Size(v), (b) => writeVarint(b, 0, v)),
          hex(new BinaryWriter().uint32(v).finish()),
        );
      }),
    );
  });

  it('writes int32 varints, negatives as 10 bytes, as protobuf-es does', () => {
    fc.assert(
      fc.property(int32, (v) => {
        const expected = hex(new BinaryWriter().int32(v).finish());
        assert.equal(
          sized(int32Size(v), (b) => writeInt32(b, 0, v)),
          expected,
        );
        if (v < 0) assert.equal(expected.length, 20);
      }),
    );
  });

  it('writes int64 varints from bigints and numbers as protobuf-es does', () => {
    fc.assert(
      fc.property(int64, (v) => {
        const expected = hex(new BinaryWriter().int64(v).finish());
        assert.equal(
          sized(int64Size(v), (b) => writeInt64(b, 0, v)),
          expected,
        );
        if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) {
          const n = Number(v);
          assert.equal(
            sized(int64Size(n), (b) => writeInt64(b, 0, n)),
            expected,
          );
        }
      }),
    );
  });

  it('writes uint64 varints as protobuf-es does', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => {
        assert.equal(
          sized(uint64Size(v), (b) => writeUint64(b, 0, v)),
          hex(new BinaryWriter().uint64(v).finish()),
        );
      }),
    );
  });

  it('writes strings as protobuf-es does, into a Buffer or a plain Uint8Array', () => {
    fc.assert(
      fc.property(anyString, fc.boolean(), (s, buffer) => {
        const n = utf8Size(s);
        const expected = hex(new BinaryWriter().tag(1, 2).string(s).finish());
        assert.equal(
          sized(delimitedSize(n), (b) => writeStringField(b, 0, 0x0a, s, n), buffer),
          expected,
        );
      }),
    );
  });

  it('writes bytes as protobuf-es does', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        assert.equal(
          sized(delimitedSize(bytes.byteLength), (b) => writeBytesField(b, 0, 0x1a, bytes)),
          hex(new BinaryWriter().tag(3, 2).bytes(bytes).finish()),
        );
      }),
      { numRuns: 50 },
    );
  });

  it('writes floats (fixed32) as protobuf-es does', () => {
    const float = fc.oneof(
      fc.float(),
      fc.double({ min: -3.4e38, max: 3.4e38 }),
      fc.constantFrom(Number.NaN, -0, Number.POSITIVE_INFINITY),
    );
    fc.assert(
      fc.property(float, (v) => {
        assert.equal(
          sized(4, (b) => writeFloat32(b, 0, v)),
          hex(new BinaryWriter().float(v).finish()),
        );
      }),
    );
  });

  it('writes packed repeated int64 as protobuf-es does', () => {
    fc.assert(
      fc.property(fc.array(int64, { minLength: 1, maxLength: 8 }), (values) => {
        const expected = new BinaryWriter().tag(2, 2).fork();
        for (const v of values) expected.int64(v);
        const length = packedInt64Size(values);
        const actual = sized(delimitedSize(length), (b) => {
          b[0] = 0x12;
          const pos = writeVarint(b, 1, length);
          return writePackedInt64(b, pos, values);
        });
        assert.equal(actual, hex(expected.join().finish()));
      }),
    );
  });

  it('writes varints of numbers up to 2^53-1', () => {
    for (const v of [2 ** 32, 2 ** 35 - 1, 2 ** 35, 2 ** 49, Number.MAX_SAFE_INTEGER]) {
      assert.equal(
        sized(int64Size(v), (b) => writeVarint(b, 0, v)),
        hex(new BinaryWriter().uint64(v).finish()),
      );
    }
  });

  it('throws RangeError for values out of their type, as protobuf-es refuses them', () => {
    assert.throws(() => uint32Size(-1), RangeError);
    assert.throws(() => uint32Size(2 ** 32), RangeError);
    assert.throws(() => uint32Size(1.5), RangeError);
    assert.throws(() => int32Size(2 ** 31), RangeError);
    assert.throws(() => int64Size(2n ** 63n), RangeError);
    assert.throws(() => int64Size(-(2n ** 63n) - 1n), RangeError);
    assert.throws(() => int64Size(0.5), RangeError);
    assert.throws(() => uint64Size(-1n), RangeError);
    assert.throws(() => writeFloat32(new Uint8Array(4), 0, 1e39), RangeError);
  });
});
