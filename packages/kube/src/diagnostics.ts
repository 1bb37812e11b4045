import { diagnosticsChannel } from '@ferry/core';

/** `ferry:kube:webhook:tls-reload`: the webhook checked changed certificate files. */
export type TlsReloadMessage = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/** `ferry:kube:webhook:review`: the webhook answered one AdmissionReview. */
export interface ReviewMessage {
  readonly uid: string | undefined;
  readonly allowed: boolean | undefined;
  /** A JSONPatch went back with the answer. */
  readonly patched: boolean;
}

/** `ferry:kube:device-plugin:registered`: the kubelet accepted the device plugin's registration. */
export interface RegisteredMessage {
  readonly kubeletSocket: string;
  /** The plugin's socket name under the plugin directory. */
  readonly endpoint: string;
}

/** `ferry:kube:device-plugin:register-failed`: a registration attempt failed; it is tried again. */
export interface RegisterFailedMessage {
  readonly error: unknown;
}

/** `ferry:kube:device-plugin:health`: the shares' health changed (it follows the agent's readiness). */
export interface HealthMessage {
  readonly healthy: boolean;
}

/** The channels `@ferry/kube` publishes on. */
export const kubeChannels = {
  webhookTlsReload: diagnosticsChannel<TlsReloadMessage>('ferry:kube:webhook:tls-reload'),
  webhookReview: diagnosticsChannel<ReviewMessage>('ferry:kube:webhook:review'),
  devicePluginRegistered: diagnosticsChannel<RegisteredMessage>('ferry:kube:device-plugin:registered'),
  devicePluginRegisterFailed: diagnosticsChannel<RegisterFailedMessage>('ferry:kube:device-plugin:register-failed'),
  devicePluginHealth: diagnosticsChannel<HealthMessage>('ferry:kube:device-plugin:health'),
} as const;
