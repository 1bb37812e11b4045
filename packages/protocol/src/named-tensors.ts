import type { MessageInitShape } from '@bufbuild/protobuf';
import type { TensorMap } from '@ferry/core';
import { Gather } from './gather.js';
import { DataType, type NamedTensorSchema } from './gen/ferry/v1/accelerator_pb.js';
import {
  delimitedSize,
  int32Size,
  packedInt64Size,
  utf8Size,
  writeBytesField,
  writeInt32,
  writePackedInt64,
  writeStringField,
  writeVarint,
} from './sized-writer.js';
import { dtypeToWire } from './tensor-codec.js';

/**
 * Sizing and writing of `repeated ferry.v1.NamedTensor` (`NamedTensor{name = 1, tensor = 2 Tensor{dtype = 1,
 * shape = 2 packed int64, data = 3 bytes, strings = 4 repeated string}}`), shared by the InferRequest and
 * InferResponse encoders. Internal to the package.
 */

const NAME_TAG = 0x0a;
const TENSOR_TAG = 0x12;
const DTYPE_TAG = 0x08;
const SHAPE_TAG = 0x12;
const DATA_TAG = 0x1a;
const STRINGS_TAG = 0x22;

const EMPTY_BYTES = new Uint8Array(0);
const NO_STRINGS: readonly string[] = [];
const NO_SIZES: readonly number[] = [];
const NO_DIMS: readonly bigint[] = [];

/** One NamedTensor, measured. */
export interface NamedTensorEntry {
  readonly name: string;
  readonly nameBytes: number;
  /** Whether the `tensor` field is set (always, for core tensors). */
  readonly present: boolean;
  readonly dtype: number;
  readonly shape: ArrayLike<bigint | number>;
  readonly shapeBytes: number;
  readonly data: Uint8Array;
  readonly strings: readonly string[];
  readonly stringBytes: readonly number[];
  /** Length of the Tensor message. */
  readonly tensorBytes: number;
  /** Length of the NamedTensor message. */
  readonly entryBytes: number;
}

type NamedTensorInit = MessageInitShape<typeof NamedTensorSchema>;

/** Core tensors, in the order `tensorMapToWire` gives them. TypeError for an unknown dtype or data. */
export function entriesFromTensorMap(tensors: TensorMap): NamedTensorEntry[] {
  if (typeof tensors !== 'object' || tensors === null) throw new TypeError('Tensors must be an object of tensors');
  const entries: NamedTensorEntry[] = [];
  for (const name of Object.keys(tensors)) {
    const tensor = tensors[name];
    if (typeof tensor !== 'object' || tensor === null) throw new TypeError(`Tensor "${name}" must be an object`);
    const dtype = dtypeToWire(tensor.dtype) as number | undefined;
    if (dtype === undefined) throw new TypeError(`Tensor "${name}" has unknown dtype "${String(tensor.dtype)}"`);
    if (!Array.isArray(tensor.shape)) throw new TypeError(`Tensor "${name}" shape must be an array`);
    if (tensor.dtype === 'string') {
      if (!Array.isArray(tensor.data)) throw new TypeError(`String tensor "${name}" data must be an array of strings`);
      entries.push(measure(name, true, dtype, tensor.shape, EMPTY_BYTES, tensor.data));
    } else {
      if (!(tensor.data instanceof Uint8Array)) throw new TypeError(`Tensor "${name}" data must be a Uint8Array`);
      entries.push(measure(name, true, dtype, tensor.shape, tensor.data, NO_STRINGS));
    }
  }
  return entries;
}

/**
 * protobuf-es NamedTensor messages or init objects. Undefined when one carries unknown fields, which only
 * protobuf-es writes back (the caller falls back to it).
 */
export function entriesFromWire(list: readonly NamedTensorInit[] | undefined): NamedTensorEntry[] | undefined {
  if (list === undefined) return [];
  const entries: NamedTensorEntry[] = [];
  for (const item of list) {
    if (hasUnknown(item)) return undefined;
    const tensor = item.tensor;
    if (tensor === undefined) {
      entries.push(measure(item.name ?? '', false, 0, NO_DIMS, EMPTY_BYTES, NO_STRINGS));
      continue;
    }
    if (hasUnknown(tensor)) return undefined;
    entries.push(
      measure(
        item.name ?? '',
        true,
        tensor.dtype ?? DataType.UNSPECIFIED,
        tensor.shape ?? NO_DIMS,
        tensor.data ?? EMPTY_BYTES,
        tensor.strings ?? NO_STRINGS,
      ),
    );
  }
  return entries;
}

/** Bytes the entries take as a repeated field with a one-byte tag. */
export function entriesSize(entries: readonly NamedTensorEntry[]): number {
  let size = 0;
  for (const entry of entries) size += delimitedSize(entry.entryBytes);
  return size;
}

/** Bytes of tensor data that {@link writeEntries} with a `Gather` leaves out of the buffer. */
export function entriesGatherBytes(entries: readonly NamedTensorEntry[]): number {
  let bytes = 0;
  for (const entry of entries) bytes += Gather.bytesOf(entry.data);
  return bytes;
}

/** Writes the entries as a repeated field with a one-byte tag; large tensor data goes to `gather` if given. */
export function writeEntries(
  buf: Uint8Array,
  pos: number,
  tag: number,
  entries: readonly NamedTensorEntry[],
  gather?: Gather,
): number {
  for (const e of entries) {
    buf[pos++] = tag;
    pos = writeVarint(buf, pos, e.entryBytes);
    if (e.nameBytes > 0) pos = writeStringField(buf, pos, NAME_TAG, e.name, e.nameBytes);
    if (!e.present) continue;
    buf[pos++] = TENSOR_TAG;
    pos = writeVarint(buf, pos, e.tensorBytes);
    if (e.dtype !== 0) {
      buf[pos++] = DTYPE_TAG;
      pos = writeInt32(buf, pos, e.dtype);
    }
    if (e.shape.length > 0) {
      buf[pos++] = SHAPE_TAG;
      pos = writeVarint(buf, pos, e.shapeBytes);
      pos = writePackedInt64(buf, pos, e.shape);
    }
    if (e.data.byteLength > 0) pos = writeBytesField(buf, pos, DATA_TAG, e.data, gather);
    for (let i = 0; i < e.strings.length; i++) {
      pos = writeStringField(buf, pos, STRINGS_TAG, e.strings[i] as string, e.stringBytes[i] as number);
    }
  }
  return pos;
}

/** Repeated strings with a one-byte tag: their UTF-8 lengths, and the bytes the field takes. */
export function measureStrings(values: readonly string[]): {
  readonly sizes: readonly number[];
  readonly bytes: number;
} {
  if (values.length === 0) return { sizes: NO_SIZES, bytes: 0 };
  const sizes: number[] = new Array(values.length);
  let bytes = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== 'string') throw new TypeError(`Expected a string, got ${typeof value}`);
    const size = utf8Size(value);
    sizes[i] = size;
    bytes += delimitedSize(size);
  }
  return { sizes, bytes };
}

/** Writes repeated strings measured by {@link measureStrings}. */
export function writeStrings(
  buf: Uint8Array,
  pos: number,
  tag: number,
  values: readonly string[],
  sizes: readonly number[],
): number {
  for (let i = 0; i < values.length; i++)
    pos = writeStringField(buf, pos, tag, values[i] as string, sizes[i] as number);
  return pos;
}

export function hasUnknown(message: object): boolean {
  const unknown = (message as { $unknown?: readonly unknown[] }).$unknown;
  return unknown !== undefined && unknown.length > 0;
}

function measure(
  name: string,
  present: boolean,
  dtype: number,
  shape: ArrayLike<bigint | number>,
  data: Uint8Array,
  strings: readonly string[],
): NamedTensorEntry {
  if (typeof name !== 'string') throw new TypeError('Tensor name must be a string');
  if (!(data instanceof Uint8Array)) throw new TypeError(`Tensor "${name}" data must be a Uint8Array`);
  const nameBytes = utf8Size(name);
  let tensorBytes = 0;
  let shapeBytes = 0;
  let stringBytes = NO_SIZES;
  if (present) {
    if (dtype !== 0) tensorBytes += 1 + int32Size(dtype);
    if (shape.length > 0) {
      shapeBytes = packedInt64Size(shape);
      tensorBytes += delimitedSize(shapeBytes);
    }
    if (data.byteLength > 0) tensorBytes += delimitedSize(data.byteLength);
    const measured = measureStrings(strings);
    stringBytes = measured.sizes;
    tensorBytes += measured.bytes;
  }
  const entryBytes = (nameBytes > 0 ? delimitedSize(nameBytes) : 0) + (present ? delimitedSize(tensorBytes) : 0);
  return { name, nameBytes, present, dtype, shape, shapeBytes, data, strings, stringBytes, tensorBytes, entryBytes };
}
