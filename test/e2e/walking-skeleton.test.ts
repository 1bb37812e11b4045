import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createOnnxRuntimeBackend } from '@ferry/backend-onnxruntime';
import { bytesPerElement, Code, type DType, DTypes, type NumericDType, type TensorMap, tensor } from '@ferry/core';
import { buildModel } from '@ferry/onnx';
import { createFrameDecoder, decodeResponse, encodeFrameHeader, MessageType } from '@ferry/protocol';
import { client, rejection, startAgent, tempDir } from '../support/fixtures.js';
import { busyModel, mixedExpected, mixedInputs, mixedModel, slowModel } from '../support/models.js';

describe('guest SDK ↔ ttrpc ↔ agent ↔ ONNX Runtime', () => {
  for (const transport of ['unix', 'tcp'] as const) {
    it(`matches every response to its request with several clients × many concurrent calls over ${transport}`, async (t) => {
      const dir = await tempDir(t);
      const listen = transport === 'unix' ? `unix://${join(dir, 'a.sock')}` : 'tcp://127.0.0.1:0';
      const agent = await startAgent(t, { listen: [listen] });
      const address = agent.listeners[0]?.address as string;
      const clients = Array.from({ length: 4 }, () => client(t, { address }));
      const model = mixedModel();
      await Promise.all(
        clients.map(async (c, ci) => {
          const session = await c.createSession();
          const { modelId } = await c.registerModel(session, { bytes: model });
          await Promise.all(
            Array.from({ length: 25 }, async (_, k) => {
              const seed = ci * 100 + k;
              const payload = randomBytes(64 + k);
              const [echo, outputs] = await Promise.all([
                c.noop(payload),
                c.infer(modelId, mixedInputs(seed, 1 + (k % 3))),
              ]);
              assert.deepEqual(Buffer.from(echo), payload);
              assert.deepEqual(outputs, mixedExpected(mixedInputs(seed, 1 + (k % 3))));
            }),
          );
        }),
      );
      assert.equal(agent.stats().models.loads, 1, 'the same bytes from four clients load once');
    });
  }

  it('gives bit-identical outputs remotely and in-process', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, { listen: [`unix://${join(dir, 'a.sock')}`] });
    const c = client(t, { address: agent.listeners[0]?.address as string });
    const local = createOnnxRuntimeBackend();
    t.after(() => local.close());
    const inProcess = await local.load(mixedModel());
    const session = await c.createSession();
    const remote = await c.registerModel(session, { bytes: mixedModel() });
    assert.deepEqual(remote.inputs, inProcess.inputs);
    assert.deepEqual(remote.outputs, inProcess.outputs);
    for (const seed of [1, 2, 3]) {
      const inputs = mixedInputs(seed, 4);
      assert.deepEqual(await c.infer(remote.modelId, inputs), await inProcess.run(inputs));
    }
  });

  it('round-trips every ONNX Runtime tensor type bit-exactly, strings included', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, { listen: [`unix://${join(dir, 'a.sock')}`] });
    const c = client(t, { address: agent.listeners[0]?.address as string });
    const session = await c.createSession();
    // onnxruntime-node has no bfloat16 model inputs ("Unsupported data type: 16"); Ferry's wire does.
    const dtypes: DType[] = DTypes.filter((d) => d !== 'bfloat16');
    const numeric = dtypes.filter((d): d is NumericDType => d !== 'string');
    const model = buildModel({
      name: 'identity-all',
      inputs: dtypes.map((dtype) => ({ name: `in_${dtype}`, dtype, shape: ['n'] })),
      outputs: dtypes.map((dtype) => ({ name: `out_${dtype}`, dtype, shape: ['n'] })),
      nodes: dtypes.map((dtype) => ({ op: 'Identity', inputs: [`in_${dtype}`], outputs: [`out_${dtype}`] })),
    });
    const { modelId } = await c.registerModel(session, { bytes: model });
    const n = 5;
    const inputs: TensorMap = {
      // No embedded NUL: onnxruntime-node passes strings to ONNX Runtime as C strings and cuts them there.
      in_string: { dtype: 'string', shape: [n], data: ['', 'ascii', 'ünïcödé', '🚢 ferry', 'tab\tnew\nline'] },
    };
    for (const dtype of numeric) {
      // Every byte pattern is a valid element except for bool (0 or 1): use random bytes.
      const bytes = new Uint8Array(randomBytes(n * bytesPerElement(dtype)));
      if (dtype === 'bool') for (let i = 0; i < bytes.length; i++) bytes[i] = (bytes[i] as number) & 1;
      inputs[`in_${dtype}`] = { dtype, shape: [n], data: bytes };
    }
    const outputs = await c.infer(modelId, inputs);
    assert.equal(Object.keys(outputs).length, 13);
    for (const dtype of dtypes) assert.deepEqual(outputs[`out_${dtype}`], inputs[`in_${dtype}`], dtype);
  });

  it('scopes ids to the tenant: another tenant sees NOT_FOUND', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, {
      listen: [
        { address: `unix://${join(dir, 'a.sock')}`, tenant: 'sbx-a' },
        { address: `unix://${join(dir, 'b.sock')}`, tenant: 'sbx-b' },
      ],
    });
    const [a, b] = agent.listeners.map((l) => client(t, { address: l.address }));
    assert.ok(a && b);
    assert.equal((await a.serverInfo()).tenant, 'sbx-a');
    assert.equal((await b.serverInfo()).tenant, 'sbx-b');
    const session = await a.createSession();
    const { modelId, reused } = await a.registerModel(session, { bytes: mixedModel() });
    assert.equal(reused, false);
    const other = await b.createSession();
    const shared = await b.registerModel(other, { bytes: mixedModel() });
    assert.equal(shared.reused, true, 'same bytes, other tenant: the loaded model is shared');
    assert.equal(agent.stats().models.loads, 1);

    const foreignModel = await rejection(b.infer(modelId === shared.modelId ? modelId + 1 : modelId, mixedInputs(1)));
    assert.equal(foreignModel.code, Code.NOT_FOUND);
    await b.unregisterModel(shared.modelId);
    const afterUnregister = await rejection(b.infer(shared.modelId, mixedInputs(1)));
    assert.equal(afterUnregister.code, Code.NOT_FOUND);
    assert.match(afterUnregister.message, /tenant "sbx-b"/);
    const foreignSession = await rejection(b.registerModel(session + 1000, { bytes: mixedModel() }));
    assert.equal(foreignSession.code, Code.NOT_FOUND);
    await b.destroySession(other);
    const destroyed = await rejection(b.destroySession(other));
    assert.equal(destroyed.code, Code.NOT_FOUND);
    // Tenant A's model is untouched by all of that.
    assert.deepEqual(await a.infer(modelId, mixedInputs(5)), mixedExpected(mixedInputs(5)));
  });

  it('rejects wrong tensor names, dtypes and shapes with INVALID_ARGUMENT naming the signature', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, { listen: [`unix://${join(dir, 'a.sock')}`] });
    const c = client(t, { address: agent.listeners[0]?.address as string });
    const { modelId } = await c.registerModel(await c.createSession(), { bytes: mixedModel() });
    const good = mixedInputs(1);
    const cases = {
      'unknown name': { ...good, bogus: tensor('float32', [1], [1]) },
      'wrong dtype': { ...good, x: tensor('float64', [2, 3], [1, 2, 3, 4, 5, 6]) },
      'wrong shape': { ...good, x: tensor('float32', [2, 4], new Float32Array(8)) },
    };
    for (const [what, inputs] of Object.entries(cases)) {
      const error = await rejection(c.infer(modelId, inputs));
      assert.equal(error.code, Code.INVALID_ARGUMENT, what);
      assert.match(error.message, /x: float32\[batch, 3\]/, what);
    }
    const unknown = await rejection(c.infer(modelId + 99, good));
    assert.equal(unknown.code, Code.NOT_FOUND);
    assert.equal(unknown.reason, 'MODEL_NOT_FOUND');
    const noSession = await rejection(c.destroySession(4242));
    assert.equal(noSession.reason, 'SESSION_NOT_FOUND');
    const garbageModel = await rejection(c.registerModel(await c.createSession(), { bytes: randomBytes(300) }));
    assert.equal(garbageModel.code, Code.INVALID_ARGUMENT);
  });

  it('closes only the offending connection on an oversized frame, without reading it', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'a.sock');
    const agent = await startAgent(t, { listen: [`unix://${path}`], limits: { maxFrameBytes: 64 * 1024 } });
    const bystander = client(t, { address: `unix://${path}` });
    await bystander.noop(new Uint8Array([1]));

    const raw = netConnect(path);
    t.after(() => raw.destroy());
    const received: Buffer[] = [];
    raw.on('data', (d) => received.push(d));
    const closed = new Promise((resolve) => raw.on('close', resolve));
    // Claims 1 GiB on stream 7: the agent must answer stream 7 and hang up without waiting for it.
    raw.write(encodeFrameHeader(7, MessageType.REQUEST, 0, 1 << 30, { maxFrameBytes: 0xffff_ffff }));
    await closed;
    const frames = createFrameDecoder().push(Buffer.concat(received));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]?.streamId, 7);
    assert.equal(frames[0]?.type, MessageType.RESPONSE);
    const { status } = decodeResponse(frames[0]?.payload as Uint8Array);
    assert.equal(status.code, Code.RESOURCE_EXHAUSTED);
    assert.equal(status.reason, 'FRAME_TOO_LARGE');

    // The bystander's connection and the agent carried on.
    assert.deepEqual(await bystander.noop(new Uint8Array([2, 3])), new Uint8Array([2, 3]));
    assert.equal(agent.stats().tenants[0]?.connections, 1);
    // Through the SDK: the oversized call fails with RESOURCE_EXHAUSTED, the next call reconnects.
    const tooBig = await rejection(bystander.noop(new Uint8Array(100 * 1024)));
    assert.equal(tooBig.code, Code.RESOURCE_EXHAUSTED);
    assert.deepEqual(await bystander.noop(new Uint8Array([4])), new Uint8Array([4]));
  });

  it('answers a connection over the tenant limit with RESOURCE_EXHAUSTED, and refuses a missing model directory', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    await startAgent(t, { listen: [address], limits: { maxConnectionsPerTenant: 2 } });
    const [first, second, third] = [1, 2, 3].map(() => client(t, { address }));
    assert.ok(first && second && third);
    await first.noop(new Uint8Array([1]));
    await second.noop(new Uint8Array([2]));
    const refused = await rejection(third.noop(new Uint8Array([3])));
    assert.equal(refused.code, Code.RESOURCE_EXHAUSTED);
    assert.equal(refused.reason, 'TOO_MANY_CONNECTIONS');
    await first.close();
    await waitFor(() => true);
    assert.deepEqual(await second.noop(new Uint8Array([4])), new Uint8Array([4]));

    const missing = await rejection(startAgent(t, { modelDir: join(dir, 'no-such-dir') }));
    assert.equal(missing.code, Code.FAILED_PRECONDITION);
    assert.equal(missing.reason, 'NO_MODEL_DIRECTORY');
  });

  it('holds every per-tenant count to its limit with RESOURCE_EXHAUSTED', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    await startAgent(t, {
      listen: [address],
      limits: { maxSessionsPerTenant: 2, maxModelsPerTenant: 2, maxTensorsPerCall: 5, maxInflightPerConnection: 2 },
    });
    // No local queue: the agent's own refusal comes through (a queueing client would hold the third call).
    const c = client(t, { address, maxQueuedCalls: 0 });
    const [s1] = [await c.createSession(), await c.createSession()];
    const sessions = await rejection(c.createSession());
    assert.equal(sessions.reason, 'TOO_MANY_SESSIONS');
    assert.equal(sessions.code, Code.RESOURCE_EXHAUSTED);
    const { modelId } = await c.registerModel(s1 as number, { bytes: mixedModel() });
    const { modelId: slow } = await c.registerModel(s1 as number, { bytes: busyModel() });
    const models = await rejection(c.registerModel(s1 as number, { bytes: mixedModel() }));
    assert.equal(models.reason, 'TOO_MANY_MODELS');
    const tensors = await rejection(c.infer(modelId, { ...mixedInputs(1), extra: tensor('uint8', [1], [1]) }));
    assert.equal(tensors.reason, 'TOO_MANY_TENSORS');
    assert.equal(tensors.code, Code.RESOURCE_EXHAUSTED);
    const x = tensor('float32', [1, 1], [0.5]);
    const calls = [1, 2, 3].map(() =>
      c.infer(slow, { x }).then(
        () => 'ok',
        (e) => e.reason as string,
      ),
    );
    assert.deepEqual((await Promise.all(calls)).sort(), ['TOO_MANY_INFLIGHT', 'ok', 'ok']);
  });

  it('holds a tenant to its in-flight total across connections and to its call rate', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    await startAgent(t, { listen: [address], limits: { maxInflightPerTenant: 2 } });
    const [a, b] = [client(t, { address }), client(t, { address })];
    assert.ok(a && b);
    const { modelId } = await a.registerModel(await a.createSession(), { bytes: busyModel() });
    const { modelId: onB } = await b.registerModel(await b.createSession(), { bytes: busyModel() });
    const x = tensor('float32', [1, 1], [0.5]);
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e) => e.reason as string,
      );
    const results = await Promise.all([
      outcome(a.infer(modelId, { x })),
      outcome(a.infer(modelId, { x })),
      outcome(b.infer(onB, { x })),
      outcome(b.infer(onB, { x })),
    ]);
    assert.equal(results.filter((r) => r === 'ok').length, 2, results.join());
    assert.equal(results.filter((r) => r === 'TENANT_INFLIGHT_LIMIT').length, 2, results.join());

    const limited = `unix://${join(dir, 'b.sock')}`;
    await startAgent(t, { listen: [limited], limits: { maxCallsPerSecondPerTenant: 5 } });
    const c = client(t, { address: limited });
    const noops: string[] = [];
    for (let i = 0; i < 12; i++) noops.push(await outcome(c.noop(new Uint8Array([i]))));
    assert.ok(noops.filter((r) => r === 'ok').length >= 5, noops.join());
    assert.ok(noops.includes('RATE_LIMITED'), noops.join());
  });

  it('survives garbage bytes: that connection closes, other tenants carry on', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, {
      listen: [
        { address: `unix://${join(dir, 'a.sock')}`, tenant: 'a' },
        { address: `unix://${join(dir, 'b.sock')}`, tenant: 'b' },
      ],
    });
    const other = client(t, { address: `unix://${join(dir, 'b.sock')}` });
    await other.noop(new Uint8Array([1]));
    for (const garbage of [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.concat([encodeFrameHeader(1, MessageType.REQUEST, 0, 16), randomBytes(16)]),
      Buffer.concat([encodeFrameHeader(2, MessageType.REQUEST, 0, 0)]),
      Buffer.concat([encodeFrameHeader(1, MessageType.DATA, 0, 3), Buffer.from('abc')]),
    ]) {
      const raw = netConnect(join(dir, 'a.sock'));
      t.after(() => raw.destroy());
      raw.on('error', () => {});
      raw.resume();
      const closed = new Promise((resolve) => raw.on('close', resolve));
      raw.write(garbage);
      await closed;
    }
    assert.deepEqual(await other.noop(new Uint8Array([9])), new Uint8Array([9]));
    const again = client(t, { address: `unix://${join(dir, 'a.sock')}` });
    assert.equal((await again.serverInfo()).tenant, 'a');
    assert.equal(agent.listeners.length, 2);
  });

  it('fails with DEADLINE_EXCEEDED when the deadline passes, and never delays a Noop behind a long inference', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, { listen: [`unix://${join(dir, 'a.sock')}`] });
    const c = client(t, { address: agent.listeners[0]?.address as string });
    const { modelId } = await c.registerModel(await c.createSession(), { bytes: slowModel() });
    const x = tensor('float32', [256, 256], new Float32Array(256 * 256).fill(0.5));
    const order: string[] = [];
    const slow = c.infer(modelId, { x }).then(() => order.push('infer'));
    const noops = Promise.all(Array.from({ length: 5 }, () => c.noop(new Uint8Array(8)))).then(() =>
      order.push('noop'),
    );
    await Promise.all([slow, noops]);
    assert.deepEqual(order, ['noop', 'infer'], 'noops answered while the inference was still running');

    const late = await rejection(c.infer(modelId, { x }, { timeoutMs: 1 }));
    assert.equal(late.code, Code.DEADLINE_EXCEEDED);
    const controller = new AbortController();
    const cancelled = c.infer(modelId, { x }, { signal: controller.signal });
    controller.abort();
    assert.equal((await rejection(cancelled)).code, Code.CANCELLED);
    // The connection is still good afterwards.
    assert.deepEqual(await c.noop(new Uint8Array([4])), new Uint8Array([4]));
  });

  it('reports UNAVAILABLE naming the address when no agent is there, and reconnects when one comes back', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    // The client retries while nothing listens (a microVM's first seconds); keep that window short here.
    const c = client(t, { address, connectTimeoutMs: 500 });
    const down = await rejection(c.noop(new Uint8Array([1])));
    assert.equal(down.code, Code.UNAVAILABLE);
    assert.ok(down.message.includes(address), down.message);

    const first = await startAgent(t, { listen: [address] });
    assert.deepEqual(await c.noop(new Uint8Array([1])), new Uint8Array([1]));
    await first.close();
    const gone = await rejection(c.noop(new Uint8Array([2])));
    assert.equal(gone.code, Code.UNAVAILABLE);
    await startAgent(t, { listen: [address] });
    assert.deepEqual(await c.noop(new Uint8Array([3])), new Uint8Array([3]));
  });

  it('drains calls in flight on close(), and releases sessions when their connection closes', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'a.sock')}`;
    const agent = await startAgent(t, { listen: [{ address, tenant: 't' }] });
    const c = client(t, { address });
    const { modelId } = await c.registerModel(await c.createSession(), { bytes: slowModel(20) });
    assert.equal(agent.stats().tenants[0]?.sessions, 1);
    const x = tensor('float32', [256, 256], new Float32Array(256 * 256).fill(0.25));
    const other = client(t, { address });
    await other.createSession();
    await other.close();
    await waitFor(() => agent.stats().tenants[0]?.sessions === 1);

    const inflight = c.infer(modelId, { x });
    await waitFor(() => agent.stats().tenants[0]?.inflight === 1);
    const closing = agent.close();
    const { y } = await inflight;
    assert.deepEqual(y?.shape, [256, 256]);
    await closing;
    assert.equal(agent.stats().models.loaded, 0);
    const after = await rejection(client(t, { address, connectTimeoutMs: 500 }).noop(new Uint8Array([1])));
    assert.equal(after.code, Code.UNAVAILABLE);
  });
});

/** Polls a condition on the event loop (no timers): state that changes on socket events. */
async function waitFor(condition: () => boolean, rounds = 10_000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition never held');
}
