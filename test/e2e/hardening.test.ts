import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Code, tensor } from '@ferry/core';
import { buildModel } from '@ferry/onnx';
import { encodeFrameHeader, encodeRequestFrame, MessageType, noopMessage } from '@ferry/protocol';
import { spawnAgent } from '../support/cli.js';
import { client, rejection, startAgent, tempDir } from '../support/fixtures.js';

/** Peak resident set of a process, in bytes (VmHWM from /proc). */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** A ~200-byte Identity model, distinct per `name`; `shape` is what it declares. */
function identityModel(name: string, shape: readonly number[] = [1, 4]): Uint8Array {
  return buildModel({
    name,
    inputs: [{ name: 'x', dtype: 'float32', shape }],
    outputs: [{ name: 'y', dtype: 'float32', shape }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: { code?: number; reason?: string }) => `${e.code}:${e.reason}`,
  );
const count = (results: readonly string[], value: string) => results.filter((r) => r === value).length;
const exhausted = (reason: string) => `${Code.RESOURCE_EXHAUSTED}:${reason}`;

describe('a hostile guest against the agent', () => {
  // Regression: the warm-up after each load allocated inputs from the declared shapes (3 GiB here) on the
  // agent's main thread, and the agent's peak RSS reached 6.5 GB.
  it('registers a model declaring float32[1,3,16384,16384] without allocating it (peak RSS < 1 GiB)', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    const agent = await spawnAgent(t, ['--listen', address]);
    const pid = agent.pid as number;
    const c = client(t, { address });
    const session = await c.createSession();
    const huge = identityModel('huge', [1, 3, 16384, 16384]);
    assert.ok(huge.byteLength < 300, `a small model (${huge.byteLength} bytes)`);
    const model = await c.registerModel(session, { bytes: huge }, { timeoutMs: 30_000 });
    assert.deepEqual(model.inputs[0]?.shape, [1, 3, 16384, 16384]);
    // The agent still serves, and a small model registered after it is warmed up and runs.
    const small = await c.registerModel(session, { bytes: identityModel('small') });
    const { y } = await c.infer(small.modelId, { x: tensor('float32', [1, 4], [1, 2, 3, 4]) });
    assert.deepEqual(y, tensor('float32', [1, 4], [1, 2, 3, 4]));
    const peak = await peakRss(pid);
    assert.ok(peak < 1024 ** 3, `agent peak RSS ${(peak / 1024 ** 2).toFixed(0)} MiB`);
  });

  // Regression: answers were written whatever the guest read, so a guest sending 1 MiB Noops and never
  // reading the echoes grew the agent's socket buffer without bound (RSS past 600 MB in 600 calls).
  it('stops reading a guest that does not read its answers (peak RSS stays bounded)', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'a.sock');
    const agent = await spawnAgent(t, ['--listen', `unix://${path}`]);
    const pid = agent.pid as number;
    const socket = netConnect(path);
    t.after(() => socket.destroy());
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const payload = new Uint8Array(1024 * 1024).fill(7);
    let sent = 0;
    let stalled = false;
    for (let streamId = 1; sent < 600 && !stalled; streamId += 2) {
      const frame = encodeRequestFrame(
        streamId,
        { service: 'ferry.v1.Accelerator', method: 'Noop' },
        noopMessage(payload),
      );
      sent++;
      if (socket.write(frame)) continue;
      // The agent has stopped reading when our own buffer does not drain within a second.
      stalled = !(await Promise.race([
        new Promise<boolean>((resolve) => socket.once('drain', () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000)),
      ]));
    }
    assert.ok(stalled, `the agent read all ${sent} MiB of requests whose answers nobody read`);
    const peak = await peakRss(pid);
    assert.ok(peak < 400 * 1024 ** 2, `agent peak RSS ${(peak / 1024 ** 2).toFixed(0)} MiB after ${sent} MiB sent`);
  });

  // Regression: ONNX Runtime's session creation overflowed the 4 MiB stack of its worker thread (SIGSEGV,
  // the agent gone) at the first model load of an agent started with 600 or more --listen flags.
  it('loads models in an agent started with 1,500 --listen flags', async (t) => {
    const dir = await tempDir(t);
    const listen = Array.from({ length: 1500 }, (_, i) => ['--listen', `unix://${join(dir, `${i}.s`)}`]).flat();
    await spawnAgent(t, listen);
    const c = client(t, { address: `unix://${join(dir, '0.s')}` });
    const model = await c.loadModel('ppocr-rec', { timeoutMs: 60_000 });
    assert.equal(model.loaded, true);
    assert.equal((await c.loadModel('ppocr-det', { timeoutMs: 60_000 })).task, 'ocr-det');
  });

  // Regression: the model limit was checked before the awaited load and never again, so 40 concurrent
  // registrations were all accepted.
  it('holds `--limit maxModelsPerTenant=4` against 40 concurrent registrations of distinct models', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    await spawnAgent(t, ['--listen', address, '--limit', 'maxModelsPerTenant=4']);
    const c = client(t, { address });
    const session = await c.createSession();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => outcome(c.registerModel(session, { bytes: identityModel(`m${i}`) }))),
    );
    assert.equal(count(results, 'ok'), 4, results.join());
    assert.equal(count(results, exhausted('TOO_MANY_MODELS')), 36, results.join());
    // The places are held by the registered models: a 41st is refused too.
    const more = await rejection(c.registerModel(session, { bytes: identityModel('m40') }));
    assert.equal(more.reason, 'TOO_MANY_MODELS');
  });
});

describe('slow peers (slowloris)', () => {
  // Without the cut-off the stalled connection never closes: the timeout turns that hang into a failure.
  it('cuts off a peer that stalls mid-frame, and keeps a connection idle between frames open', {
    timeout: 60_000,
  }, async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'a.sock');
    const agent = await startAgent(t, { listen: [`unix://${path}`], limits: { maxFrameStallMs: 300 } });
    const closes: unknown[] = [];
    const stalls: unknown[] = [];
    const onClose = (message: unknown) => closes.push(message);
    const onStall = (message: unknown) => stalls.push(message);
    subscribe('ferry:agent:connection:close', onClose);
    subscribe('ferry:agent:connection:stalled', onStall);
    t.after(() => {
      unsubscribe('ferry:agent:connection:close', onClose);
      unsubscribe('ferry:agent:connection:stalled', onStall);
    });
    // A well-behaved guest: one call, then idle.
    const idle = client(t, { address: `unix://${path}` });
    assert.deepEqual(await idle.noop(new Uint8Array([1])), new Uint8Array([1]));

    // A hostile one: a header announcing 1,000 bytes, 5 of them, then silence.
    const raw = netConnect(path);
    t.after(() => raw.destroy());
    const closed = new Promise((resolve) => raw.on('close', resolve));
    raw.write(encodeFrameHeader(1, MessageType.REQUEST, 0, 1000));
    raw.write(new Uint8Array(5));
    await closed;
    assert.deepEqual(stalls, [{ tenant: agent.listeners[0]?.tenant, bufferedBytes: 15 }]);

    // The idle guest, silent for longer than the stalled one, still has its connection.
    assert.deepEqual(await idle.noop(new Uint8Array([2])), new Uint8Array([2]));
    assert.equal(closes.length, 1, 'only the stalled connection closed');
    assert.equal(agent.stats().tenants[0]?.connections, 1);
  });
});

describe('agent limits under concurrency (just under passes, just over fails)', () => {
  it('maxModelsPerTenant: N concurrent registrations pass, N + 1 leave exactly one refused', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    await startAgent(t, { listen: [address], limits: { maxModelsPerTenant: 3 } });
    const c = client(t, { address });
    const under = await c.createSession();
    const ok = await Promise.all(
      [0, 1, 2].map((i) => outcome(c.registerModel(under, { bytes: identityModel(`u${i}`) }))),
    );
    assert.deepEqual(ok, ['ok', 'ok', 'ok']);
    await c.destroySession(under);
    const over = await c.createSession();
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) => outcome(c.registerModel(over, { bytes: identityModel(`o${i}`) }))),
    );
    assert.equal(count(results, 'ok'), 3, results.join());
    assert.equal(count(results, exhausted('TOO_MANY_MODELS')), 1, results.join());
  });

  it('maxModelBytesPerTenant: registrations reserve their bytes before the load', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    const models = [0, 1, 2, 3].map((i) => identityModel(`b${i}`));
    const size = Math.max(...models.map((m) => m.byteLength));
    await startAgent(t, { listen: [address], limits: { maxModelBytesPerTenant: size * 3 } });
    const c = client(t, { address });
    const under = await c.createSession();
    const ok = await Promise.all(models.slice(0, 3).map((bytes) => outcome(c.registerModel(under, { bytes }))));
    assert.deepEqual(ok, ['ok', 'ok', 'ok']);
    await c.destroySession(under);
    const over = await c.createSession();
    const results = await Promise.all(models.map((bytes) => outcome(c.registerModel(over, { bytes }))));
    assert.equal(count(results, 'ok'), 3, results.join());
    assert.equal(count(results, exhausted('TENANT_MODEL_BYTES')), 1, results.join());
  });

  it('modelCacheBytes: loads are admitted against the agent-wide budget before any work', async (t) => {
    const dir = await tempDir(t);
    const models = [0, 1, 2].map((i) => identityModel(`c${i}`));
    const size = Math.max(...models.map((m) => m.byteLength));
    const agent = await startAgent(t, {
      listen: [`unix://${join(dir, 'a.sock')}`, `unix://${join(dir, 'b.sock')}`],
      limits: { modelCacheBytes: size * 2 },
    });
    const [a, b] = agent.listeners.map(({ address }) => client(t, { address }));
    assert.ok(a && b);
    const [sa, sb] = await Promise.all([a.createSession(), b.createSession()]);
    // Two tenants at once: two models fit, the third is refused; none is loaded beyond the budget.
    const results = await Promise.all([
      outcome(a.registerModel(sa, { bytes: models[0] as Uint8Array })),
      outcome(b.registerModel(sb, { bytes: models[1] as Uint8Array })),
      outcome(b.registerModel(sb, { bytes: models[2] as Uint8Array })),
    ]);
    assert.equal(count(results, 'ok'), 2, results.join());
    assert.equal(count(results, exhausted('MODEL_CACHE_FULL')), 1, results.join());
    assert.ok(agent.stats().models.bytes <= size * 2);
    assert.equal(agent.stats().models.loads, 2, 'the refused model was never loaded');
  });

  it('maxSessionsPerTenant: concurrent CreateSession calls across connections', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    await startAgent(t, { listen: [address], limits: { maxSessionsPerTenant: 5 } });
    const [a, b] = [client(t, { address }), client(t, { address })];
    assert.ok(a && b);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => outcome((i % 2 ? a : b).createSession())));
    assert.equal(count(results, 'ok'), 5, results.join());
    assert.equal(count(results, exhausted('TOO_MANY_SESSIONS')), 1, results.join());
  });

  it('maxConnectionsPerTenant: connections opened at once', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    await startAgent(t, { listen: [address], limits: { maxConnectionsPerTenant: 3 } });
    const under = await Promise.all([0, 1, 2].map((i) => outcome(client(t, { address }).noop(new Uint8Array([i])))));
    assert.deepEqual(under, ['ok', 'ok', 'ok']);
    const over = await Promise.all([0, 1].map((i) => outcome(client(t, { address }).noop(new Uint8Array([i])))));
    assert.deepEqual(over, [exhausted('TOO_MANY_CONNECTIONS'), exhausted('TOO_MANY_CONNECTIONS')]);
  });
});
