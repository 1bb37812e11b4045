export type { CrashWorkerOptions, OnnxRuntimeWorkerStats } from './crash-onnx-runtime-worker.js';
export { crashOnnxRuntimeWorker, onnxRuntimeWorkerStats } from './crash-onnx-runtime-worker.js';
