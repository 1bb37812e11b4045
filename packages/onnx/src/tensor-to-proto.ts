import { create, toBinary } from '@bufbuild/protobuf';
import { checkTensor, type Tensor } from '@ferry/core';
import { TensorProtoSchema } from './gen/onnx/onnx_pb.js';
import { toOnnxDataType } from './onnx-data-type.js';

const utf8 = new TextEncoder();

/**
 * Serializes a tensor as an ONNX `TensorProto`: numeric data in `raw_data` (little-endian), strings in
 * `string_data`. Throws INVALID_ARGUMENT when the data does not match the dtype and shape.
 */
export function tensorToProto(name: string, tensor: Tensor): Uint8Array {
  return toBinary(TensorProtoSchema, tensorProtoOf(name, tensor));
}

/** The TensorProto message of a tensor, for embedding in models (initializers, attributes). */
export function tensorProtoOf(name: string, tensor: Tensor) {
  checkTensor(name, tensor);
  const common = { name, dims: tensor.shape.map(BigInt), dataType: toOnnxDataType(tensor.dtype) };
  return tensor.dtype === 'string'
    ? create(TensorProtoSchema, { ...common, stringData: tensor.data.map((s) => utf8.encode(s)) })
    : create(TensorProtoSchema, { ...common, rawData: tensor.data });
}
