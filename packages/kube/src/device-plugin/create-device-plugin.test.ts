import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { type Agent, createAdminServer, createAgent } from '@ferry/agent';
import { createNoopBackend } from '@ferry/backend-noop';
import {
  type CallOptions,
  Client,
  type ClientReadableStream,
  credentials,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { devicePluginService, KUBELET_SOCKET, registrationService } from '../proto/device-plugin-api.js';
import {
  AllocateRequestSchema,
  type AllocateResponse,
  ContainerAllocateRequestSchema,
  type DevicePluginOptions,
  EmptySchema,
  type ListAndWatchResponse,
  type RegisterRequest,
} from '../proto/gen/v1beta1/api_pb.js';
import { agentReady } from './agent-readiness.js';
import { createDevicePlugin } from './create-device-plugin.js';

/** Values as they arrive, taken one at a time. */
class Queue<T> {
  #values: T[] = [];
  #waiters: ((value: T) => void)[] = [];
  push(value: T) {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(value);
    else this.#values.push(value);
  }
  next(): Promise<T> {
    const value = this.#values.shift();
    if (value !== undefined) return Promise.resolve(value);
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

function method(service: typeof devicePluginService, name: string) {
  const definition = service[name];
  assert.ok(definition, name);
  return definition;
}

/**
 * A kubelet's side of the device plugin API, built from the same v1beta1 proto: it serves
 * `Registration` on `<dir>/kubelet.sock` and, like the kubelet's device manager, dials the plugin back on
 * each registration, asks for its options and follows its ListAndWatch stream.
 */
async function startKubelet(t: TestContext, dir: string) {
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
      const get = method(devicePluginService, 'GetDevicePluginOptions');
      plugin.makeUnaryRequest(get.path, get.requestSerialize, get.responseDeserialize, create(EmptySchema), (e, v) => {
        if (!e && v) options.push(v as DevicePluginOptions);
      });
      const watch = method(devicePluginService, 'ListAndWatch');
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
  const path = join(dir, KUBELET_SOCKET);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${path}`, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
  );
  const stop = () => {
    for (const stream of streams) stream.cancel();
    for (const client of clients) client.close();
    server.forceShutdown();
  };
  t.after(stop);
  return {
    registrations,
    lists,
    options,
    stop,
    allocate(ids: string[][], callOptions: CallOptions = {}): Promise<AllocateResponse> {
      const allocate = method(devicePluginService, 'Allocate');
      const request = create(AllocateRequestSchema, {
        containerRequests: ids.map((devicesIds) => create(ContainerAllocateRequestSchema, { devicesIds })),
      });
      return new Promise((resolve, reject) => {
        assert.ok(plugin, 'registered');
        plugin.makeUnaryRequest(
          allocate.path,
          allocate.requestSerialize,
          allocate.responseDeserialize,
          request,
          callOptions,
          (e, v) => (e ? reject(e) : resolve(v as AllocateResponse)),
        );
      });
    },
  };
}

async function setup(t: TestContext, shares = 4) {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-dp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const agent: Agent = await createAgent({ backends: [createNoopBackend()], builtinModels: false });
  t.after(() => agent.destroy());
  const tenantSocket = join(dir, 'tenant.sock');
  await agent.addListener(`unix://${tenantSocket}`);
  const admin = await createAdminServer({ agent, host: '127.0.0.1', port: 0 });
  t.after(() => admin.destroy());
  const kubelet = await startKubelet(t, dir);
  const plugin = await createDevicePlugin({
    pluginDir: dir,
    shares,
    checkHealth: (signal) => agentReady(admin.address, { signal }),
    healthIntervalMs: 20,
    reconcileIntervalMs: 50,
  });
  t.after(() => plugin.destroy());
  return { dir, agent, admin, kubelet, plugin, tenantSocket };
}

const healthOf = (list: ListAndWatchResponse) => [...new Set(list.devices.map((d) => d.health))].join();

describe('createDevicePlugin()', () => {
  it('registers ferry.dev/accelerator with the kubelet and lists N healthy shares', async (t) => {
    const { kubelet, plugin } = await setup(t, 4);
    const request = await kubelet.registrations.next();
    assert.equal(request.version, 'v1beta1');
    assert.equal(request.resourceName, 'ferry.dev/accelerator');
    assert.equal(request.endpoint, 'ferry-accelerator.sock');
    assert.equal(request.options?.getPreferredAllocationAvailable, true);
    const options = await kubelet.options.next();
    assert.equal(options.preStartRequired, false);
    const list = await kubelet.lists.next();
    assert.deepEqual(
      list.devices.map((d) => [d.id, d.health]),
      [0, 1, 2, 3].map((i) => [`ferry-${i}`, 'Healthy']),
    );
    assert.equal(plugin.healthy, true);
    assert.equal(plugin.registrations, 1);
  });

  it('sends a new list when the agent becomes unready and ready again', async (t) => {
    const { kubelet, agent, tenantSocket } = await setup(t, 3);
    assert.equal(healthOf(await kubelet.lists.next()), 'Healthy');
    // The agent with no listener answers /readyz 503.
    await agent.removeListener(`unix://${tenantSocket}`);
    const down = await kubelet.lists.until((list) => healthOf(list) !== 'Healthy');
    assert.equal(healthOf(down), 'Unhealthy');
    assert.equal(down.devices.length, 3);
    await agent.addListener(`unix://${tenantSocket}`);
    const up = await kubelet.lists.until((list) => healthOf(list) === 'Healthy');
    assert.equal(up.devices.length, 3);
  });

  it('answers Allocate with the guest environment, and refuses unknown ids', async (t) => {
    const { kubelet } = await setup(t, 2);
    await kubelet.registrations.next();
    await kubelet.lists.next();
    const response = await kubelet.allocate([['ferry-1'], ['ferry-0']]);
    assert.equal(response.containerResponses.length, 2);
    assert.deepEqual(response.containerResponses[0]?.envs, {
      FERRY_ADDRESS: 'vsock://2:2048',
      FERRY_ACCELERATOR_SHARES: 'ferry-1',
    });
    assert.equal(response.containerResponses[1]?.envs.FERRY_ACCELERATOR_SHARES, 'ferry-0');
    assert.deepEqual(response.containerResponses[0]?.devices, []);
    await assert.rejects(kubelet.allocate([['ferry-7']]), (error: ServiceError) => {
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.match(error.details, /ferry-7/);
      return true;
    });
  });

  it('registers again, on a fresh socket, when the kubelet restarts and recreates kubelet.sock', async (t) => {
    const { dir, kubelet, plugin } = await setup(t, 2);
    await kubelet.registrations.next();
    await kubelet.lists.next();
    // A kubelet restart: the old one goes away, the directory is cleared, a new socket appears.
    kubelet.stop();
    await unlink(join(dir, KUBELET_SOCKET)).catch(() => undefined);
    await unlink(plugin.socketPath);
    const restarted = await startKubelet(t, dir);
    const request = await restarted.registrations.next();
    assert.equal(request.resourceName, 'ferry.dev/accelerator');
    const list = await restarted.lists.next();
    assert.equal(list.devices.length, 2);
    assert.equal(healthOf(list), 'Healthy');
    const response = await restarted.allocate([['ferry-0']]);
    assert.equal(response.containerResponses[0]?.envs.FERRY_ADDRESS, 'vsock://2:2048');
    assert.equal(plugin.registrations, 2);
  });

  it('rejects share counts out of range', async () => {
    await assert.rejects(createDevicePlugin({ shares: 0, checkHealth: async () => true }), RangeError);
    await assert.rejects(createDevicePlugin({ shares: 5000, checkHealth: async () => true }), RangeError);
  });
});
