import { bytesPerElement, Code, type DType, elementCount, FerryError, type Tensor } from '@ferry/core';
import { toBfloat16Bits, toFloat16Bits } from './half-float.js';
import { oipDatatype } from './oip-datatype.js';

const INT_RANGES: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

const BIG_RANGES: Partial<Record<DType, readonly [bigint, bigint]>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };

function invalid(message: string, reason = 'INVALID_TENSOR_DATA'): FerryError {
  return new FerryError(Code.INVALID_ARGUMENT, message, { reason });
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Row-major elements of `data`: a flat array, or arrays nested exactly as `shape`. */
function flatten(label: string, shape: readonly number[], data: unknown): unknown[] {
  if (!Array.isArray(data)) throw invalid(`${label}: "data" must be an array`);
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw invalid(`${label}: "data" is nested deeper than shape [${shape.join(', ')}]`);
      out.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw invalid(
        `${label}: "data"${path} has ${Array.isArray(node) ? node.length : 'no'} elements where shape [${shape.join(', ')}] needs ${shape[depth]}`,
        'TENSOR_SIZE_MISMATCH',
      );
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(data, 0, '');
  return out;
}

function numberOf(label: string, index: number, value: unknown, allowNonFinite: boolean): number {
  if (typeof value === 'number') return value;
  if (allowNonFinite && typeof value === 'string' && Object.hasOwn(NON_FINITE, value)) {
    return NON_FINITE[value] as number;
  }
  throw invalid(`${label}: element ${index} is ${describe(value)}, not a number`);
}

/**
 * A tensor from the JSON `data` of an OIP input: flat row-major or nested as `shape`. Numbers for numeric
 * datatypes (`"NaN"`, `"Infinity"`, `"-Infinity"` too for floating point; decimal strings too for INT64 and
 * UINT64, whose values JSON numbers cannot all hold), booleans for BOOL, strings for BYTES.
 * Throws INVALID_ARGUMENT naming the tensor and the element.
 */
export function tensorFromJson(name: string, dtype: DType, shape: readonly number[], data: unknown): Tensor {
  const label = `Input "${name}" (${oipDatatype(dtype)}[${shape.join(', ')}])`;
  const count = elementCount(shape);
  const values = flatten(label, shape, data);
  if (values.length !== count) {
    throw invalid(
      `${label} has ${values.length} elements in "data" but its shape needs ${count}`,
      'TENSOR_SIZE_MISMATCH',
    );
  }
  if (dtype === 'string') {
    const strings = values.map((v, i) => {
      if (typeof v !== 'string') throw invalid(`${label}: element ${i} is ${describe(v)}, not a string`);
      return v;
    });
    return { dtype, shape: [...shape], data: strings };
  }
  const size = bytesPerElement(dtype);
  const bytes = new Uint8Array(count * size);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) {
    const v = values[i];
    const at = i * size;
    switch (dtype) {
      case 'bool':
        if (typeof v !== 'boolean') throw invalid(`${label}: element ${i} is ${describe(v)}, not true or false`);
        bytes[i] = v ? 1 : 0;
        break;
      case 'float32':
        view.setFloat32(at, numberOf(label, i, v, true), true);
        break;
      case 'float64':
        view.setFloat64(at, numberOf(label, i, v, true), true);
        break;
      case 'float16':
        view.setUint16(at, toFloat16Bits(numberOf(label, i, v, true)), true);
        break;
      case 'bfloat16':
        view.setUint16(at, toBfloat16Bits(numberOf(label, i, v, true)), true);
        break;
      case 'int64':
      case 'uint64': {
        const big = bigIntOf(label, i, v);
        const [min, max] = BIG_RANGES[dtype] as readonly [bigint, bigint];
        if (big < min || big > max) throw invalid(`${label}: element ${i} (${big}) is out of range`);
        if (dtype === 'int64') view.setBigInt64(at, big, true);
        else view.setBigUint64(at, big, true);
        break;
      }
      default: {
        const n = numberOf(label, i, v, false);
        const [min, max] = INT_RANGES[dtype] as readonly [number, number];
        if (!Number.isInteger(n)) throw invalid(`${label}: element ${i} is ${describe(v)}, not an integer`);
        if (n < min || n > max) throw invalid(`${label}: element ${i} (${n}) is out of range ${min}..${max}`);
        if (dtype === 'int8') view.setInt8(at, n);
        else if (dtype === 'uint8') view.setUint8(at, n);
        else if (dtype === 'int16') view.setInt16(at, n, true);
        else if (dtype === 'uint16') view.setUint16(at, n, true);
        else if (dtype === 'int32') view.setInt32(at, n, true);
        else view.setUint32(at, n, true);
      }
    }
  }
  return { dtype, shape: [...shape], data: bytes };
}

function bigIntOf(label: string, index: number, value: unknown): bigint {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw invalid(`${label}: element ${index} is ${describe(value)}, not an integer`);
    if (!Number.isSafeInteger(value)) {
      throw invalid(
        `${label}: element ${index} (${value}) is beyond 2^53 and lost precision as a JSON number; send it as a decimal string or as binary data`,
      );
    }
    return BigInt(value);
  }
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return BigInt(value);
  throw invalid(`${label}: element ${index} is ${describe(value)}, not an integer`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A tensor from the binary data of an OIP input (binary tensor data extension): little-endian, row-major;
 * BOOL one byte 0 or 1; BYTES elements each a 4-byte little-endian length and that many bytes, which must
 * be UTF-8 (Ferry string tensors hold text). Throws INVALID_ARGUMENT when the sizes do not add up.
 */
export function tensorFromBinary(name: string, dtype: DType, shape: readonly number[], bytes: Uint8Array): Tensor {
  const label = `Input "${name}" (${oipDatatype(dtype)}[${shape.join(', ')}])`;
  const count = elementCount(shape);
  if (dtype === 'string') {
    const strings: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 4 > bytes.byteLength) {
        throw invalid(
          `${label}: binary data ends at element ${i} of ${count} (binary_data_size ${bytes.byteLength})`,
          'TENSOR_SIZE_MISMATCH',
        );
      }
      const length = view.getUint32(at, true);
      at += 4;
      if (at + length > bytes.byteLength) {
        throw invalid(
          `${label}: element ${i} claims ${length} bytes but only ${bytes.byteLength - at} remain in binary_data_size ${bytes.byteLength}`,
          'TENSOR_SIZE_MISMATCH',
        );
      }
      try {
        strings.push(utf8.decode(bytes.subarray(at, at + length)));
      } catch {
        throw invalid(`${label}: element ${i} is not valid UTF-8 (Ferry BYTES tensors hold text)`);
      }
      at += length;
    }
    if (at !== bytes.byteLength) {
      throw invalid(
        `${label}: ${bytes.byteLength - at} bytes are left over after ${count} elements (binary_data_size ${bytes.byteLength})`,
        'TENSOR_SIZE_MISMATCH',
      );
    }
    return { dtype, shape: [...shape], data: strings };
  }
  const expected = count * bytesPerElement(dtype);
  if (bytes.byteLength !== expected) {
    throw invalid(
      `${label} has binary_data_size ${bytes.byteLength} but needs ${expected} bytes`,
      'TENSOR_SIZE_MISMATCH',
    );
  }
  if (dtype === 'bool') {
    const bad = bytes.findIndex((b) => b > 1);
    if (bad >= 0) throw invalid(`${label}: element ${bad} is byte ${bytes[bad]}; BOOL elements are 0 or 1`);
  }
  return { dtype, shape: [...shape], data: bytes.slice() };
}
