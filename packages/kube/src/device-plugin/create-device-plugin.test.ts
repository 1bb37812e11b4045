import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { type Agent, createAgent } from '@ferry/agent';
import { createAdminServer } from '@ferry/agent/admin';
import { createNoopBackend } from '@ferry/backend-noop';
import { registryOf } from '@ferry/core/testing';
import { type ServiceError, status } from '@grpc/grpc-js';
import { KUBELET_SOCKET } from '../proto/device-plugin-api.js';
import type { ListAndWatchResponse } from '../proto/gen/v1beta1/api_pb.js';
import { startKubelet as startTestKubelet } from '../testing/start-kubelet.js';
import { agentReady } from './agent-readiness.js';
import { createDevicePlugin } from './create-device-plugin.js';

async function startKubelet(t: TestContext, dir: string) {
  const kubelet = await startTestKubelet(dir);
  t.after(() => kubelet.stop());
  return kubelet;
}

async function setup(t: TestContext, shares = 4) {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-dp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const agent: Agent = await createAgent({ backends: registryOf(createNoopBackend()), builtinModels: false });
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

  it('answers Allocate with the guest environment and GetPreferredAllocation, and refuses unknown ids', async (t) => {
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
    const preferred = await kubelet.preferredAllocation({
      available: ['ferry-0', 'ferry-1', 'ferry-9'],
      mustInclude: ['ferry-1'],
      size: 2,
    });
    assert.deepEqual(preferred.containerResponses[0]?.deviceIds, ['ferry-1', 'ferry-0']);
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
