export type { TestKubelet } from './start-kubelet.js';
export { Queue, startKubelet } from './start-kubelet.js';
