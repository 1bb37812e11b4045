/**
 * A protobuf wire-format writer and reader written from the encoding spec alone (varints, zigzag-free
 * two's-complement int64, length-delimited fields), independent of protobuf-es and of Ferry's generated
 * code: tests that build requests from field numbers with it cannot pass by a wrong schema agreeing with
 * itself.
 */

export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

function varint(value: bigint): number[] {
  // int64/uint64 travel as the unsigned 64-bit two's complement: negatives take ten bytes.
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

function key(field: number, wireType: number): number[] {
  return varint(BigInt((field << 3) | wireType));
}

/** A varint field (int32, int64, uint32, uint64, bool, enum). Zero values are written too. */
export function varintField(field: number, value: number | bigint): Uint8Array {
  return Uint8Array.from([...key(field, WireType.VARINT), ...varint(BigInt(value))]);
}

/** A length-delimited field: bytes, a string (UTF-8), or an embedded message's encoding. */
export function bytesField(field: number, value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  const head = Uint8Array.from([...key(field, WireType.LEN), ...varint(BigInt(bytes.byteLength))]);
  return concat(head, bytes);
}

/** A message: its fields, in order. */
export function message(...fields: readonly Uint8Array[]): Uint8Array {
  return concat(...fields);
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.byteLength;
  }
  return out;
}

export interface WireField {
  readonly field: number;
  readonly wireType: number;
  /** Varint fields. */
  readonly varint?: bigint;
  /** Length-delimited fields (a view into the message). */
  readonly bytes?: Uint8Array;
}

/** Reads every field of a message, in order; throws on a truncated or malformed message. */
export function readMessage(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= bytes.byteLength || shift > 63n) throw new Error('malformed varint');
      const byte = bytes[pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (pos < bytes.byteLength) {
    const k = Number(readVarint());
    const field = k >>> 3;
    const wireType = k & 7;
    if (wireType === WireType.VARINT) fields.push({ field, wireType, varint: readVarint() });
    else if (wireType === WireType.LEN) {
      const length = Number(readVarint());
      if (pos + length > bytes.byteLength) throw new Error('truncated field');
      fields.push({ field, wireType, bytes: bytes.subarray(pos, pos + length) });
      pos += length;
    } else if (wireType === WireType.I64) {
      fields.push({ field, wireType, bytes: bytes.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wireType === WireType.I32) {
      fields.push({ field, wireType, bytes: bytes.subarray(pos, pos + 4) });
      pos += 4;
    } else throw new Error(`unsupported wire type ${wireType}`);
  }
  return fields;
}

/** The last varint of `field` (proto3: absent means 0), as a signed 64-bit value. */
export function varintOf(fields: readonly WireField[], field: number): bigint {
  const last = fields.filter((f) => f.field === field && f.varint !== undefined).at(-1);
  return last?.varint === undefined ? 0n : BigInt.asIntN(64, last.varint);
}

/** The last length-delimited value of `field` (absent: empty). */
export function bytesOf(fields: readonly WireField[], field: number): Uint8Array {
  return fields.filter((f) => f.field === field && f.bytes !== undefined).at(-1)?.bytes ?? new Uint8Array(0);
}

/** Every length-delimited value of a repeated `field`. */
export function allBytesOf(fields: readonly WireField[], field: number): Uint8Array[] {
  return fields.filter((f) => f.field === field && f.bytes !== undefined).map((f) => f.bytes as Uint8Array);
}

export function stringOf(fields: readonly WireField[], field: number): string {
  return new TextDecoder().decode(bytesOf(fields, field));
}

/** The values of a repeated varint `field`, packed (proto3's default) or not. */
export function varintsOf(fields: readonly WireField[], field: number): bigint[] {
  const out: bigint[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.varint !== undefined) out.push(f.varint);
    else if (f.bytes !== undefined) {
      let pos = 0;
      const bytes = f.bytes;
      while (pos < bytes.byteLength) {
        let value = 0n;
        for (let shift = 0n; ; shift += 7n) {
          const byte = bytes[pos++];
          if (byte === undefined) throw new Error('truncated packed varint');
          value |= BigInt(byte & 0x7f) << shift;
          if ((byte & 0x80) === 0) break;
        }
        out.push(value);
      }
    }
  }
  return out;
}
