export type { OnnxRuntimeBackendOptions } from './create-onnx-runtime-backend.js';
export { createOnnxRuntimeBackend } from './create-onnx-runtime-backend.js';
