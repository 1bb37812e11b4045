/** Kata sandbox discovery, the admission webhook and the device plugin. */
export const KUBE_NAMES = {
  acceleratorNodeLabel: 'ferry.dev/accelerator',
  injectLabel: 'ferry.dev/inject',
  extendedResource: 'ferry.dev/accelerator',
} as const;
