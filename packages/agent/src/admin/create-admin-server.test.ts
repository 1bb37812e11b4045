import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { backendChannels } from '@ferry/core';
import { register as globalRegistry } from 'prom-client';
import type { TenantStats } from '../agent-stats.js';
import { agentChannels } from '../diagnostics.js';
import { type AdminServerOptions, createAdminServer } from './create-admin-server.js';
import type { MonitoredAgent } from './create-agent-monitor.js';

type ModelStats = ReturnType<MonitoredAgent['stats']>['models'];

function fakeAgent(names: string[]) {
  const tenants = new Map<string, TenantStats>(
    names.map((name) => [name, { name, connections: 2, sessions: 1, models: 1, inflight: 0 }]),
  );
  return {
    tenants,
    get listeners() {
      return [...tenants.keys()].map((tenant) => ({ address: `memory:${tenant}`, tenant }));
    },
    stats: () => ({
      tenants: [...tenants.values()],
      models: { loaded: 1, loads: 3 } as ModelStats,
      backends: { default: 'noop', available: ['noop'], fallbacks: [] },
    }),
  } satisfies MonitoredAgent & { tenants: unknown };
}

async function start(t: TestContext, options: Partial<AdminServerOptions> & { agent: MonitoredAgent }) {
  const admin = await createAdminServer({ sampleIntervalMs: 20, ...options });
  t.after(() => admin.destroy());
  return admin;
}

/** Server-sent events of a response, as they arrive. */
async function* events(response: Response): AsyncGenerator<{ event: string; data: unknown }> {
  assert.ok(response.body);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) yield { event, data: JSON.parse(data) };
    }
  }
}

describe('createAdminServer()', () => {
  it('answers /healthz, and /readyz by whether the agent listens', async (t) => {
    const agent = fakeAgent(['sbx-a']);
    const admin = await start(t, { agent });
    assert.match(admin.address, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${admin.address}/healthz`)).status, 200);
    assert.equal((await fetch(`${admin.address}/readyz`)).status, 200);
    agent.tenants.clear();
    const unready = await fetch(`${admin.address}/readyz`);
    assert.equal(unready.status, 503);
    assert.match(await unready.text(), /no listener/);
    assert.equal((await fetch(`${admin.address}/healthz`)).status, 200);
  });

  it('renders the agent metrics and process metrics in its own registry', async (t) => {
    const admin = await start(t, { agent: fakeAgent(['sbx-a']) });
    agentChannels.callEnd.publish({
      tenant: 'sbx-a',
      method: 'Infer',
      streamId: 1,
      code: 0,
      durationMs: 3,
      inference: true,
      model: 'resnet',
      queueMs: 1.5,
      computeMs: 1.25,
      batchSize: 3,
    });
    backendChannels.workerRestart.publish({ backend: 'onnxruntime', worker: 0, reason: 'exit code 134' });
    const response = await fetch(`${admin.address}/metrics`);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const line of [
      'ferry_inference_request_success_total{tenant="sbx-a",model="resnet",method="Infer"} 1',
      'ferry_inference_count{tenant="sbx-a",model="resnet"} 1',
      'ferry_inference_request_duration_us{tenant="sbx-a",model="resnet"} 3000',
      'ferry_inference_queue_duration_us{tenant="sbx-a",model="resnet"} 1500',
      'ferry_inference_compute_infer_duration_us{tenant="sbx-a",model="resnet"} 1250',
      'ferry_inference_batch_size_bucket{tenant="sbx-a",model="resnet",le="2"} 0',
      'ferry_inference_batch_size_bucket{tenant="sbx-a",model="resnet",le="4"} 1',
      'ferry_request_duration_seconds_bucket{tenant="sbx-a",method="Infer",le="0.0025"} 0',
      'ferry_request_duration_seconds_bucket{tenant="sbx-a",method="Infer",le="0.005"} 1',
      'ferry_request_duration_seconds_bucket{tenant="sbx-a",method="Infer",le="+Inf"} 1',
      'ferry_request_duration_seconds_count{tenant="sbx-a",method="Infer"} 1',
      'ferry_tenant_connections{tenant="sbx-a"} 2',
      'ferry_models_loaded 1',
      'ferry_model_loads_total 3',
      'ferry_backend_worker_restarts_total{backend="onnxruntime",reason="exit code 134"} 1',
      '# TYPE ferry_request_duration_seconds histogram',
      '# TYPE ferry_inference_request_success_total counter',
      '# TYPE ferry_inflight_requests gauge',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing: ${line}`);
    }
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
    assert.ok((await admin.registry.getMetricsAsJSON()).some((m) => m.name === 'ferry_inference_count'));
    assert.equal(globalRegistry.getSingleMetric('ferry_inference_count'), undefined, 'not the global registry');
  });

  it('streams an init snapshot then a sample every interval on /api/events', async (t) => {
    const admin = await start(t, { agent: fakeAgent(['sbx-a']) });
    const controller = new AbortController();
    t.after(() => controller.abort());
    const response = await fetch(`${admin.address}/api/events`, { signal: controller.signal });
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const seen: string[] = [];
    for await (const { event, data } of events(response)) {
      seen.push(event);
      if (event === 'init') {
        const init = data as { history: { capacity: number }; status: { tenants: { name: string }[] } };
        assert.equal(init.history.capacity, 300);
        assert.deepEqual(
          init.status.tenants.map((s) => s.name),
          ['sbx-a'],
        );
      }
      if (event === 'sample') {
        const { sample } = data as { sample: { tenants: { name: string }[] } };
        assert.deepEqual(
          sample.tenants.map((p) => p.name),
          ['sbx-a'],
        );
        break;
      }
    }
    assert.deepEqual(seen, ['init', 'sample']);
  });

  it('refuses event streams beyond maxEventClients with 503', async (t) => {
    const admin = await start(t, { agent: fakeAgent([]), maxEventClients: 1 });
    const controller = new AbortController();
    t.after(() => controller.abort());
    const first = await fetch(`${admin.address}/api/events`, { signal: controller.signal });
    assert.equal(first.status, 200);
    const second = await fetch(`${admin.address}/api/events`);
    assert.equal(second.status, 503);
    assert.equal(second.headers.get('retry-after'), '10');
    controller.abort();
    await first.body?.cancel().catch(() => {});
  });

  it('ends the event streams on close() and stops listening; close() is idempotent', async (t) => {
    const admin = await createAdminServer({ agent: fakeAgent(['sbx-a']), sampleIntervalMs: 20 });
    const response = await fetch(`${admin.address}/api/events`);
    const stream = events(response);
    assert.equal((await stream.next()).value?.event, 'init');
    await Promise.all([admin.close(), admin.close()]);
    const rest: string[] = [];
    for await (const { event } of stream) rest.push(event);
    assert.ok(rest.every((e) => e === 'sample'));
    await assert.rejects(fetch(`${admin.address}/healthz`));
    t.diagnostic(`samples after close: ${rest.length}`);
  });

  it('serves a self-contained dashboard under a strict content security policy', async (t) => {
    const admin = await start(t, { agent: fakeAgent([]) });
    const response = await fetch(`${admin.address}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    const html = await response.text();
    assert.doesNotMatch(html, /https?:\/\//, 'nothing is fetched from elsewhere');
    assert.doesNotMatch(html, /<script[^>]+src=/);
    assert.match(html, /<canvas id="chart-rps"/);
  });

  it('validates its options', async () => {
    const agent = fakeAgent([]);
    await assert.rejects(createAdminServer({ agent, sampleIntervalMs: 0 }), RangeError);
    await assert.rejects(createAdminServer({ agent, port: 70000 }), RangeError);
    await assert.rejects(createAdminServer({ agent, maxEventClients: -1 }), RangeError);
    await assert.rejects(createAdminServer({} as AdminServerOptions), TypeError);
  });
});
