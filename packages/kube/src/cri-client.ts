import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { PodRef } from '@ferry/agent';
import { Code, FerryError, toCode } from '@ferry/core';
import { credentials, Client as GrpcClient, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  ListPodSandboxRequestSchema,
  ListPodSandboxResponseSchema,
  PodSandboxState,
  RuntimeService,
} from './gen/runtime/v1/api_pb.js';

/** containerd's CRI endpoint; CRI-O's is `/var/run/crio/crio.sock`. */
export const DEFAULT_CRI_SOCKET = '/run/containerd/containerd.sock';

export const CRI_DEFAULTS = {
  timeoutMs: 5000,
  /** Largest `ListPodSandbox` answer taken (a node with a thousand pods answers well under 1 MiB). */
  maxResponseBytes: 16 * 1024 * 1024,
} as const;

export interface CriClientOptions {
  /** The runtime's unix socket: a path, or `unix:///path`. */
  readonly socket: string;
  /** Deadline of each call. Default 5 s. */
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
}

/** A pod sandbox as `ListPodSandbox` reports it. */
export interface CriPodSandbox extends PodRef {
  /** The pod sandbox id: under Kata, the sandbox id in `/run/vc/firecracker/<id>`. */
  readonly id: string;
  readonly ready: boolean;
  /** The RuntimeClass handler, e.g. `kata-fc`. */
  readonly runtimeHandler: string;
}

/** A client of the Container Runtime Interface (`runtime.v1.RuntimeService`) over its unix socket. */
export interface CriClient extends AsyncDisposable {
  readonly socket: string;
  listPodSandboxes(options?: { readonly signal?: AbortSignal }): Promise<CriPodSandbox[]>;
  close(): Promise<void>;
}

const LIST_POD_SANDBOX = `/${RuntimeService.typeName}/${RuntimeService.method.listPodSandbox.name}`;

/** Creates a CRI client; it connects on the first call. */
export function createCriClient(options: CriClientOptions): CriClient {
  if (typeof options?.socket !== 'string' || options.socket === '') {
    throw new TypeError('createCriClient needs the runtime socket path');
  }
  const path = options.socket.replace(/^unix:\/\//, '');
  if (!path.startsWith('/')) throw new RangeError(`The CRI socket must be an absolute path, got ${options.socket}`);
  const timeoutMs = options.timeoutMs ?? CRI_DEFAULTS.timeoutMs;
  const maxResponseBytes = options.maxResponseBytes ?? CRI_DEFAULTS.maxResponseBytes;
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 1024) {
    throw new RangeError(`maxResponseBytes must be an integer ≥ 1024, got ${maxResponseBytes}`);
  }
  const grpc = new GrpcClient(`unix://${path}`, credentials.createInsecure(), {
    'grpc.max_receive_message_length': maxResponseBytes,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    grpc.close();
  };
  return {
    socket: path,
    listPodSandboxes({ signal } = {}) {
      if (closed) {
        return Promise.reject(
          new FerryError(Code.FAILED_PRECONDITION, `The CRI client of ${path} is closed`, {
            reason: 'CRI_CLIENT_CLOSED',
          }),
        );
      }
      signal?.throwIfAborted();
      return new Promise<CriPodSandbox[]>((resolve, reject) => {
        const call = grpc.makeUnaryRequest(
          LIST_POD_SANDBOX,
          (request: Uint8Array) => Buffer.from(request),
          (bytes: Buffer) => fromBinary(ListPodSandboxResponseSchema, bytes),
          toBinary(ListPodSandboxRequestSchema, create(ListPodSandboxRequestSchema)),
          new Metadata(),
          { deadline: Date.now() + timeoutMs },
          (error, response) => {
            signal?.removeEventListener('abort', onAbort);
            if (error || !response) {
              reject(criError(path, error));
              return;
            }
            resolve(
              response.items.map((item) => ({
                id: item.id,
                namespace: item.metadata?.namespace ?? '',
                name: item.metadata?.name ?? '',
                uid: item.metadata?.uid ?? '',
                ready: item.state === PodSandboxState.SANDBOX_READY,
                runtimeHandler: item.runtimeHandler,
              })),
            );
          },
        );
        const onAbort = () => call.cancel();
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The sandboxes' pods by sandbox id, from `ListPodSandbox`: the watcher's `resolvePods`. */
export function criPodResolver(client: Pick<CriClient, 'listPodSandboxes'>): () => Promise<Map<string, PodRef>> {
  return async () => {
    const pods = new Map<string, PodRef>();
    for (const sandbox of await client.listPodSandboxes()) {
      if (sandbox.id === '' || sandbox.name === '') continue;
      pods.set(sandbox.id, { namespace: sandbox.namespace, name: sandbox.name, uid: sandbox.uid });
    }
    return pods;
  };
}

function criError(path: string, error: ServiceError | null): FerryError {
  const code = error ? toCode(error.code) : Code.INTERNAL;
  const detail = error?.details || error?.message || 'no answer';
  return new FerryError(
    code,
    `ListPodSandbox on the CRI socket ${path} failed: ${detail}. Check that containerd (or CRI-O) runs and that ${path} is mounted into the agent's container`,
    { reason: 'CRI_CALL_FAILED', ...(error ? { cause: error } : {}) },
  );
}
