/** Kata sandbox discovery, the admission webhook and the device plugin. */
export const KUBE_NAMES = {
  acceleratorNodeLabel: 'ferry.dev/accelerator',
  injectLabel: 'ferry.dev/inject',
  extendedResource: 'ferry.dev/accelerator',
} as const;
export type { CriClient, CriClientOptions, CriPodSandbox } from './cri-client.js';
export { CRI_DEFAULTS, createCriClient, criPodResolver, DEFAULT_CRI_SOCKET } from './cri-client.js';
export { agentReady } from './device-plugin/agent-readiness.js';
export type { DevicePlugin, DevicePluginOptions } from './device-plugin/create-device-plugin.js';
export {
  createDevicePlugin,
  DEVICE_PLUGIN_DEFAULTS,
} from './device-plugin/create-device-plugin.js';
export type {
  HealthMessage,
  RegisteredMessage,
  RegisterFailedMessage,
  ReviewMessage,
  TlsReloadMessage,
} from './diagnostics.js';
export { kubeChannels } from './diagnostics.js';
export {
  DEFAULT_PLUGIN_DIR,
  DEVICE_PLUGIN_API_VERSION,
  devicePluginService,
  KUBELET_SOCKET,
  registrationService,
} from './proto/device-plugin-api.js';
export type { SandboxEvent, SandboxInfo, SandboxWatcher, SandboxWatcherOptions } from './sandbox-watcher.js';
export {
  createSandboxWatcher,
  DEFAULT_VSOCK_PORT,
  HVSOCK_NAME,
  KATA_ROOTS,
  SANDBOX_WATCHER_DEFAULTS,
} from './sandbox-watcher.js';
export type {
  OciSeccompArg,
  OciSeccompProfile,
  OciSeccompRule,
  SeccompAction,
  SeccompOperator,
} from './seccomp/oci-seccomp-profile.js';
export { parseOciSeccompProfile } from './seccomp/oci-seccomp-profile.js';
export type {
  RenderSeccompOptions,
  SeccompCondition,
  SeccompTargetArch,
  SeccompTemplate,
  SeccompTemplateRule,
} from './seccomp/render-seccomp-profile.js';
export {
  AF_VSOCK,
  allowVsock,
  CONTAINERD_DEFAULT_CAPABILITIES,
  renderSeccompProfile,
} from './seccomp/render-seccomp-profile.js';
export { seccompProfileFiles, VSOCK_PROFILE_ARCHES } from './seccomp/seccomp-profile-files.js';
export type { WebhookServer, WebhookServerOptions } from './webhook/create-webhook-server.js';
export { createWebhookServer, WEBHOOK_DEFAULTS } from './webhook/create-webhook-server.js';
export type { JsonPatchOperation, PodMutation, PodMutationOptions } from './webhook/mutate-pod.js';
export { mutatePod, POD_MUTATION_DEFAULTS, podOptedIn } from './webhook/mutate-pod.js';
export type { AdmissionAnswer } from './webhook/review-admission.js';
export { reviewAdmission } from './webhook/review-admission.js';
