export type { Backend, BackendModel, LoadOptions, RunOptions } from './backend.js';
export type { BackendRegistration, BackendRegistry } from './backend-registry.js';
export { createBackendRegistry } from './backend-registry.js';
export type { CodeName } from './code.js';
export { Code, codeName, httpStatusFor, toCode } from './code.js';
export type { DiagnosticsChannel, WorkerRestartMessage } from './diagnostics.js';
export { backendChannels, diagnosticsChannel } from './diagnostics.js';
export type { FerryErrorOptions } from './ferry-error.js';
export { FerryError, fromSystemError } from './ferry-error.js';
export { startedWorkerData, startWorker } from './start-worker.js';
export type {
  Dim,
  DType,
  ModelSignature,
  NumericDType,
  NumericTensor,
  StringTensor,
  Tensor,
  TensorInfo,
  TensorMap,
} from './tensor.js';
export {
  bytesPerElement,
  checkInputs,
  checkTensor,
  copyBytes,
  DTypes,
  elementCount,
  formatSignature,
  isDType,
  stringTensor,
  tensor,
  tensorValues,
} from './tensor.js';
export { COMPUTE_THREAD_NICE, lowerThreadPriority } from './thread-priority.js';
export type { WireError } from './wire-error.js';
export { fromWireError, toWireError } from './wire-error.js';
