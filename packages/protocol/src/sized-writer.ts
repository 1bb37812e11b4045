/**
 * Primitives of a two-pass protobuf encoder: size functions that give the exact encoded length of a value,
 * and write functions that put it at `pos` in a buffer the caller allocated once at the total size, each
 * returning the position after what it wrote. No growth, no intermediate buffers, no copies beyond the
 * final one. The output is byte-identical to protobuf-es's BinaryWriter (which protobuf-es `toBinary` uses).
 *
 * Tags of fields 1–15 are one byte; callers write them as constants. Values are checked as protobuf-es
 * checks them (RangeError where it throws a plain Error), so that a fast encoder never emits bytes the
 * generic one would refuse.
 */

import { Gather } from './gather.js';

/** The widest UTF-16 string that is still worth copying by hand when it turns out to be ASCII. */
const ASCII_LOOP_MAX = 64;
const MAX_UINT32 = 0xffff_ffff;
const MIN_INT32 = -0x8000_0000;
const MAX_INT32 = 0x7fff_ffff;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_UINT64 = 2n ** 64n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const textEncoder = new TextEncoder();
const floatScratch = new DataView(new ArrayBuffer(4));

/** Length of an unsigned varint holding `value`, an integer from 0 to 2^53-1. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  if (value < 2 ** 35) return 5;
  if (value < 2 ** 42) return 6;
  if (value < 2 ** 49) return 7;
  return 8;
}

/** Length of a length-delimited field with a one-byte tag: tag, length prefix, `length` bytes. */
export function delimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Length of a `uint32` varint; RangeError outside 0..2^32-1. */
export function uint32Size(value: number): number {
  checkUint32(value);
  return varintSize(value);
}

/** Length of an `int32` (or enum) varint: a negative value is sign-extended to 10 bytes. */
export function int32Size(value: number): number {
  if (!Number.isInteger(value) || value < MIN_INT32 || value > MAX_INT32) {
    throw new RangeError(`Expected an int32, got ${value}`);
  }
  return value < 0 ? 10 : varintSize(value);
}

/** Length of an `int64` varint given as a bigint or a number; negative values take 10 bytes. */
export function int64Size(value: bigint | number): number {
  if (typeof value === 'number') {
    if (value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value)) return varintSize(value);
  } else if (value >= 0n && value <= MAX_SAFE) {
    return varintSize(Number(value));
  }
  return bigVarintSize(BigInt.asUintN(64, toInt64(value)));
}

/** Length of a `uint64` varint. */
export function uint64Size(value: bigint): number {
  return bigVarintSize(toUint64(value));
}

/** UTF-8 length of `value`; a lone surrogate counts as U+FFFD (3 bytes), as TextEncoder encodes it. */
export function utf8Size(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** Writes an unsigned varint, `value` an integer from 0 to 2^53-1. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let v = value;
  while (v > MAX_UINT32) {
    // `& 0x7f` reads the low bits of the int32 conversion, which keeps them: 2^32 is a multiple of 128.
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes an `int32` varint (negative: 10 bytes). The value must have passed {@link int32Size}. */
export function writeInt32(buf: Uint8Array, pos: number, value: number): number {
  if (value >= 0) return writeVarint(buf, pos, value);
  let v = value;
  for (let i = 0; i < 9; i++) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>= 7;
  }
  buf[pos++] = 1;
  return pos;
}

/** Writes an `int64` varint. The value must have passed {@link int64Size}. */
export function writeInt64(buf: Uint8Array, pos: number, value: bigint | number): number {
  if (typeof value === 'number') {
    if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) return writeVarint(buf, pos, value);
  } else if (value >= 0n && value <= MAX_SAFE) {
    return writeVarint(buf, pos, Number(value));
  }
  return writeBigVarint(buf, pos, BigInt.asUintN(64, BigInt(value)));
}

/** Writes a `uint64` varint. The value must have passed {@link uint64Size}. */
export function writeUint64(buf: Uint8Array, pos: number, value: bigint): number {
  return writeBigVarint(buf, pos, value);
}

/**
 * Writes the UTF-8 bytes of `value`, whose length the caller got from {@link utf8Size} (no length prefix).
 * Short ASCII is copied by hand; the rest goes through `Buffer#write` when `buf` is a Buffer (faster than
 * `TextEncoder#encodeInto`, which needs a subarray), else through `encodeInto`.
 */
export function writeUtf8(buf: Uint8Array, pos: number, value: string, byteLength: number): number {
  const length = value.length;
  if (byteLength === length && length <= ASCII_LOOP_MAX) {
    // As many bytes as UTF-16 units: every unit is ASCII.
    for (let i = 0; i < length; i++) buf[pos + i] = value.charCodeAt(i);
  } else if (Buffer.isBuffer(buf)) {
    buf.write(value, pos, byteLength, 'utf8');
  } else {
    textEncoder.encodeInto(value, buf.subarray(pos, pos + byteLength));
  }
  return pos + byteLength;
}

/** Writes a length-delimited string field with a one-byte tag; `byteLength` from {@link utf8Size}. */
export function writeStringField(buf: Uint8Array, pos: number, tag: number, value: string, byteLength: number): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, byteLength);
  return writeUtf8(buf, pos, value, byteLength);
}

/**
 * Writes a length-delimited bytes field with a one-byte tag. With `gather`, a value that {@link Gather.wants}
 * is handed to it rather than copied: only the tag and length are written.
 */
export function writeBytesField(buf: Uint8Array, pos: number, tag: number, value: Uint8Array, gather?: Gather): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, value.byteLength);
  if (gather !== undefined && Gather.wants(value)) {
    gather.cut(pos, value);
    return pos;
  }
  buf.set(value, pos);
  return pos + value.byteLength;
}

/** Writes a `float` (fixed32, little-endian). protobuf-es refuses finite values outside float32's range. */
export function writeFloat32(buf: Uint8Array, pos: number, value: number): number {
  if (Number.isFinite(value) && (value > 3.4028234663852886e38 || value < -3.4028234663852886e38)) {
    throw new RangeError(`Expected a float32, got ${value}`);
  }
  floatScratch.setFloat32(0, value, true);
  buf[pos] = floatScratch.getUint8(0);
  buf[pos + 1] = floatScratch.getUint8(1);
  buf[pos + 2] = floatScratch.getUint8(2);
  buf[pos + 3] = floatScratch.getUint8(3);
  return pos + 4;
}

/** Payload length of a packed repeated `int64` (without tag and length prefix). */
export function packedInt64Size(values: ArrayLike<bigint | number>): number {
  let size = 0;
  for (let i = 0; i < values.length; i++) size += int64Size(values[i] as bigint | number);
  return size;
}

/** Writes the payload of a packed repeated `int64`; the values must have passed {@link packedInt64Size}. */
export function writePackedInt64(buf: Uint8Array, pos: number, values: ArrayLike<bigint | number>): number {
  for (let i = 0; i < values.length; i++) pos = writeInt64(buf, pos, values[i] as bigint | number);
  return pos;
}

/** RangeError unless `value` is an integer from 0 to 2^32-1. */
export function checkUint32(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) {
    throw new RangeError(`Expected a uint32, got ${value}`);
  }
}

function toInt64(value: bigint | number): bigint {
  if (typeof value === 'number' && !Number.isInteger(value)) throw new RangeError(`Expected an int64, got ${value}`);
  const big = BigInt(value);
  if (big < MIN_INT64 || big > MAX_INT64) throw new RangeError(`Expected an int64, got ${big}`);
  return big;
}

function toUint64(value: bigint): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_UINT64) {
    throw new RangeError(`Expected a uint64, got ${String(value)}`);
  }
  return value;
}

function bigVarintSize(value: bigint): number {
  if (value <= MAX_SAFE) return varintSize(Number(value));
  let size = 1;
  for (let v = value >> 7n; v > 0n; v >>= 7n) size++;
  return size;
}

function writeBigVarint(buf: Uint8Array, pos: number, value: bigint): number {
  if (value <= MAX_SAFE) return writeVarint(buf, pos, Number(value));
  let v = value;
  while (v > 0x7fn) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}
