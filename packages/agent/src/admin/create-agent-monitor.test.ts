import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { backendChannels, Code } from '@ferry/core';
import type { TenantStats } from '../agent-stats.js';
import { agentChannels, type CallEndMessage } from '../diagnostics.js';
import { type AgentMonitorOptions, createAgentMonitor, type MonitoredAgent } from './create-agent-monitor.js';

type ModelStats = ReturnType<MonitoredAgent['stats']>['models'];

const publish = (event: Partial<CallEndMessage> & Pick<CallEndMessage, 'tenant' | 'method'>) =>
  agentChannels.callEnd.publish({ streamId: 1, durationMs: 1, code: 0, inference: false, ...event });

/** An agent whose tenants and numbers the test sets. */
function fakeAgent(names: string[]) {
  const tenants = new Map<string, TenantStats>(
    names.map((name) => [name, { name, connections: 1, sessions: 0, models: 0, inflight: 0 }]),
  );
  const agent: MonitoredAgent & { tenants: Map<string, TenantStats> } = {
    tenants,
    get listeners() {
      return [...tenants.keys()].map((tenant) => ({ address: `memory:${tenant}`, tenant }));
    },
    stats: () => ({
      tenants: [...tenants.values()],
      models: { loaded: 0, loads: 0 } as ModelStats,
      backends: { default: 'noop', available: ['noop'], fallbacks: [] },
    }),
  };
  return agent;
}

function monitorFor(t: TestContext, agent: MonitoredAgent, options: Partial<AgentMonitorOptions> = {}) {
  const clock = { now: 1_000_000 };
  const monitor = createAgentMonitor({
    agent,
    sampleIntervalMs: 1000,
    isReady: () => true,
    now: () => clock.now,
    ...options,
  });
  t.after(() => monitor.close());
  return { monitor, clock };
}

const seriesOf = (monitor: ReturnType<typeof createAgentMonitor>, tenant: string) => [
  ...([...monitor.tenants()].find((v) => v.name === tenant)?.series ?? []),
];

describe('createAgentMonitor()', () => {
  it('counts each call by tenant, method, model and failure code', (t) => {
    const { monitor } = monitorFor(t, fakeAgent(['sbx-a', 'sbx-b']));
    for (let k = 0; k < 3; k++) publish({ tenant: 'sbx-a', method: 'Noop' });
    publish({ tenant: 'sbx-a', method: 'Infer', inference: true, code: Code.NOT_FOUND });
    publish({
      tenant: 'sbx-b',
      method: 'Classify',
      inference: true,
      model: 'resnet',
      durationMs: 8,
      queueMs: 2,
      computeMs: 5,
      batchSize: 4,
    });
    publish({
      tenant: 'sbx-b',
      method: 'Classify',
      inference: true,
      model: 'resnet',
      durationMs: 4,
      queueMs: 1,
      computeMs: 2,
      batchSize: 1,
    });
    publish({
      tenant: 'sbx-b',
      method: 'Classify',
      inference: true,
      model: 'resnet',
      code: Code.RESOURCE_EXHAUSTED,
      queueMs: 50,
    });

    const a = seriesOf(monitor, 'sbx-a');
    assert.deepEqual(
      a.map((s) => [s.method, s.model, s.success, Object.fromEntries(s.failures), s.inferences]),
      [
        ['Noop', '', 3, {}, 0],
        ['Infer', '', 0, { NOT_FOUND: 1 }, 0],
      ],
    );
    const [classify] = seriesOf(monitor, 'sbx-b');
    assert.ok(classify);
    assert.equal(classify.success, 2);
    assert.deepEqual(Object.fromEntries(classify.failures), { RESOURCE_EXHAUSTED: 1 });
    assert.equal(classify.inferences, 2, 'failed calls are not inferences');
    assert.equal(classify.requestUs, 12_000);
    assert.equal(classify.queueUs, 3_000, 'the failed call’s queue time is not counted');
    assert.equal(classify.computeUs, 7_000);
    assert.deepEqual([...(classify.batch?.counts ?? [])].slice(0, 4), [1, 0, 1, 0]);
    assert.equal(classify.duration.count, 3);

    const status = monitor.status();
    assert.deepEqual(
      status.tenants.map((s) => [s.name, s.requests, s.failures]),
      [
        ['sbx-a', 4, 1],
        ['sbx-b', 3, 1],
      ],
    );
    assert.equal(status.totals.requests, 7);
    // The model's mean batch: runs of 4 and 1 rows; the failed call reported none.
    assert.deepEqual(
      status.models.items.map((m) => [m.name, m.requests, m.meanBatch]),
      [['resnet', 3, 2.5]],
    );
    assert.deepEqual(
      status.models.items.map((m) => [m.name, m.requests, m.failures]),
      [['resnet', 3, 1]],
    );
  });

  it('ignores calls of tenants this agent does not serve (another agent in the process)', (t) => {
    const { monitor } = monitorFor(t, fakeAgent(['sbx-a']));
    publish({ tenant: 'elsewhere', method: 'Noop' });
    publish({ tenant: 'sbx-a', method: 'Noop' });
    assert.deepEqual(
      monitor.status().tenants.map((s) => [s.name, s.requests]),
      [['sbx-a', 1]],
    );
  });

  it('counts a tenant the agent took on after the monitor started', (t) => {
    const agent = fakeAgent([]);
    const { monitor } = monitorFor(t, agent);
    agent.tenants.set('late', { name: 'late', connections: 1, sessions: 2, models: 1, inflight: 1 });
    publish({ tenant: 'late', method: 'Noop' });
    const [late] = monitor.status().tenants;
    assert.deepEqual(late && [late.name, late.requests, late.sessions, late.inflight], ['late', 1, 2, 1]);
  });

  it('samples rates and per-interval p50/p99 into an aligned history', (t) => {
    const agent = fakeAgent(['sbx-a']);
    const { monitor, clock } = monitorFor(t, agent);
    for (let k = 1; k <= 100; k++) publish({ tenant: 'sbx-a', method: 'Noop', durationMs: k / 10 });
    clock.now += 1000;
    const first = monitor.sample();
    assert.equal(first.total.rps, 100);
    assert.equal(first.total.p50, 5);
    assert.equal(first.total.p99, 9.9);
    agent.tenants.set('sbx-b', { name: 'sbx-b', connections: 1, sessions: 0, models: 0, inflight: 3 });
    publish({ tenant: 'sbx-b', method: 'Noop', code: Code.INTERNAL, durationMs: 2 });
    clock.now += 500;
    const second = monitor.sample();
    assert.deepEqual(
      second.tenants.map((p) => [p.name, p.rps, p.eps, p.p99, p.inflight]),
      [
        ['sbx-a', 0, 0, null, 0],
        ['sbx-b', 2, 2, 2, 3],
      ],
    );
    const history = monitor.history();
    assert.deepEqual(history.t, [1_001_000, 1_001_500]);
    assert.deepEqual(history.total.rps, [100, 2]);
    const b = history.tenants.find((h) => h.name === 'sbx-b');
    assert.deepEqual(b?.rps, [null, 2], 'a tenant has no points before it appeared');
    const status = monitor.status();
    assert.equal(status.totals.requestRate, 101 / 1.5);
    assert.equal(status.tenants.find((s) => s.name === 'sbx-b')?.failureRate, 2);
    assert.equal(status.totals.inflight, 3);
  });

  it('keeps a bounded history', (t) => {
    const { monitor, clock } = monitorFor(t, fakeAgent(['sbx-a']), { limits: { historySize: 5 } });
    for (let k = 0; k < 12; k++) {
      publish({ tenant: 'sbx-a', method: 'Noop' });
      clock.now += 1000;
      monitor.sample();
    }
    const history = monitor.history();
    assert.equal(history.t.length, 5);
    assert.deepEqual(history.tenants[0]?.rps, [1, 1, 1, 1, 1]);
  });

  it('tracks at most maxTenants tenants, dropping those the agent no longer serves first', (t) => {
    const agent = fakeAgent(['a', 'b', 'c']);
    const { monitor, clock } = monitorFor(t, agent, { limits: { maxTenants: 3 } });
    monitor.sample();
    agent.tenants.delete('b');
    clock.now += 1000;
    agent.tenants.set('d', { name: 'd', connections: 1, sessions: 0, models: 0, inflight: 0 });
    publish({ tenant: 'd', method: 'Noop' });
    assert.deepEqual(
      [...monitor.tenants()].map((v) => v.name),
      ['a', 'c', 'd'],
    );
  });

  it('retires a tenant the agent dropped once its history has scrolled off', (t) => {
    const agent = fakeAgent(['a', 'gone']);
    const { monitor, clock } = monitorFor(t, agent, { limits: { historySize: 3 } });
    publish({ tenant: 'gone', method: 'Noop' });
    agent.tenants.delete('gone');
    clock.now += 1000;
    monitor.sample();
    assert.equal(monitor.status().tenants.find((s) => s.name === 'gone')?.active, false);
    clock.now += 3000;
    monitor.sample();
    assert.deepEqual(
      monitor.status().tenants.map((s) => s.name),
      ['a'],
    );
  });

  it('keeps at most maxSeriesPerTenant series, dropping the least recently used', (t) => {
    const { monitor, clock } = monitorFor(t, fakeAgent(['a']), { limits: { maxSeriesPerTenant: 2 } });
    publish({ tenant: 'a', method: 'Infer', inference: true, model: 'm1' });
    clock.now += 1;
    publish({ tenant: 'a', method: 'Infer', inference: true, model: 'm2' });
    clock.now += 1;
    publish({ tenant: 'a', method: 'Infer', inference: true, model: 'm1' });
    clock.now += 1;
    publish({ tenant: 'a', method: 'Infer', inference: true, model: 'm3' });
    assert.deepEqual(
      seriesOf(monitor, 'a').map((s) => [s.model, s.success]),
      [
        ['m1', 2],
        ['m3', 1],
      ],
    );
  });

  it('follows model loads, unloads (by sha256) and worker restarts, with bounded reasons', (t) => {
    const { monitor } = monitorFor(t, fakeAgent([]), { limits: { maxRestartReasons: 2 } });
    agentChannels.modelLoad.publish({
      name: 'resnet',
      sha256: 'ab'.repeat(32),
      backend: 'onnxruntime',
      durationMs: 250,
    });
    agentChannels.modelLoad.publish({
      name: 'tiny',
      sha256: 'cd'.repeat(32),
      backend: 'onnxruntime',
      durationMs: 5,
    });
    agentChannels.modelUnload.publish({ sha256: 'cd'.repeat(32), backend: 'onnxruntime' });
    for (const reason of ['exit 1', 'exit 1', 'oom', 'segfault', 'abort']) {
      backendChannels.workerRestart.publish({ backend: 'onnxruntime', worker: 0, reason });
    }
    const { models } = monitor.status();
    assert.deepEqual(
      models.items.map((m) => [m.name, m.loaded, m.backend, m.loadMs]),
      [
        ['resnet', true, 'onnxruntime', 250],
        ['tiny', false, 'onnxruntime', 5],
      ],
    );
    assert.equal(models.unloads, 1);
    assert.equal(models.workerRestarts, 5);
    assert.deepEqual(
      [...monitor.workerRestarts()].map((r) => [r.reason, r.count]),
      [
        ['exit 1', 2],
        ['oom', 1],
        ['other', 2],
      ],
    );
    assert.equal(monitor.modelLoadDurations().get('onnxruntime')?.count, 2);
  });

  it('stops counting after close()', (t) => {
    const { monitor } = monitorFor(t, fakeAgent(['a']));
    monitor.close();
    monitor.close();
    publish({ tenant: 'a', method: 'Noop' });
    assert.equal(monitor.status().totals.requests, 0);
  });
});
