import { create, toBinary } from '@bufbuild/protobuf';
import type { Dim, DType, Tensor } from '@ferry/core';
import {
  type AttributeProto,
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type GraphProto,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from './gen/onnx/onnx_pb.js';
import { toOnnxDataType } from './onnx-data-type.js';
import { tensorProtoOf } from './tensor-to-proto.js';

/** A graph input or output. `shape` dims: a size, a symbolic name (`'batch'`) or null (unknown); no shape: unknown rank. */
export interface ValueSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape?: readonly Dim[];
}

/**
 * A node attribute. Integers become INT and other numbers FLOAT (use `{ float: 1 }` for a whole float,
 * `{ int: 1 }` to be explicit); number arrays become INTS when every element is an integer (use `{ floats }`
 * otherwise); strings STRING(S); tensors TENSOR; `{ graph }` a GRAPH (the body of Loop, If, Scan).
 */
export type AttributeValue =
  | number
  | bigint
  | string
  | readonly number[]
  | readonly string[]
  | Tensor
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly int: number | bigint }
  | { readonly ints: readonly (number | bigint)[] }
  | { readonly graph: GraphSpec };

export interface NodeSpec {
  /** The operator, e.g. `'MatMul'`. */
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
  /** Operator domain; the default ONNX domain when absent. */
  readonly domain?: string;
  readonly name?: string;
}

export interface GraphSpec {
  readonly name?: string;
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly nodes: readonly NodeSpec[];
  /** Constant tensors, by name, that nodes may use as inputs. */
  readonly initializers?: Readonly<Record<string, Tensor>>;
}

export interface ModelSpec extends GraphSpec {
  /** Version of the default ONNX opset; 17 when absent. */
  readonly opset?: number;
  /** Versions of further operator domains, e.g. `{ 'com.microsoft': 1 }`. */
  readonly opsets?: Readonly<Record<string, number>>;
  /** ONNX IR version; the one matching `opset` when absent. */
  readonly irVersion?: number;
  readonly producerName?: string;
}

/** Builds a serialized ONNX model (`ModelProto`) from a typed graph description. */
export function buildModel(spec: ModelSpec): Uint8Array {
  const opset = spec.opset ?? 17;
  if (!Number.isSafeInteger(opset) || opset < 1) throw new RangeError(`Invalid opset ${opset}`);
  const irVersion = spec.irVersion ?? irVersionFor(opset);
  const model = create(ModelProtoSchema, {
    irVersion: BigInt(irVersion),
    producerName: spec.producerName ?? 'ferry',
    opsetImport: [
      create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) }),
      ...Object.entries(spec.opsets ?? {}).map(([domain, version]) =>
        create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }),
      ),
    ],
    graph: graphOf(spec, spec.name ?? 'model'),
  });
  return toBinary(ModelProtoSchema, model);
}

/** The IR version each opset shipped with (onnx/helper.py VERSION_TABLE), so older runtimes accept the model. */
function irVersionFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 9) return 4;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

function graphOf(spec: GraphSpec, defaultName: string): GraphProto {
  return create(GraphProtoSchema, {
    name: spec.name ?? defaultName,
    input: spec.inputs.map(valueInfoOf),
    output: spec.outputs.map(valueInfoOf),
    initializer: Object.entries(spec.initializers ?? {}).map(([name, t]) => tensorProtoOf(name, t)),
    node: spec.nodes.map((node, index) => {
      if (typeof node.op !== 'string' || node.op === '') throw new TypeError(`Node ${index} has no op`);
      return create(NodeProtoSchema, {
        name: node.name ?? `${node.op}_${index}`,
        opType: node.op,
        domain: node.domain ?? '',
        input: [...node.inputs],
        output: [...node.outputs],
        attribute: Object.entries(node.attributes ?? {}).map(([name, value]) => attributeOf(name, value)),
      });
    }),
  });
}

function valueInfoOf(value: ValueSpec): ValueInfoProto {
  const tensorType = create(TypeProto_TensorSchema, { elemType: toOnnxDataType(value.dtype) });
  if (value.shape) {
    tensorType.shape = create(TensorShapeProtoSchema, {
      dim: value.shape.map((d) =>
        create(TensorShapeProto_DimensionSchema, {
          value:
            typeof d === 'number'
              ? { case: 'dimValue', value: BigInt(d) }
              : typeof d === 'string'
                ? { case: 'dimParam', value: d }
                : { case: undefined },
        }),
      ),
    });
  }
  return create(ValueInfoProtoSchema, {
    name: value.name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }),
  });
}

const Type = AttributeProto_AttributeType;
const utf8 = new TextEncoder();

function attributeOf(name: string, value: AttributeValue): AttributeProto {
  const attr = (init: Partial<Omit<AttributeProto, '$typeName'>>) => create(AttributeProtoSchema, { name, ...init });
  if (typeof value === 'number') {
    return Number.isInteger(value) ? attr({ type: Type.INT, i: BigInt(value) }) : attr({ type: Type.FLOAT, f: value });
  }
  if (typeof value === 'bigint') return attr({ type: Type.INT, i: value });
  if (typeof value === 'string') return attr({ type: Type.STRING, s: utf8.encode(value) });
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) {
      return value.length > 0
        ? attr({ type: Type.STRINGS, strings: value.map((v: string) => utf8.encode(v)) })
        : attr({ type: Type.INTS, ints: [] });
    }
    const numbers = value as readonly number[];
    return numbers.every((v) => Number.isInteger(v))
      ? attr({ type: Type.INTS, ints: numbers.map(BigInt) })
      : attr({ type: Type.FLOATS, floats: [...numbers] });
  }
  if (typeof value === 'object' && value !== null) {
    if ('dtype' in value) return attr({ type: Type.TENSOR, t: tensorProtoOf(name, value) });
    if ('float' in value) return attr({ type: Type.FLOAT, f: value.float });
    if ('floats' in value) return attr({ type: Type.FLOATS, floats: [...value.floats] });
    if ('int' in value) return attr({ type: Type.INT, i: BigInt(value.int) });
    if ('ints' in value) return attr({ type: Type.INTS, ints: value.ints.map(BigInt) });
    if ('graph' in value) return attr({ type: Type.GRAPH, g: graphOf(value.graph, name) });
  }
  throw new TypeError(`Attribute "${name}" has an unsupported value`);
}
