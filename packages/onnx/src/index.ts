export type { AttributeValue, GraphSpec, ModelSpec, NodeSpec, ValueSpec } from './build-model.js';
export { buildModel } from './build-model.js';
export { COLOUR_CLASSIFIER_CONFIG, COLOUR_CLASSIFIER_LABELS, colourClassifierModel } from './colour-classifier.js';
export type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './gen/onnx/onnx_pb.js';
export { GraphProtoSchema, ModelProtoSchema, TensorProtoSchema } from './gen/onnx/onnx_pb.js';
export { fromOnnxDataType, OnnxDataType, toOnnxDataType } from './onnx-data-type.js';
export { tensorFromProto } from './tensor-from-proto.js';
export { tensorToProto } from './tensor-to-proto.js';
