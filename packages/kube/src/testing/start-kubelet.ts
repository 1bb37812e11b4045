import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import {
  type CallOptions,
  Client,
  type ClientReadableStream,
  credentials,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { devicePluginService, KUBELET_SOCKET, registrationService } from '../proto/device-plugin-api.js';
import {
  AllocateRequestSchema,
  type AllocateResponse,
  ContainerAllocateRequestSchema,
  ContainerPreferredAllocationRequestSchema,
  type DevicePluginOptions,
  EmptySchema,
  type ListAndWatchResponse,
  PreferredAllocationRequestSchema,
  type PreferredAllocationResponse,
  type RegisterRequest,
} from '../proto/gen/v1beta1/api_pb.js';

/** Values as they arrive, taken one at a time. */
export class Queue<T> {
  #values: T[] = [];
  #waiters: ((value: T) => void)[] = [];
  push(value: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(value);
    else this.#values.push(value);
  }
  next(): Promise<T> {
    if (this.#values.length > 0) return Promise.resolve(this.#values.shift() as T);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  /** The next value that satisfies `test` (earlier ones are dropped). */
  async until(test: (value: T) => boolean): Promise<T> {
    for (;;) {
      const value = await this.next();
      if (test(value)) return value;
    }
  }
}

export interface TestKubelet {
  /** Each accepted `RegisterRequest`. */
  readonly registrations: Queue<RegisterRequest>;
  /** Each list the plugin sent on ListAndWatch. */
  readonly lists: Queue<ListAndWatchResponse>;
  readonly options: Queue<DevicePluginOptions>;
  /** `Allocate` on the last registered plugin, one list of device ids per container. */
  allocate(ids: readonly string[][], callOptions?: CallOptions): Promise<AllocateResponse>;
  /** `GetPreferredAllocation` on the last registered plugin. */
  preferredAllocation(
    request: { available: readonly string[]; mustInclude: readonly string[]; size: number },
    callOptions?: CallOptions,
  ): Promise<PreferredAllocationResponse>;
  /** Stops serving and drops the connections to plugins (the socket file stays, as after a crash). */
  stop(): void;
}

function method(name: string) {
  const definition = devicePluginService[name];
  if (!definition) throw new Error(`v1beta1.DevicePlugin has no ${name}`);
  return definition;
}

/**
 * A kubelet's side of the device plugin API, built from the same v1beta1 proto: it serves `Registration`
 * on `<dir>/kubelet.sock` and, like the kubelet's device manager, dials each registering plugin back, asks
 * for its options and follows its ListAndWatch stream.
 */
export async function startKubelet(dir: string): Promise<TestKubelet> {
  const registrations = new Queue<RegisterRequest>();
  const lists = new Queue<ListAndWatchResponse>();
  const options = new Queue<DevicePluginOptions>();
  const clients: Client[] = [];
  const streams: ClientReadableStream<ListAndWatchResponse>[] = [];
  let plugin: Client | undefined;
  const server = new Server();
  server.addService(registrationService, {
    Register(call: ServerUnaryCall<RegisterRequest, unknown>, callback: (e: null, v: unknown) => void) {
      callback(null, create(EmptySchema, {}));
      plugin = new Client(`unix:${join(dir, call.request.endpoint)}`, credentials.createInsecure());
      clients.push(plugin);
      const get = method('GetDevicePluginOptions');
      plugin.makeUnaryRequest(get.path, get.requestSerialize, get.responseDeserialize, create(EmptySchema), (e, v) => {
        if (!e && v) options.push(v as DevicePluginOptions);
      });
      const watch = method('ListAndWatch');
      const stream = plugin.makeServerStreamRequest(
        watch.path,
        watch.requestSerialize,
        watch.responseDeserialize,
        create(EmptySchema),
      ) as ClientReadableStream<ListAndWatchResponse>;
      stream.on('data', (list: ListAndWatchResponse) => lists.push(list));
      stream.on('error', () => undefined);
      streams.push(stream);
      registrations.push(call.request);
    },
  });
  const unary = <T>(name: string, request: unknown, callOptions: CallOptions): Promise<T> => {
    const definition = method(name);
    return new Promise((resolve, reject) => {
      if (!plugin) {
        reject(new Error('No plugin registered yet'));
        return;
      }
      plugin.makeUnaryRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        callOptions,
        (e, v) => (e ? reject(e) : resolve(v as T)),
      );
    });
  };
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${join(dir, KUBELET_SOCKET)}`, ServerCredentials.createInsecure(), (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  return {
    registrations,
    lists,
    options,
    stop() {
      for (const stream of streams) stream.cancel();
      for (const client of clients) client.close();
      server.forceShutdown();
    },
    allocate(ids, callOptions = {}) {
      const request = create(AllocateRequestSchema, {
        containerRequests: ids.map((devicesIds) => create(ContainerAllocateRequestSchema, { devicesIds })),
      });
      return unary<AllocateResponse>('Allocate', request, callOptions);
    },
    preferredAllocation({ available, mustInclude, size }, callOptions = {}) {
      const request = create(PreferredAllocationRequestSchema, {
        containerRequests: [
          create(ContainerPreferredAllocationRequestSchema, {
            availableDeviceIds: [...available],
            mustIncludeDeviceIds: [...mustInclude],
            allocationSize: size,
          }),
        ],
      });
      return unary<PreferredAllocationResponse>('GetPreferredAllocation', request, callOptions);
    },
  };
}
