import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { type Agent, agentChannels, type ConnectionCloseMessage, createAgent } from '@ferry/agent';
import { type AdminStatus, createAdminServer } from '@ferry/agent/admin';
import { createNoopBackend } from '@ferry/backend-noop';
import { createOnnxRuntimeBackend } from '@ferry/backend-onnxruntime';
import { Code, tensor } from '@ferry/core';
import { registryOf } from '@ferry/core/testing';
import { client, rejection, tempDir } from '../support/fixtures.js';
import { mixedExpected, mixedInputs, mixedModel } from '../support/models.js';

interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface PromText {
  readonly samples: readonly PromSample[];
  /** `# TYPE` of each metric family. */
  readonly types: ReadonlyMap<string, string>;
}

const SPECIAL_VALUES = new Map([
  ['+inf', Number.POSITIVE_INFINITY],
  ['inf', Number.POSITIVE_INFINITY],
  ['-inf', Number.NEGATIVE_INFINITY],
  ['nan', Number.NaN],
]);

/** Parses the Prometheus text exposition format (0.0.4), failing on any line it does not understand. */
function parsePrometheus(text: string): PromText {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, name, type] = line.split(' ').slice(1);
      if (!name || !type) assert.fail(`bad TYPE line: ${line}`);
      types.set(name, type);
      continue;
    }
    const match = sampleLine.exec(line);
    if (!match) assert.fail(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const [, name, rawLabels = '', rawValue] = match;
    const labels: Record<string, string> = {};
    label.lastIndex = 0;
    while (label.lastIndex < rawLabels.length) {
      const l = label.exec(rawLabels);
      if (!l) assert.fail(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    // Prometheus reads values with Go's ParseFloat: `NaN` in any case (prom-client writes `Nan`), ±Inf.
    const raw = (rawValue as string).toLowerCase();
    const value = SPECIAL_VALUES.get(raw) ?? Number(raw);
    assert.ok(!Number.isNaN(value) || raw === 'nan', `bad value in ${line}`);
    samples.push({ name: name as string, labels, value });
  }
  return { samples, types };
}

/** The sum of the samples named `name` whose labels include `where`. */
function sum(prom: PromText, name: string, where: Record<string, string> = {}): number {
  return prom.samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

async function scrape(address: string): Promise<PromText> {
  const response = await fetch(`${address}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await response.text());
}

async function startAgent(t: TestContext): Promise<Agent> {
  const dir = await tempDir(t);
  const agent = await createAgent({
    backends: registryOf(createNoopBackend(), createOnnxRuntimeBackend()),
    listen: [
      { address: `unix://${join(dir, 'alpha.sock')}`, tenant: 'sbx-alpha' },
      { address: `unix://${join(dir, 'beta.sock')}`, tenant: 'sbx-beta' },
    ],
  });
  t.after(() => agent.destroy());
  return agent;
}

/** Resolves with the first status the admin server pushes that satisfies `test`. */
async function statusWhen(address: string, test: (status: AdminStatus) => boolean): Promise<AdminStatus> {
  const controller = new AbortController();
  const response = await fetch(`${address}/api/events`, { signal: controller.signal });
  assert.ok(response.body);
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const status = data ? (JSON.parse(data) as { status: AdminStatus }).status : undefined;
        if (status && test(status)) return status;
      }
    }
  } finally {
    controller.abort();
  }
  assert.fail('the event stream ended first');
}

describe('agent admin server: /metrics, /healthz, /readyz, /api/status', () => {
  it('counts every call per tenant, method, model and code, exactly', async (t) => {
    const agent = await startAgent(t);
    const admin = await createAdminServer({ agent, sampleIntervalMs: 50 });
    t.after(() => admin.destroy());
    const [alphaAddress, betaAddress] = agent.listeners.map((l) => l.address);
    const alpha = client(t, { address: alphaAddress as string });
    const beta = client(t, { address: betaAddress as string });

    const NOOPS = 12;
    const INFERS = 7;
    const payloads = Array.from({ length: NOOPS }, (_, k) => randomBytes(16 + k));
    const echoes = await Promise.all(payloads.map((p) => alpha.noop(p)));
    assert.deepEqual(echoes.map(Buffer.from), payloads);
    for (let k = 0; k < 3; k++) {
      const error = await rejection(alpha.infer(4242 + k, mixedInputs(k)));
      assert.equal(error.code, Code.NOT_FOUND);
    }
    const session = await beta.createSession();
    const { modelId } = await beta.registerModel(session, { bytes: mixedModel(), backend: 'onnxruntime' });
    const results = await Promise.all(
      Array.from({ length: INFERS }, (_, k) => beta.infer(modelId, mixedInputs(k, 1 + (k % 3)))),
    );
    for (const [k, out] of results.entries()) assert.deepEqual(out, mixedExpected(mixedInputs(k, 1 + (k % 3))));
    const badShape = await rejection(
      beta.infer(modelId, { ...mixedInputs(1), x: tensor('float32', [2, 4], new Float32Array(8)) }),
    );
    assert.equal(badShape.code, Code.INVALID_ARGUMENT);

    const prom = await scrape(admin.address);
    // Each family is declared, and every sample belongs to a declared family.
    for (const s of prom.samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(prom.types.has(s.name) || prom.types.has(family), `no TYPE for ${s.name}`);
    }
    const ok = 'ferry_inference_request_success_total';
    const failed = 'ferry_inference_request_failure_total';
    assert.equal(sum(prom, ok, { tenant: 'sbx-alpha', method: 'Noop' }), NOOPS);
    assert.equal(sum(prom, ok, { tenant: 'sbx-alpha' }), NOOPS);
    assert.equal(sum(prom, failed, { tenant: 'sbx-alpha', method: 'Infer', code: 'NOT_FOUND' }), 3);
    assert.equal(sum(prom, failed, { tenant: 'sbx-alpha' }), 3);
    assert.equal(sum(prom, ok, { tenant: 'sbx-beta', method: 'CreateSession' }), 1);
    assert.equal(sum(prom, ok, { tenant: 'sbx-beta', method: 'RegisterModel' }), 1);
    assert.equal(sum(prom, ok, { tenant: 'sbx-beta', method: 'Infer' }), INFERS);
    assert.equal(sum(prom, ok, { tenant: 'sbx-beta', method: 'Noop' }), 0);
    assert.equal(sum(prom, failed, { tenant: 'sbx-beta', method: 'Infer', code: 'INVALID_ARGUMENT' }), 1);
    assert.equal(sum(prom, failed, { tenant: 'sbx-beta' }), 1);
    assert.ok(
      prom.samples.filter((s) => s.name === ok || s.name === failed).every((s) => 'model' in s.labels),
      'request counters carry a model label',
    );

    assert.equal(sum(prom, 'ferry_inference_count', { tenant: 'sbx-beta' }), INFERS);
    assert.equal(sum(prom, 'ferry_inference_count', { tenant: 'sbx-alpha' }), 0, 'failed calls are no inferences');
    assert.ok(sum(prom, 'ferry_inference_request_duration_us', { tenant: 'sbx-beta' }) > 0);
    for (const name of ['ferry_inference_queue_duration_us', 'ferry_inference_compute_infer_duration_us']) {
      assert.equal(prom.types.get(name), 'counter', name);
    }

    const histogram = 'ferry_request_duration_seconds';
    assert.equal(prom.types.get(histogram), 'histogram');
    assert.equal(sum(prom, `${histogram}_count`, { tenant: 'sbx-alpha', method: 'Noop' }), NOOPS);
    assert.equal(sum(prom, `${histogram}_count`, { tenant: 'sbx-alpha', method: 'Infer' }), 3);
    assert.equal(sum(prom, `${histogram}_count`, { tenant: 'sbx-beta', method: 'Infer' }), INFERS + 1);
    const buckets = prom.samples.filter(
      (s) => s.name === `${histogram}_bucket` && s.labels.tenant === 'sbx-alpha' && s.labels.method === 'Noop',
    );
    assert.deepEqual(
      buckets.map((b) => b.value),
      [...buckets.map((b) => b.value)].sort((a, b) => a - b),
      'buckets are cumulative',
    );
    assert.equal(buckets.at(-1)?.labels.le, '+Inf');
    assert.equal(buckets.at(-1)?.value, NOOPS);

    for (const tenant of ['sbx-alpha', 'sbx-beta']) {
      assert.equal(sum(prom, 'ferry_tenant_connections', { tenant }), 1, tenant);
      assert.equal(sum(prom, 'ferry_inflight_requests', { tenant }), 0, tenant);
    }
    assert.equal(sum(prom, 'ferry_tenant_sessions', { tenant: 'sbx-beta' }), 1);
    assert.equal(sum(prom, 'ferry_tenant_models', { tenant: 'sbx-beta' }), 1);
    assert.equal(sum(prom, 'ferry_tenant_sessions', { tenant: 'sbx-alpha' }), 0);
    assert.equal(sum(prom, 'ferry_models_loaded'), 1);
    assert.equal(sum(prom, 'ferry_model_loads_total'), 1);
    assert.equal(sum(prom, 'ferry_backend_worker_restarts_total'), 0);
    assert.equal(prom.types.get('ferry_backend_worker_restarts_total'), 'counter');
    assert.equal(prom.types.get('ferry_inference_batch_size'), 'histogram');
    assert.equal(sum(prom, 'ferry_inference_batch_size_count', { tenant: 'sbx-beta' }), INFERS);
    assert.equal(prom.types.get('ferry_inference_queue_duration_seconds'), 'histogram');
    assert.equal(sum(prom, 'ferry_inference_queue_duration_seconds_count', { tenant: 'sbx-beta' }), INFERS);
    assert.ok(sum(prom, 'process_cpu_user_seconds_total') > 0, 'default process metrics');
    assert.ok(sum(prom, 'nodejs_heap_size_used_bytes') > 0);

    // The status: the same counts, plus what a dashboard shows.
    const status = (await (await fetch(`${admin.address}/api/status`)).json()) as AdminStatus;
    assert.equal(status.ready, true);
    assert.equal(status.listeners, 2);
    assert.deepEqual(
      status.tenants.map((s) => [
        s.name,
        s.active,
        s.connections,
        s.sessions,
        s.models,
        s.inflight,
        s.requests,
        s.failures,
      ]),
      [
        ['sbx-alpha', true, 1, 0, 0, 0, NOOPS + 3, 3],
        ['sbx-beta', true, 1, 1, 1, 0, INFERS + 3, 1],
      ],
    );
    for (const s of status.tenants) {
      assert.ok(s.p50Ms !== null && s.p99Ms !== null && s.p50Ms > 0 && s.p50Ms <= s.p99Ms, `${s.name} p50 ≤ p99`);
    }
    assert.equal(status.totals.requests, NOOPS + INFERS + 6);
    assert.equal(status.totals.failures, 4);
    assert.equal(status.totals.tenants, 2);
    assert.equal(status.totals.connections, 2);
    assert.deepEqual([status.models.loaded, status.models.loads], [1, 1]);
    assert.ok(status.uptimeSeconds >= 0);
    assert.ok(!Number.isNaN(Date.parse(status.startedAt)));

    // Rates come from the samples: the next one that has seen these calls shows them.
    const sampled = await statusWhen(admin.address, (s) => s.tenants.every((x) => x.requestRate > 0));
    assert.ok((sampled.tenants.find((s) => s.name === 'sbx-alpha')?.failureRate ?? 0) > 0);
    assert.equal(sampled.tenants.find((s) => s.name === 'sbx-beta')?.requests, INFERS + 3);
  });

  it('counts closed connections and drops the gauges of a removed tenant', async (t) => {
    const agent = await startAgent(t);
    const admin = await createAdminServer({ agent, sampleIntervalMs: 50 });
    t.after(() => admin.destroy());
    const beta = agent.listeners.find((l) => l.tenant === 'sbx-beta')?.address as string;
    const closed = new Promise<void>((resolve) => {
      const onClose = (message: ConnectionCloseMessage) => {
        if (message.tenant !== 'sbx-beta') return;
        agentChannels.connectionClose.unsubscribe(onClose);
        resolve();
      };
      agentChannels.connectionClose.subscribe(onClose);
    });
    const c = client(t, { address: beta });
    await c.noop(new Uint8Array(4));
    await c.close();
    await closed;
    let prom = await scrape(admin.address);
    assert.equal(sum(prom, 'ferry_connections_closed_total', { tenant: 'sbx-beta' }), 1);
    assert.equal(sum(prom, 'ferry_tenant_connections', { tenant: 'sbx-beta' }), 0);

    await agent.removeListener(beta);
    prom = await scrape(admin.address);
    assert.equal(
      prom.samples.filter((s) => s.name === 'ferry_tenant_connections' && s.labels.tenant === 'sbx-beta').length,
      0,
    );
    assert.equal(
      sum(prom, 'ferry_inference_request_success_total', { tenant: 'sbx-beta' }),
      1,
      'its counters stay a while',
    );
    const status = admin.status();
    assert.equal(status.tenants.find((s) => s.name === 'sbx-beta')?.active, false);
    assert.equal(status.totals.tenants, 1);
  });

  it('answers /healthz while running and /readyz only while the agent listens', async (t) => {
    const agent = await startAgent(t);
    const admin = await createAdminServer({ agent });
    t.after(() => admin.destroy());
    assert.equal((await fetch(`${admin.address}/healthz`)).status, 200);
    assert.equal((await fetch(`${admin.address}/readyz`)).status, 200);
    await agent.close();
    assert.equal((await fetch(`${admin.address}/readyz`)).status, 503);
    assert.equal((await fetch(`${admin.address}/healthz`)).status, 200);
    assert.equal(admin.status().ready, false);
    await admin.close();
    await assert.rejects(fetch(`${admin.address}/healthz`));
  });
});
