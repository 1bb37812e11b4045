import { create } from '@bufbuild/protobuf';
import {
  Code,
  checkTensor,
  type Dim,
  type DType,
  FerryError,
  type Tensor,
  type TensorInfo,
  type TensorMap,
} from '@ferry/core';
import {
  DataType,
  DimSchema,
  type NamedTensor,
  NamedTensorSchema,
  TensorInfoSchema,
  TensorSchema,
  type Dim as WireDim,
  type Tensor as WireTensor,
  type TensorInfo as WireTensorInfo,
} from './gen/ferry/v1/accelerator_pb.js';

const toWire: Record<DType, DataType> = {
  float32: DataType.FLOAT32,
  uint8: DataType.UINT8,
  int8: DataType.INT8,
  uint16: DataType.UINT16,
  int16: DataType.INT16,
  int32: DataType.INT32,
  int64: DataType.INT64,
  string: DataType.STRING,
  bool: DataType.BOOL,
  float16: DataType.FLOAT16,
  float64: DataType.FLOAT64,
  uint32: DataType.UINT32,
  uint64: DataType.UINT64,
  bfloat16: DataType.BFLOAT16,
};

const fromWire = new Map<DataType, DType>(Object.entries(toWire).map(([k, v]) => [v, k as DType]));

export function dtypeToWire(dtype: DType): DataType {
  return toWire[dtype];
}

export function dtypeFromWire(value: DataType): DType {
  const dtype = fromWire.get(value);
  if (!dtype)
    throw new FerryError(Code.INVALID_ARGUMENT, `Unknown tensor data type ${value}`, { reason: 'UNKNOWN_DTYPE' });
  return dtype;
}

function shapeFromWire(shape: readonly bigint[]): number[] {
  return shape.map((d) => {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FerryError(Code.INVALID_ARGUMENT, `Invalid dimension ${d}`, { reason: 'INVALID_SHAPE' });
    }
    return Number(d);
  });
}

/** Core tensor → wire message. The bytes are referenced, not copied. */
export function tensorToWire(tensor: Tensor): WireTensor {
  const shape = tensor.shape.map((d) => BigInt(d));
  if (tensor.dtype === 'string') {
    return create(TensorSchema, { dtype: DataType.STRING, shape, strings: [...tensor.data] });
  }
  return create(TensorSchema, { dtype: toWire[tensor.dtype], shape, data: tensor.data });
}

/** Wire message → core tensor, validated (dtype known, byte length matches the shape). */
export function tensorFromWire(name: string, wire: WireTensor | undefined): Tensor {
  if (!wire) throw new FerryError(Code.INVALID_ARGUMENT, `Tensor "${name}" is empty`, { reason: 'MISSING_TENSOR' });
  const dtype = dtypeFromWire(wire.dtype);
  const shape = shapeFromWire(wire.shape);
  const tensor: Tensor = dtype === 'string' ? { dtype, shape, data: wire.strings } : { dtype, shape, data: wire.data };
  checkTensor(name, tensor);
  return tensor;
}

export function tensorMapToWire(tensors: TensorMap): NamedTensor[] {
  return Object.entries(tensors).map(([name, tensor]) =>
    create(NamedTensorSchema, { name, tensor: tensorToWire(tensor) }),
  );
}

/** Named wire tensors → a map; duplicate names and more than `maxTensors` are INVALID_ARGUMENT. */
export function tensorMapFromWire(list: readonly NamedTensor[], maxTensors = 1024): TensorMap {
  if (list.length > maxTensors) {
    throw new FerryError(Code.RESOURCE_EXHAUSTED, `${list.length} tensors exceed the limit of ${maxTensors}`, {
      reason: 'TOO_MANY_TENSORS',
    });
  }
  const seen = new Set<string>();
  const entries: [string, Tensor][] = [];
  for (const { name, tensor } of list) {
    if (seen.has(name)) {
      throw new FerryError(Code.INVALID_ARGUMENT, `Tensor "${name}" appears twice`, { reason: 'DUPLICATE_TENSOR' });
    }
    seen.add(name);
    entries.push([name, tensorFromWire(name, tensor)]);
  }
  // Object.fromEntries defines own properties, so a tensor named "__proto__" is just a name.
  return Object.fromEntries(entries);
}

function dimToWire(dim: Dim): WireDim {
  if (typeof dim === 'number') return create(DimSchema, { value: { case: 'size', value: BigInt(dim) } });
  if (typeof dim === 'string') return create(DimSchema, { value: { case: 'symbol', value: dim } });
  return create(DimSchema, {});
}

function dimFromWire(dim: WireDim): Dim {
  switch (dim.value.case) {
    case 'size':
      return Number(dim.value.value);
    case 'symbol':
      return dim.value.value;
    default:
      return null;
  }
}

export function tensorInfoToWire(info: TensorInfo): WireTensorInfo {
  return create(TensorInfoSchema, { name: info.name, dtype: toWire[info.dtype], shape: info.shape.map(dimToWire) });
}

export function tensorInfoFromWire(info: WireTensorInfo): TensorInfo {
  return { name: info.name, dtype: dtypeFromWire(info.dtype), shape: info.shape.map(dimFromWire) };
}
