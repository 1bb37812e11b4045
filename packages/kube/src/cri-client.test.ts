import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { type AdminServerStatus, createAgent } from '@ferry/agent';
import { createAdminServer } from '@ferry/agent/admin';
import { createNoopBackend } from '@ferry/backend-noop';
import { Code } from '@ferry/core';
import { registryOf } from '@ferry/core/testing';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { createCriClient, criPodResolver } from './cri-client.js';
import {
  type ListPodSandboxRequest,
  ListPodSandboxRequestSchema,
  type ListPodSandboxResponse,
  ListPodSandboxResponseSchema,
  PodSandboxState,
  RuntimeService,
} from './gen/runtime/v1/api_pb.js';
import { createSandboxWatcher, type SandboxEvent } from './sandbox-watcher.js';

type Items = NonNullable<MessageInitShape<typeof ListPodSandboxResponseSchema>['items']>;

/** A CRI runtime service built from the same api.proto, answering ListPodSandbox with `items()` over a unix socket. */
async function criServer(
  t: TestContext,
  socket: string,
  answer: () => Items | { code: number; details: string },
): Promise<{ requests: ListPodSandboxRequest[] }> {
  const requests: ListPodSandboxRequest[] = [];
  const definition: ServiceDefinition = {
    ListPodSandbox: {
      path: `/${RuntimeService.typeName}/ListPodSandbox`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: ListPodSandboxRequest) => Buffer.from(toBinary(ListPodSandboxRequestSchema, value)),
      requestDeserialize: (bytes: Buffer) => fromBinary(ListPodSandboxRequestSchema, bytes),
      responseSerialize: (value: ListPodSandboxResponse) => Buffer.from(toBinary(ListPodSandboxResponseSchema, value)),
      responseDeserialize: (bytes: Buffer) => fromBinary(ListPodSandboxResponseSchema, bytes),
    },
  };
  const server = new Server();
  server.addService(definition, {
    ListPodSandbox(
      call: ServerUnaryCall<ListPodSandboxRequest, ListPodSandboxResponse>,
      callback: sendUnaryData<ListPodSandboxResponse>,
    ) {
      requests.push(call.request);
      const result = answer();
      if (result && 'code' in result) callback({ code: result.code, details: result.details });
      else callback(null, create(ListPodSandboxResponseSchema, { items: result }));
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  t.after(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  return { requests };
}

const ID_A = 'a'.repeat(64);
const ID_B = `${'b'.repeat(63)}c`;

const ITEMS: Items = [
  {
    id: ID_A,
    metadata: { name: 'ocr-7d9f', uid: '0b6c1e7e-1111-4c6f-9a0e-3d1f1c2b0a01', namespace: 'team-a', attempt: 0 },
    state: PodSandboxState.SANDBOX_READY,
    createdAt: 1n,
    labels: { app: 'ocr' },
    runtimeHandler: 'kata-fc',
  },
  {
    id: ID_B,
    metadata: { name: 'classify-0', uid: '0b6c1e7e-2222-4c6f-9a0e-3d1f1c2b0a02', namespace: 'team-b', attempt: 1 },
    state: PodSandboxState.SANDBOX_NOTREADY,
    runtimeHandler: 'kata-fc',
  },
];

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp('/tmp/k');
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('createCriClient()', () => {
  it('lists the pod sandboxes of a CRI runtime over its unix socket', async (t) => {
    const dir = await tempDir(t);
    const socket = join(dir, 'cri.sock');
    const server = await criServer(t, socket, () => ITEMS);
    const cri = createCriClient({ socket: `unix://${socket}` });
    t.after(() => cri.close());
    assert.deepEqual(await cri.listPodSandboxes(), [
      {
        id: ID_A,
        namespace: 'team-a',
        name: 'ocr-7d9f',
        uid: '0b6c1e7e-1111-4c6f-9a0e-3d1f1c2b0a01',
        ready: true,
        runtimeHandler: 'kata-fc',
      },
      {
        id: ID_B,
        namespace: 'team-b',
        name: 'classify-0',
        uid: '0b6c1e7e-2222-4c6f-9a0e-3d1f1c2b0a02',
        ready: false,
        runtimeHandler: 'kata-fc',
      },
    ]);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]?.filter, undefined, 'every sandbox, unfiltered');
    const pods = await criPodResolver(cri)();
    assert.deepEqual(pods.get(ID_A), {
      namespace: 'team-a',
      name: 'ocr-7d9f',
      uid: '0b6c1e7e-1111-4c6f-9a0e-3d1f1c2b0a01',
    });
    assert.equal(pods.size, 2);
  });

  it("fails with the runtime's code, naming the socket and what to check", async (t) => {
    const dir = await tempDir(t);
    const socket = join(dir, 'cri.sock');
    await criServer(t, socket, () => ({ code: status.PERMISSION_DENIED, details: 'not allowed' }));
    const cri = createCriClient({ socket });
    t.after(() => cri.close());
    await assert.rejects(cri.listPodSandboxes(), (e: { code: number; reason: string; message: string }) => {
      assert.equal(e.code, Code.PERMISSION_DENIED);
      assert.equal(e.reason, 'CRI_CALL_FAILED');
      assert.match(e.message, /not allowed/);
      assert.ok(e.message.includes(socket));
      return true;
    });
    const missing = createCriClient({ socket: join(dir, 'absent.sock'), timeoutMs: 2000 });
    t.after(() => missing.close());
    await assert.rejects(missing.listPodSandboxes(), (e: { code: number; reason: string; message: string }) => {
      assert.ok(e.code === Code.UNAVAILABLE || e.code === Code.DEADLINE_EXCEEDED, `code ${e.code}`);
      assert.equal(e.reason, 'CRI_CALL_FAILED');
      assert.match(e.message, /absent\.sock.*Check that containerd/);
      return true;
    });
    await cri.close();
    await assert.rejects(cri.listPodSandboxes(), { reason: 'CRI_CLIENT_CLOSED' });
  });

  it('names the pod of each sandbox tenant in /api/status and /metrics, once the runtime knows it', async (t) => {
    const dir = await tempDir(t);
    const root = join(dir, 'fc');
    const socket = join(dir, 'cri.sock');
    // containerd lists a sandbox only after its VM is up: the first answer does not know B yet.
    let known: Items = ITEMS.slice(0, 1);
    await criServer(t, socket, () => known);
    const cri = createCriClient({ socket });
    t.after(() => cri.close());
    for (const id of [ID_A, ID_B]) {
      await mkdir(join(root, id, 'root'), { recursive: true });
      const vm = createServer();
      await new Promise<void>((resolve) => vm.listen(join(root, id, 'root', 'kata.hvsock'), resolve));
      t.after(() => new Promise<void>((resolve) => vm.close(() => resolve())));
    }
    const agent = await createAgent({ backends: registryOf(createNoopBackend()), builtinModels: false, warmUp: false });
    t.after(() => agent.destroy());
    const events: SandboxEvent[] = [];
    let wake = () => {};
    const podEvents = async (n: number) => {
      while (events.filter((e) => e.type === 'pod').length < n) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    };
    const watcher = await createSandboxWatcher({
      agent,
      roots: [root],
      resolvePods: criPodResolver(cri),
      onEvent: (event) => {
        events.push(event);
        wake();
      },
    });
    t.after(() => watcher.close());
    const admin = await createAdminServer({ agent, source: watcher });
    t.after(() => admin.destroy());
    await podEvents(1);
    assert.equal(watcher.tenantOrigin(ID_A)?.pod?.name, 'ocr-7d9f');
    assert.deepEqual(watcher.tenantOrigin(ID_B), { sandboxId: ID_B }, 'B is not known to the runtime yet');
    // The runtime learns of B; the watcher asks again at its next scan (a served sandbox has no pod yet).
    known = ITEMS;
    await watcher.rescan();
    await podEvents(2);

    const s = (await (await fetch(`${admin.address}/api/status`)).json()) as AdminServerStatus;
    const a = s.tenants.find((x) => x.name === ID_A);
    assert.deepEqual(a?.pod, { namespace: 'team-a', name: 'ocr-7d9f', uid: '0b6c1e7e-1111-4c6f-9a0e-3d1f1c2b0a01' });
    assert.equal(a?.sandboxId, ID_A);
    assert.equal(s.tenants.find((x) => x.name === ID_B)?.pod?.name, 'classify-0');
    const metrics = await (await fetch(`${admin.address}/metrics`)).text();
    assert.ok(
      metrics.includes(
        `ferry_tenant_info{tenant="${ID_A}",sandbox_id="${ID_A}",pod_namespace="team-a",pod_name="ocr-7d9f",pod_uid="0b6c1e7e-1111-4c6f-9a0e-3d1f1c2b0a01"} 1`,
      ),
      metrics,
    );
  });
});
