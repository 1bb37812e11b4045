import { Code, type DType, FerryError } from '@ferry/core';

/** Ferry dtypes (onnxruntime's names) → Open Inference Protocol datatype names. */
export const OipDatatypes = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
  bfloat16: 'BF16',
} as const satisfies Record<DType, string>;

export type OipDatatype = (typeof OipDatatypes)[DType];

const byOip = new Map<string, DType>(Object.entries(OipDatatypes).map(([dtype, oip]) => [oip, dtype as DType]));

/** `float32` → `FP32`. Throws TypeError for a name that is not a Ferry dtype. */
export function oipDatatype(dtype: DType): OipDatatype {
  const name = Object.hasOwn(OipDatatypes, dtype) ? OipDatatypes[dtype] : undefined;
  if (name === undefined) throw new TypeError(`"${String(dtype)}" is not a Ferry dtype`);
  return name;
}

/**
 * `FP32` → `float32`. The name comes from a request, so an unknown one is INVALID_ARGUMENT
 * (reason UNKNOWN_DATATYPE) listing the names the protocol defines. Names are case-sensitive.
 */
export function dtypeFromOip(name: string): DType {
  const dtype = typeof name === 'string' ? byOip.get(name) : undefined;
  if (dtype === undefined) {
    throw new FerryError(
      Code.INVALID_ARGUMENT,
      `Unknown datatype ${JSON.stringify(name)}; expected one of ${[...byOip.keys()].join(', ')}`,
      { reason: 'UNKNOWN_DATATYPE' },
    );
  }
  return dtype;
}
