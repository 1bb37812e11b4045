import { Code, type DType, FerryError } from '@ferry/core';
import { TensorProto_DataType } from './gen/onnx/onnx_pb.js';

/** ONNX `TensorProto.DataType` numbers, by name (`OnnxDataType.INT64 === 7`), e.g. for Cast's `to`. */
export const OnnxDataType = TensorProto_DataType;

const byDType: Record<DType, number> = {
  float32: OnnxDataType.FLOAT,
  float64: OnnxDataType.DOUBLE,
  float16: OnnxDataType.FLOAT16,
  bfloat16: OnnxDataType.BFLOAT16,
  int8: OnnxDataType.INT8,
  int16: OnnxDataType.INT16,
  int32: OnnxDataType.INT32,
  int64: OnnxDataType.INT64,
  uint8: OnnxDataType.UINT8,
  uint16: OnnxDataType.UINT16,
  uint32: OnnxDataType.UINT32,
  uint64: OnnxDataType.UINT64,
  bool: OnnxDataType.BOOL,
  string: OnnxDataType.STRING,
};

const byNumber = new Map<number, DType>(Object.entries(byDType).map(([dtype, n]) => [n, dtype as DType]));

/** The ONNX data type number of a Ferry dtype: `toOnnxDataType('float32') === 1`. */
export function toOnnxDataType(dtype: DType): number {
  const n = byDType[dtype];
  if (n === undefined) throw new TypeError(`Unknown dtype "${String(dtype)}"`);
  return n;
}

/** The Ferry dtype of an ONNX data type number; throws INVALID_ARGUMENT (UNSUPPORTED_DTYPE) for others. */
export function fromOnnxDataType(dataType: number): DType {
  const dtype = byNumber.get(dataType);
  if (dtype === undefined) {
    const name = Object.entries(OnnxDataType).find(([, n]) => n === dataType)?.[0] ?? String(dataType);
    throw new FerryError(Code.INVALID_ARGUMENT, `ONNX data type ${name} is not supported`, {
      reason: 'UNSUPPORTED_DTYPE',
    });
  }
  return dtype;
}
