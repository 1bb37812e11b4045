import { Code } from './code.js';
import { FerryError } from './ferry-error.js';

/**
 * Element types, named as onnxruntime's JavaScript API names them. Every tensor travels as raw
 * little-endian bytes; `string` tensors travel as a list of UTF-8 strings.
 */
export const DTypes = [
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
] as const;

export type DType = (typeof DTypes)[number];
export type NumericDType = Exclude<DType, 'string'>;

const elementBytes: Record<NumericDType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
};

export function isDType(value: string): value is DType {
  return (DTypes as readonly string[]).includes(value);
}

export function bytesPerElement(dtype: NumericDType): number {
  return elementBytes[dtype];
}

export interface NumericTensor {
  readonly dtype: NumericDType;
  readonly shape: readonly number[];
  /** Raw little-endian element bytes, row-major. */
  readonly data: Uint8Array;
}

export interface StringTensor {
  readonly dtype: 'string';
  readonly shape: readonly number[];
  readonly data: readonly string[];
}

export type Tensor = NumericTensor | StringTensor;

/** Named tensors, the inputs and outputs of `infer`. */
export type TensorMap = Record<string, Tensor>;

/** A dimension of a model's declared shape: a size, a symbolic name, or unknown. */
export type Dim = number | string | null;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export interface ModelSignature {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
}

/** Number of elements a shape holds; throws INVALID_ARGUMENT for negative or non-integer dims. */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new FerryError(Code.INVALID_ARGUMENT, `Invalid dimension ${dim} in shape [${shape.join(', ')}]`, {
        reason: 'INVALID_SHAPE',
      });
    }
    count *= dim;
  }
  if (!Number.isSafeInteger(count)) {
    throw new FerryError(Code.INVALID_ARGUMENT, `Shape [${shape.join(', ')}] is too large`, {
      reason: 'INVALID_SHAPE',
    });
  }
  return count;
}

/** Checks that a tensor's data matches its dtype and shape; throws INVALID_ARGUMENT naming the tensor. */
export function checkTensor(name: string, tensor: Tensor): void {
  const count = elementCount(tensor.shape);
  if (tensor.dtype === 'string') {
    if (tensor.data.length !== count) {
      throw new FerryError(
        Code.INVALID_ARGUMENT,
        `Tensor "${name}" has ${tensor.data.length} strings but shape [${tensor.shape.join(', ')}] needs ${count}`,
        { reason: 'TENSOR_SIZE_MISMATCH' },
      );
    }
    return;
  }
  if (!isDType(tensor.dtype)) {
    throw new FerryError(Code.INVALID_ARGUMENT, `Tensor "${name}" has unknown dtype "${String(tensor.dtype)}"`, {
      reason: 'UNKNOWN_DTYPE',
    });
  }
  const expected = count * bytesPerElement(tensor.dtype);
  if (tensor.data.byteLength !== expected) {
    throw new FerryError(
      Code.INVALID_ARGUMENT,
      `Tensor "${name}" has ${tensor.data.byteLength} bytes but ${tensor.dtype}[${tensor.shape.join(', ')}] needs ${expected}`,
      { reason: 'TENSOR_SIZE_MISMATCH' },
    );
  }
}

type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** Builds a numeric tensor from a typed array (bytes are copied, so the tensor owns them). */
export function tensor(
  dtype: NumericDType,
  shape: readonly number[],
  values: TypedArray | readonly number[],
): NumericTensor {
  let bytes: Uint8Array;
  if (ArrayBuffer.isView(values)) {
    bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  } else {
    const view = viewOf(dtype, values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (view instanceof BigInt64Array || view instanceof BigUint64Array) view[i] = BigInt(v);
      else view[i] = v;
    }
    bytes = new Uint8Array(view.buffer);
  }
  const t: NumericTensor = { dtype, shape: [...shape], data: bytes };
  checkTensor('tensor', t);
  return t;
}

export function stringTensor(shape: readonly number[], values: readonly string[]): StringTensor {
  const t: StringTensor = { dtype: 'string', shape: [...shape], data: [...values] };
  checkTensor('tensor', t);
  return t;
}

function viewOf(dtype: NumericDType, length: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'uint64':
      return new BigUint64Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
  }
}

/**
 * A copy of `bytes` in a fresh buffer of exactly their length. `bytes.slice()` is not that when `bytes` is a
 * Node Buffer (whose `slice` is a view, as `subarray`): tensor data may be a Buffer view of a socket chunk.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.prototype.slice.call(bytes) as Uint8Array<ArrayBuffer>;
}

/**
 * A typed-array view over a numeric tensor's bytes (copying only when the bytes are misaligned).
 * float16/bfloat16 read as their raw Uint16 bit patterns.
 */
export function tensorValues(t: NumericTensor): TypedArray {
  const aligned = t.data.byteOffset % bytesPerElement(t.dtype) === 0;
  const bytes = aligned ? t.data : copyBytes(t.data);
  const { buffer, byteOffset, byteLength } = bytes;
  const n = byteLength / bytesPerElement(t.dtype);
  switch (t.dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, n);
    case 'float64':
      return new Float64Array(buffer, byteOffset, n);
    case 'int8':
      return new Int8Array(buffer, byteOffset, n);
    case 'int16':
      return new Int16Array(buffer, byteOffset, n);
    case 'int32':
      return new Int32Array(buffer, byteOffset, n);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, n);
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'uint32':
      return new Uint32Array(buffer, byteOffset, n);
    case 'uint64':
      return new BigUint64Array(buffer, byteOffset, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, n);
  }
}

/** Human-readable signature, used in INVALID_ARGUMENT messages: `x: float32[batch, 3]`. */
export function formatSignature(infos: readonly TensorInfo[]): string {
  return infos
    .map((i) => `${i.name}: ${i.dtype}[${i.shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`)
    .join(', ');
}

/**
 * Checks named inputs against a model's declared inputs: names, dtypes and fixed dimensions.
 * Throws INVALID_ARGUMENT naming the expected signature.
 */
export function checkInputs(inputs: TensorMap, expected: readonly TensorInfo[]): void {
  const fail = (what: string) =>
    new FerryError(Code.INVALID_ARGUMENT, `${what}; the model expects (${formatSignature(expected)})`, {
      reason: 'INPUT_MISMATCH',
    });
  const names = new Set(expected.map((i) => i.name));
  for (const name of Object.keys(inputs)) {
    if (!names.has(name)) throw fail(`Unknown input "${name}"`);
  }
  for (const info of expected) {
    const t = inputs[info.name];
    if (!t) throw fail(`Missing input "${info.name}"`);
    if (t.dtype !== info.dtype) throw fail(`Input "${info.name}" is ${t.dtype}, not ${info.dtype}`);
    if (info.shape.length > 0 || t.shape.length > 0) {
      const rankOk = t.shape.length === info.shape.length;
      const dimsOk = rankOk && info.shape.every((d, i) => typeof d !== 'number' || d < 0 || d === t.shape[i]);
      if (!dimsOk) throw fail(`Input "${info.name}" has shape [${t.shape.join(', ')}]`);
    }
    checkTensor(info.name, t);
  }
}
