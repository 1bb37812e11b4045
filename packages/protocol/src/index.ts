export { decodeMessage } from './decode-message.js';
export type { EncodableMessage } from './encodable-message.js';
export { encodedMessage, fromProtobufEs } from './encodable-message.js';
export type { RequestFrameInit } from './encode-request-frame.js';
export { encodeRequestFrame } from './encode-request-frame.js';
export type { ResponseFrameInit } from './encode-response-frame.js';
export { encodeResponseFrame, encodeResponseFrameParts } from './encode-response-frame.js';
export type { Frame, FrameCodecOptions, FrameDecoder, FrameHeader } from './frame.js';
export {
  createFrameDecoder,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  encodeFrameHeader,
  FrameFlags,
  HEADER_BYTES,
  MessageType,
} from './frame.js';
export { FrameTooLargeError } from './frame-too-large-error.js';
export { GATHER_MIN_BYTES, Gather } from './gather.js';
export { ErrorInfoSchema } from './gen/ferry/errors/v1/error_info_pb.js';
export type {
  Dim as WireDim,
  InferRequest,
  InferResponse,
  ModelInfo,
  NamedTensor,
  RegisterModelRequest,
  RepositoryModel,
  Tensor as WireTensor,
  TensorInfo as WireTensorInfo,
} from './gen/ferry/v1/accelerator_pb.js';
export {
  Accelerator,
  DataType,
  InferRequestSchema,
  InferResponseSchema,
  ModelInfoSchema,
  NoopRequestSchema,
  NoopResponseSchema,
  RepositoryModelSchema,
  TensorSchema,
} from './gen/ferry/v1/accelerator_pb.js';
export { StatusSchema } from './gen/google/rpc/status_pb.js';
export { VaccelAgent as VaccelV1Agent } from './gen/grpc/agent_pb.js';
export { KeyValueSchema, RequestSchema, ResponseSchema, StringListSchema } from './gen/ttrpc/ttrpc_pb.js';
export type {
  Blob as VaccelBlob,
  GenopArg as VaccelGenopArg,
  TfliteTensor as VaccelTfliteTensor,
  TfTensor as VaccelTfTensor,
  TorchTensor as VaccelTorchTensor,
} from './gen/vaccel/sync/agent/agent_pb.js';
export {
  AgentService as VaccelAgentService,
  Blob_Type as VaccelBlobType,
  ResourceType as VaccelResourceType,
  TfliteTensor_DataType as VaccelTfliteDataType,
  TfTensor_DataType as VaccelTfDataType,
  TorchTensor_DataType as VaccelTorchDataType,
} from './gen/vaccel/sync/agent/agent_pb.js';
export { ErrorSchema as VaccelErrorSchema, ErrorType as VaccelErrorType } from './gen/vaccel/vaccel_pb.js';
export type { InferRequestMessageOptions } from './infer-request-message.js';
export { inferRequestMessage } from './infer-request-message.js';
export { inferResponseMessage } from './infer-response-message.js';
export { DEFAULT_AGENT_MAX_FRAME_BYTES, DEFAULT_CLIENT_MAX_FRAME_BYTES } from './limits.js';
export { noopMessage } from './noop-message.js';
export {
  dtypeFromWire,
  dtypeToWire,
  tensorFromWire,
  tensorInfoFromWire,
  tensorInfoToWire,
  tensorMapFromWire,
  tensorMapToWire,
  tensorToWire,
} from './tensor-codec.js';
export { toEncodable } from './to-encodable.js';
export type {
  StatusDetail,
  TtrpcRequest,
  TtrpcRequestInit,
  TtrpcResponse,
  TtrpcResponseInit,
  TtrpcStatus,
} from './ttrpc.js';
export {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  errorFromStatus,
  statusFromError,
} from './ttrpc.js';
