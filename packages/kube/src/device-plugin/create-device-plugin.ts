import { type FSWatcher, watch } from 'node:fs';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { Code, FerryError } from '@ferry/core';
import {
  Client,
  credentials,
  Server,
  ServerCredentials,
  type ServerWritableStream,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { kubeChannels } from '../diagnostics.js';
import {
  DEFAULT_PLUGIN_DIR,
  DEVICE_PLUGIN_API_VERSION,
  devicePluginService,
  KUBELET_SOCKET,
  registrationService,
} from '../proto/device-plugin-api.js';
import {
  type AllocateRequest,
  type AllocateResponse,
  AllocateResponseSchema,
  ContainerAllocateResponseSchema,
  ContainerPreferredAllocationResponseSchema,
  DevicePluginOptionsSchema,
  DeviceSchema,
  type Empty,
  type ListAndWatchResponse,
  ListAndWatchResponseSchema,
  type PreferredAllocationRequest,
  PreferredAllocationResponseSchema,
  PreStartContainerResponseSchema,
  RegisterRequestSchema,
} from '../proto/gen/v1beta1/api_pb.js';

export const DEVICE_PLUGIN_DEFAULTS = {
  pluginDir: DEFAULT_PLUGIN_DIR,
  resourceName: 'ferry.dev/accelerator',
  endpoint: 'ferry-accelerator.sock',
  shares: 16,
  /** The most shares one node may advertise (the kubelet keeps a record per device). */
  maxShares: 1024,
  healthIntervalMs: 5000,
  reconcileIntervalMs: 5000,
  registerTimeoutMs: 5000,
  env: { FERRY_ADDRESS: 'vsock://2:2048' },
} as const;

export interface DevicePluginOptions {
  /** The kubelet's device plugin directory (holds `kubelet.sock`); default `/var/lib/kubelet/device-plugins`. */
  readonly pluginDir?: string;
  /** Extended resource name; default `ferry.dev/accelerator`. */
  readonly resourceName?: string;
  /** This plugin's socket file name in `pluginDir`; default `ferry-accelerator.sock`. */
  readonly endpoint?: string;
  /** How many shares this node advertises: at most that many containers hold one at once. Default 16. */
  readonly shares?: number;
  /** Whether the shares are usable now (the agent's readiness); polled every `healthIntervalMs`. */
  readonly checkHealth: (signal: AbortSignal) => Promise<boolean>;
  readonly healthIntervalMs?: number;
  /** Fallback interval at which the sockets are checked even without a file-system event. */
  readonly reconcileIntervalMs?: number;
  readonly registerTimeoutMs?: number;
  /** Environment `Allocate` gives each container; default `FERRY_ADDRESS=vsock://2:2048`. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface DevicePlugin extends AsyncDisposable {
  /** The plugin's own socket. */
  readonly socketPath: string;
  readonly healthy: boolean;
  /** How many times the kubelet accepted a registration. */
  readonly registrations: number;
  /** Stops serving, ends the kubelet's ListAndWatch streams and removes the socket. */
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Starts a kubelet device plugin (API v1beta1) that advertises `shares` units of `ferry.dev/accelerator`:
 * it serves `<pluginDir>/<endpoint>`, registers with `<pluginDir>/kubelet.sock`, reports every share
 * Healthy while `checkHealth` says so, answers `Allocate` with the guest's environment, and registers again
 * (with a fresh socket) whenever the kubelet restarts, which recreates `kubelet.sock` and clears the
 * directory.
 */
export async function createDevicePlugin(options: DevicePluginOptions): Promise<DevicePlugin> {
  const pluginDir = options.pluginDir ?? DEVICE_PLUGIN_DEFAULTS.pluginDir;
  const resourceName = options.resourceName ?? DEVICE_PLUGIN_DEFAULTS.resourceName;
  const endpoint = options.endpoint ?? DEVICE_PLUGIN_DEFAULTS.endpoint;
  const shares = options.shares ?? DEVICE_PLUGIN_DEFAULTS.shares;
  const healthIntervalMs = options.healthIntervalMs ?? DEVICE_PLUGIN_DEFAULTS.healthIntervalMs;
  const reconcileIntervalMs = options.reconcileIntervalMs ?? DEVICE_PLUGIN_DEFAULTS.reconcileIntervalMs;
  const registerTimeoutMs = options.registerTimeoutMs ?? DEVICE_PLUGIN_DEFAULTS.registerTimeoutMs;
  const env = { ...(options.env ?? DEVICE_PLUGIN_DEFAULTS.env) };
  if (typeof options.checkHealth !== 'function') throw new TypeError('createDevicePlugin needs checkHealth');
  if (!Number.isSafeInteger(shares) || shares < 1 || shares > DEVICE_PLUGIN_DEFAULTS.maxShares) {
    throw new RangeError(`shares must be an integer from 1 to ${DEVICE_PLUGIN_DEFAULTS.maxShares}, got ${shares}`);
  }
  if (!/^[a-z0-9.-]+\/[A-Za-z0-9._-]+$/.test(resourceName)) {
    throw new RangeError(`resourceName must be <domain>/<name>, got "${resourceName}"`);
  }
  if (endpoint.includes('/') || !endpoint.endsWith('.sock') || endpoint === KUBELET_SOCKET) {
    throw new RangeError(`endpoint must be a socket file name ending in .sock, got "${endpoint}"`);
  }
  for (const interval of [healthIntervalMs, reconcileIntervalMs, registerTimeoutMs]) {
    if (!Number.isFinite(interval) || interval < 10)
      throw new RangeError(`Intervals are at least 10 ms, got ${interval}`);
  }
  const socketPath = join(pluginDir, endpoint);
  const kubeletSocket = join(pluginDir, KUBELET_SOCKET);
  for (const path of [socketPath, kubeletSocket]) {
    // sun_path holds 108 bytes including the terminating NUL.
    if (Buffer.byteLength(path) > 107) {
      throw new FerryError(Code.INVALID_ARGUMENT, `Socket path ${path} is longer than the 107 bytes sun_path holds`, {
        reason: 'PATH_TOO_LONG',
      });
    }
  }
  const ids = Array.from({ length: shares }, (_, i) => `ferry-${i}`);
  const known = new Set(ids);

  let state: 'open' | 'closing' | 'closed' = 'open';
  let healthy = false;
  let registrations = 0;
  let server: Server | undefined;
  /** dev:ino of the socket our server bound, and of the kubelet socket we registered with. */
  let servedIno: string | undefined;
  let registeredIno: string | undefined;
  const streams = new Set<ServerWritableStream<Empty, ListAndWatchResponse>>();
  const controller = new AbortController();

  const deviceList = () =>
    create(ListAndWatchResponseSchema, {
      devices: ids.map((id) => create(DeviceSchema, { id, health: healthy ? 'Healthy' : 'Unhealthy' })),
    });

  const handlers = {
    GetDevicePluginOptions(_call: unknown, callback: (error: null, value: unknown) => void) {
      callback(
        null,
        create(DevicePluginOptionsSchema, { preStartRequired: false, getPreferredAllocationAvailable: true }),
      );
    },
    ListAndWatch(call: ServerWritableStream<Empty, ListAndWatchResponse>) {
      if (state !== 'open') {
        call.end();
        return;
      }
      streams.add(call);
      const forget = () => streams.delete(call);
      call.on('cancelled', forget);
      call.on('close', forget);
      call.on('error', forget);
      call.write(deviceList());
    },
    GetPreferredAllocation(
      call: { request: PreferredAllocationRequest },
      callback: (error: null, value: unknown) => void,
    ) {
      const containerResponses = call.request.containerRequests.map((request) => {
        const chosen = [...new Set([...request.mustIncludeDeviceIds, ...request.availableDeviceIds])]
          .filter((id) => known.has(id))
          .slice(0, Math.max(0, request.allocationSize));
        return create(ContainerPreferredAllocationResponseSchema, { deviceIds: chosen });
      });
      callback(null, create(PreferredAllocationResponseSchema, { containerResponses }));
    },
    Allocate(
      call: { request: AllocateRequest },
      callback: (error: Partial<ServiceError> | null, value?: AllocateResponse) => void,
    ) {
      const unknown = call.request.containerRequests.flatMap((r) => r.devicesIds).filter((id) => !known.has(id));
      if (unknown.length > 0) {
        callback({
          code: status.INVALID_ARGUMENT,
          details: `Unknown ${resourceName} ids: ${unknown.slice(0, 8).join(', ')}`,
        });
        return;
      }
      const containerResponses = call.request.containerRequests.map((request) =>
        create(ContainerAllocateResponseSchema, {
          envs: { ...env, FERRY_ACCELERATOR_SHARES: request.devicesIds.join(',') },
        }),
      );
      callback(null, create(AllocateResponseSchema, { containerResponses }));
    },
    PreStartContainer(_call: unknown, callback: (error: null, value: unknown) => void) {
      callback(null, create(PreStartContainerResponseSchema, {}));
    },
  };

  const inodeOf = async (path: string): Promise<string | undefined> => {
    try {
      const stats = await lstat(path);
      return stats.isSocket() ? `${stats.dev}:${stats.ino}` : undefined;
    } catch {
      return undefined;
    }
  };

  const stopServer = async () => {
    const old = server;
    server = undefined;
    servedIno = undefined;
    for (const stream of streams) stream.end();
    streams.clear();
    if (old) await new Promise<void>((resolve) => old.tryShutdown(() => resolve()));
  };

  const startServer = async () => {
    await stopServer();
    await mkdir(pluginDir, { recursive: true });
    await unlink(socketPath).catch(() => undefined);
    const next = new Server();
    next.addService(devicePluginService, handlers);
    await new Promise<void>((resolve, reject) =>
      next.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    server = next;
    servedIno = await inodeOf(socketPath);
  };

  const register = async (): Promise<void> => {
    const client = new Client(`unix:${kubeletSocket}`, credentials.createInsecure());
    try {
      const request = create(RegisterRequestSchema, {
        version: DEVICE_PLUGIN_API_VERSION,
        endpoint,
        resourceName,
        options: create(DevicePluginOptionsSchema, { getPreferredAllocationAvailable: true }),
      });
      const method = registrationService.Register;
      if (!method) throw new Error('v1beta1.Registration has no Register method');
      await new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          { deadline: Date.now() + registerTimeoutMs },
          (error) => (error ? reject(error) : resolve()),
        );
      });
    } finally {
      client.close();
    }
  };

  /** Brings the sockets to the wanted state: our socket served, registered with the current kubelet. */
  let reconciling: Promise<void> | undefined;
  let again = false;
  const reconcile = (): Promise<void> => {
    if (reconciling) {
      again = true;
      return reconciling;
    }
    reconciling = (async () => {
      do {
        again = false;
        if (state !== 'open') return;
        const kubeletIno = await inodeOf(kubeletSocket);
        if (!kubeletIno) continue; // the kubelet is not (yet) there: wait for its socket
        const ownIno = await inodeOf(socketPath);
        const fresh = !server || ownIno === undefined || ownIno !== servedIno;
        if (!fresh && kubeletIno === registeredIno) continue;
        try {
          // A restarted kubelet removes the plugins' sockets; serve a fresh one before registering.
          if (fresh || kubeletIno !== registeredIno) await startServer();
          if (state !== 'open') return;
          await register();
          registeredIno = kubeletIno;
          registrations++;
          kubeChannels.devicePluginRegistered.publish({ kubeletSocket, endpoint });
        } catch (error) {
          registeredIno = undefined;
          kubeChannels.devicePluginRegisterFailed.publish({ error });
        }
      } while (again && state === 'open');
    })().finally(() => {
      reconciling = undefined;
    });
    return reconciling;
  };

  const pollHealth = async () => {
    const next = await options.checkHealth(controller.signal).catch(() => false);
    if (state !== 'open' || next === healthy) return;
    healthy = next;
    kubeChannels.devicePluginHealth.publish({ healthy });
    const list = deviceList();
    for (const stream of streams) stream.write(list);
  };

  await pollHealth();
  await mkdir(pluginDir, { recursive: true });
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(pluginDir, { persistent: false }, () => void reconcile());
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // the interval below still reconciles
  }
  await reconcile();
  const reconcileTimer = setInterval(() => void reconcile(), reconcileIntervalMs);
  reconcileTimer.unref();
  let polling = false;
  const healthTimer = setInterval(() => {
    if (polling) return;
    polling = true;
    void pollHealth().finally(() => {
      polling = false;
    });
  }, healthIntervalMs);
  healthTimer.unref();

  const shutdown = async (graceful: boolean) => {
    if (state !== 'open') return;
    state = 'closing';
    controller.abort();
    clearInterval(reconcileTimer);
    clearInterval(healthTimer);
    watcher?.close();
    await reconciling?.catch(() => undefined);
    const old = server;
    server = undefined;
    for (const stream of streams) stream.end();
    streams.clear();
    if (old) {
      if (graceful) await new Promise<void>((resolve) => old.tryShutdown(() => resolve()));
      else old.forceShutdown();
    }
    if ((await inodeOf(socketPath)) === servedIno && servedIno) await unlink(socketPath).catch(() => undefined);
    state = 'closed';
  };

  return {
    socketPath,
    get healthy() {
      return healthy;
    },
    get registrations() {
      return registrations;
    },
    close: () => shutdown(true),
    destroy: () => shutdown(false),
    [Symbol.asyncDispose]: () => shutdown(true),
  };
}
