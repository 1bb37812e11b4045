import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFakeClient } from '@ferry/client/testing';
import { Code, FerryError, tensor } from '@ferry/core';
import { createModelRegistry } from './model-registry.js';

/**
 * An agent's session bookkeeping in miniature: ids from one counter, all of them forgotten by `restart()`,
 * as a new agent (or a new connection) forgets them.
 */
function fakeAgent() {
  let next = 1;
  const sessions = new Set<number>();
  const models = new Map<number, string>();
  const calls: string[] = [];
  let down = false;
  const unavailable = () => new FerryError(Code.UNAVAILABLE, 'gone', { reason: 'CONNECTION_CLOSED' });
  const client = createFakeClient({
    async createSession() {
      calls.push('createSession');
      if (down) throw unavailable();
      const id = next++;
      sessions.add(id);
      return id;
    },
    async registerModel(session, source) {
      if (!('name' in source)) throw new TypeError('the serve function registers models by name');
      calls.push(`register ${source.name}`);
      if (down) throw unavailable();
      if (!sessions.has(session)) throw new FerryError(Code.NOT_FOUND, 'no session', { reason: 'SESSION_NOT_FOUND' });
      if (source.name === 'missing') throw new FerryError(Code.NOT_FOUND, 'no model', { reason: 'MODEL_NOT_FOUND' });
      const modelId = next++;
      models.set(modelId, source.name);
      return { modelId, name: source.name, sha256: '', backend: 'onnxruntime', inputs: [], outputs: [], reused: false };
    },
    async infer(modelId) {
      calls.push(`infer ${modelId}`);
      if (down) throw unavailable();
      if (!models.has(modelId)) throw new FerryError(Code.NOT_FOUND, 'no model', { reason: 'MODEL_NOT_FOUND' });
      return { y: tensor('int32', [1], [modelId]) };
    },
    async destroySession(session) {
      calls.push(`destroySession ${session}`);
      sessions.delete(session);
    },
  });
  return {
    client,
    calls,
    restart() {
      sessions.clear();
      models.clear();
      down = false;
    },
    stop() {
      down = true;
    },
  };
}

describe('createModelRegistry()', () => {
  it('registers a name once, shared by concurrent callers', async () => {
    const agent = fakeAgent();
    const registry = createModelRegistry(agent.client);
    const models = await Promise.all([registry.resolve('a'), registry.resolve('a'), registry.resolve('b')]);
    assert.equal(models[0], models[1]);
    assert.deepEqual(agent.calls, ['createSession', 'register a', 'register b']);
  });

  it('does not cache failures', async () => {
    const agent = fakeAgent();
    const registry = createModelRegistry(agent.client);
    await assert.rejects(registry.resolve('missing'), { reason: 'MODEL_NOT_FOUND' });
    await assert.rejects(registry.resolve('missing'), { reason: 'MODEL_NOT_FOUND' });
    assert.deepEqual(agent.calls, ['createSession', 'register missing', 'register missing']);
  });

  it('registers again in a new session when the agent forgot its ids (NOT_FOUND), once', async () => {
    const agent = fakeAgent();
    const registry = createModelRegistry(agent.client);
    const first = await registry.infer('a', {});
    agent.restart();
    const second = await registry.infer('a', {});
    assert.notEqual(second.model.modelId, first.model.modelId);
    assert.deepEqual(second.outputs, { y: tensor('int32', [1], [second.model.modelId]) });
    assert.deepEqual(agent.calls, [
      'createSession',
      'register a',
      `infer ${first.model.modelId}`,
      `infer ${first.model.modelId}`,
      'createSession',
      'register a',
      `infer ${second.model.modelId}`,
    ]);
  });

  it('starts a new session when registering into one the agent forgot', async () => {
    const agent = fakeAgent();
    const registry = createModelRegistry(agent.client);
    await registry.resolve('a');
    agent.restart();
    const b = await registry.resolve('b');
    assert.equal(typeof b.modelId, 'number');
    assert.deepEqual(agent.calls, ['createSession', 'register a', 'register b', 'createSession', 'register b']);
  });

  it('fails with UNAVAILABLE while the agent is away and recovers when it returns', async () => {
    const agent = fakeAgent();
    const registry = createModelRegistry(agent.client);
    await registry.infer('a', {});
    agent.stop();
    await assert.rejects(registry.infer('a', {}), { code: Code.UNAVAILABLE });
    agent.restart();
    const again = await registry.infer('a', {});
    assert.deepEqual(again.outputs, { y: tensor('int32', [1], [again.model.modelId]) });
  });

  it('destroys its session on close()', async () => {
    const agent = fakeAgent();
    const registry = createModelRegistry(agent.client);
    await registry.resolve('a');
    await registry.close();
    assert.equal(agent.calls.at(-1), 'destroySession 1');
    await registry.close();
    assert.equal(agent.calls.filter((c) => c.startsWith('destroySession')).length, 1);
  });
});
