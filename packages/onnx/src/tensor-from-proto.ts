import { fromBinary } from '@bufbuild/protobuf';
import { bytesPerElement, Code, elementCount, FerryError, type NumericDType, type Tensor } from '@ferry/core';
import { type TensorProto, TensorProto_DataLocation, TensorProtoSchema } from './gen/onnx/onnx_pb.js';
import { fromOnnxDataType } from './onnx-data-type.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

const invalid = (message: string, reason: string, cause?: unknown) =>
  new FerryError(Code.INVALID_ARGUMENT, message, cause === undefined ? { reason } : { reason, cause });

/**
 * Reads a serialized ONNX `TensorProto` (the layout of the ONNX backend tests' `input_0.pb` files). Data may
 * sit in `raw_data` or in the typed field of its dtype. Throws INVALID_ARGUMENT for undecodable bytes,
 * external data, unsupported dtypes and data that does not match the dims.
 */
export function tensorFromProto(bytes: Uint8Array): { name: string; tensor: Tensor } {
  let proto: TensorProto;
  try {
    proto = fromBinary(TensorProtoSchema, bytes);
  } catch (error) {
    throw invalid(
      `Not a TensorProto: ${error instanceof Error ? error.message : String(error)}`,
      'INVALID_TENSOR_PROTO',
      error,
    );
  }
  const name = proto.name;
  if (proto.dataLocation === TensorProto_DataLocation.EXTERNAL || proto.externalData.length > 0) {
    throw invalid(`Tensor "${name}" keeps its data in an external file`, 'EXTERNAL_DATA');
  }
  if (proto.segment) throw invalid(`Tensor "${name}" is a segment of a larger tensor`, 'SEGMENTED_TENSOR');
  const dtype = fromOnnxDataType(proto.dataType);
  const shape = proto.dims.map((d) => {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw invalid(`Tensor "${name}" has invalid dimension ${d}`, 'INVALID_SHAPE');
    }
    return Number(d);
  });
  const count = elementCount(shape);
  const mismatch = (have: number, field: string) =>
    invalid(
      `Tensor "${name}" holds ${have} elements in ${field} but ${dtype}[${shape.join(', ')}] needs ${count}`,
      'TENSOR_SIZE_MISMATCH',
    );

  if (dtype === 'string') {
    if (proto.rawData.length > 0) throw invalid(`String tensor "${name}" must use string_data`, 'INVALID_TENSOR_PROTO');
    if (proto.stringData.length !== count) throw mismatch(proto.stringData.length, 'string_data');
    let data: string[];
    try {
      data = proto.stringData.map((s) => utf8.decode(s));
    } catch (error) {
      throw invalid(`String tensor "${name}" holds invalid UTF-8`, 'INVALID_UTF8', error);
    }
    return { name, tensor: { dtype, shape, data } };
  }

  const size = bytesPerElement(dtype);
  if (proto.rawData.length > 0) {
    if (proto.rawData.length !== count * size) {
      throw invalid(
        `Tensor "${name}" has ${proto.rawData.length} bytes of raw_data but ${dtype}[${shape.join(', ')}] needs ${count * size}`,
        'TENSOR_SIZE_MISMATCH',
      );
    }
    return { name, tensor: { dtype, shape, data: proto.rawData.slice() } };
  }

  const data = new Uint8Array(count * size);
  const view = new DataView(data.buffer);
  const field = typedField(dtype);
  const values = proto[field];
  if (values.length !== count) throw mismatch(values.length, fieldNames[field]);
  for (let i = 0; i < count; i++) write(view, dtype, i * size, values[i] as number | bigint);
  return { name, tensor: { dtype, shape, data } };
}

type TypedField = 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data';

/** The TensorProto field a dtype's values live in when raw_data is empty (see onnx.proto). */
function typedField(dtype: NumericDType): TypedField {
  switch (dtype) {
    case 'float32':
      return 'floatData';
    case 'float64':
      return 'doubleData';
    case 'int64':
      return 'int64Data';
    case 'uint32':
    case 'uint64':
      return 'uint64Data';
    default:
      return 'int32Data';
  }
}

const fieldNames: Record<TypedField, string> = {
  floatData: 'float_data',
  int32Data: 'int32_data',
  int64Data: 'int64_data',
  doubleData: 'double_data',
  uint64Data: 'uint64_data',
};

function write(view: DataView, dtype: NumericDType, offset: number, value: number | bigint): void {
  switch (dtype) {
    case 'float32':
      view.setFloat32(offset, value as number, true);
      return;
    case 'float64':
      view.setFloat64(offset, value as number, true);
      return;
    case 'int64':
      view.setBigInt64(offset, value as bigint, true);
      return;
    case 'uint64':
      view.setBigUint64(offset, value as bigint, true);
      return;
    case 'uint32':
      view.setUint32(offset, Number(value), true);
      return;
    case 'int32':
      view.setInt32(offset, value as number, true);
      return;
    case 'int16':
      view.setInt16(offset, value as number, true);
      return;
    // float16 and bfloat16 travel as their 16-bit patterns.
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      view.setUint16(offset, value as number, true);
      return;
    case 'int8':
      view.setInt8(offset, value as number);
      return;
    case 'uint8':
      view.setUint8(offset, value as number);
      return;
    case 'bool':
      view.setUint8(offset, value ? 1 : 0);
      return;
  }
}
