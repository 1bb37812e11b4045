import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Code, tensor } from '@ferry/core';
import { client, rejection, startAgent, tempDir } from '../support/fixtures.js';
import { slowModel } from '../support/models.js';

/** Counts the calls the agent starts, by method, until the test ends. */
function agentCallStarts(t: TestContext): Map<string, number> {
  const starts = new Map<string, number>();
  const onStart = (message: unknown) => {
    const { method } = message as { method: string };
    starts.set(method, (starts.get(method) ?? 0) + 1);
  };
  channel('ferry:agent:call:start').subscribe(onStart);
  t.after(() => channel('ferry:agent:call:start').unsubscribe(onStart));
  return starts;
}

describe('the client queues calls beyond the agent’s per-connection limit', () => {
  it('answers 1,000 concurrent calls on one client, never more in flight than the agent takes', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    const agent = await startAgent(t, { listen: [address], limits: { maxInflightPerConnection: 16 } });
    const c = client(t, { address });
    let inflight = 0;
    let peak = 0;
    const failures: number[] = [];
    const onStart = () => {
      peak = Math.max(peak, ++inflight);
    };
    const onEnd = (message: unknown) => {
      inflight--;
      const { code } = message as { code: number };
      if (code !== Code.OK) failures.push(code);
    };
    channel('ferry:agent:call:start').subscribe(onStart);
    channel('ferry:agent:call:end').subscribe(onEnd);
    t.after(() => {
      channel('ferry:agent:call:start').unsubscribe(onStart);
      channel('ferry:agent:call:end').unsubscribe(onEnd);
    });
    const payloads = Array.from({ length: 1000 }, (_, i) => randomBytes(8 + (i % 64)));
    const echoes = await Promise.all(payloads.map((p) => c.noop(p)));
    assert.deepEqual(echoes.map(Buffer.from), payloads, 'every call got its own answer');
    assert.deepEqual(failures, []);
    assert.ok(peak <= 16, `the agent ran at most its limit at once (peak ${peak})`);
    assert.equal(agent.limits.maxInflightPerConnection, 16);
  });

  it('drops a queued call whose signal aborts or whose deadline passes, without sending it', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    await startAgent(t, { listen: [address] });
    const c = client(t, { address, maxInflight: 1 });
    const { modelId } = await c.registerModel(await c.createSession(), { bytes: slowModel(40) });
    const starts = agentCallStarts(t);
    const slow = c.infer(modelId, { x: tensor('float32', [256, 256], new Float32Array(256 * 256)) });
    const controller = new AbortController();
    const aborted = c.noop(new Uint8Array([1]), { signal: controller.signal });
    const late = c.noop(new Uint8Array([2]), { timeoutMs: 1 });
    const after = c.noop(new Uint8Array([3]));
    controller.abort();
    assert.equal((await rejection(aborted)).code, Code.CANCELLED);
    assert.equal((await rejection(late)).code, Code.DEADLINE_EXCEEDED);
    await slow;
    assert.deepEqual(await after, new Uint8Array([3]));
    assert.equal(starts.get('Noop'), 1, 'only the call that was still wanted reached the agent');
  });

  it('bounds the queue: beyond maxQueuedCalls a call fails RESOURCE_EXHAUSTED CLIENT_QUEUE_FULL', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    await startAgent(t, { listen: [address] });
    const c = client(t, { address, maxInflight: 1, maxQueuedCalls: 2 });
    const { modelId } = await c.registerModel(await c.createSession(), { bytes: slowModel(20) });
    const slow = c.infer(modelId, { x: tensor('float32', [256, 256], new Float32Array(256 * 256)) });
    const queued = [c.noop(new Uint8Array([1])), c.noop(new Uint8Array([2]))];
    const refused = await rejection(c.noop(new Uint8Array([3])));
    assert.equal(refused.code, Code.RESOURCE_EXHAUSTED);
    assert.equal(refused.reason, 'CLIENT_QUEUE_FULL');
    await slow;
    assert.deepEqual(await Promise.all(queued), [new Uint8Array([1]), new Uint8Array([2])]);
  });
});
