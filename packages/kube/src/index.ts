/** Kata sandbox discovery, the admission webhook and the device plugin. */
export const KUBE_NAMES = {
  acceleratorNodeLabel: 'ferry.dev/accelerator',
  injectLabel: 'ferry.dev/inject',
  extendedResource: 'ferry.dev/accelerator',
} as const;
export type { CriClient, CriClientOptions, CriPodSandbox } from './cri-client.js';
export { CRI_DEFAULTS, createCriClient, criPodResolver, DEFAULT_CRI_SOCKET } from './cri-client.js';
export type { SandboxEvent, SandboxInfo, SandboxWatcher, SandboxWatcherOptions } from './sandbox-watcher.js';
export {
  createSandboxWatcher,
  DEFAULT_VSOCK_PORT,
  HVSOCK_NAME,
  KATA_ROOTS,
  SANDBOX_WATCHER_DEFAULTS,
} from './sandbox-watcher.js';
