import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from './backend.js';
import { createBackendRegistry } from './backend-registry.js';
import { Code } from './code.js';
import { FerryError } from './ferry-error.js';

/** A backend that records whether it was closed; it loads nothing (the registry never loads). */
function fakeBackend(name: string): Backend & { closed: number } {
  return {
    name,
    closed: 0,
    async load() {
      throw new FerryError(Code.UNIMPLEMENTED, 'not used here', { reason: 'NOT_USED' });
    },
    async close() {
      this.closed++;
    },
  };
}

describe('createBackendRegistry()', () => {
  it('resolves the highest priority first, then registration order among equals', async () => {
    const registry = createBackendRegistry();
    registry.register({ name: 'noop', init: () => fakeBackend('noop') });
    registry.register({ name: 'cpu', priority: 10, init: () => fakeBackend('cpu') });
    registry.register({ name: 'other', init: () => fakeBackend('other') });
    registry.register({ name: 'gpu', priority: 20, init: () => fakeBackend('gpu') });
    assert.deepEqual(registry.names(), ['gpu', 'cpu', 'noop', 'other']);
    assert.equal((await registry.resolve()).name, 'gpu');
  });

  it('tries named backends in the order given, not by priority', async () => {
    const registry = createBackendRegistry();
    registry.register({ name: 'cpu', priority: 10, init: () => fakeBackend('cpu') });
    registry.register({ name: 'noop', init: () => fakeBackend('noop') });
    assert.equal((await registry.resolve(['noop', 'cpu'])).name, 'noop');
    assert.equal((await registry.resolve(['cpu'])).name, 'cpu');
  });

  it('falls back past a failing backend and keeps its reason', async () => {
    const registry = createBackendRegistry();
    registry.register({
      name: 'cuda',
      priority: 20,
      init: () => {
        throw new Error('libcudart.so: cannot open shared object file');
      },
    });
    registry.register({ name: 'cpu', priority: 10, init: () => fakeBackend('cpu') });
    assert.equal((await registry.resolve()).name, 'cpu');
    assert.deepEqual([...registry.failures()], [['cuda', 'libcudart.so: cannot open shared object file']]);
  });

  it('runs init once, shared by concurrent callers, and never retries a failed one', async () => {
    const registry = createBackendRegistry();
    let cpuInits = 0;
    let brokenInits = 0;
    registry.register({
      name: 'broken',
      priority: 1,
      init: async () => {
        brokenInits++;
        throw new Error('no device');
      },
    });
    registry.register({
      name: 'cpu',
      init: async () => {
        cpuInits++;
        return fakeBackend('cpu');
      },
    });
    const resolved = await Promise.all([registry.resolve(), registry.resolve(), registry.resolve(['cpu'])]);
    await registry.resolve();
    assert.equal(cpuInits, 1);
    assert.equal(brokenInits, 1);
    assert.equal(new Set(resolved).size, 1);
  });

  it('throws UNAVAILABLE NO_BACKEND listing every failure when none initialises', async () => {
    const registry = createBackendRegistry();
    registry.register({
      name: 'a',
      init: () => {
        throw new Error('first reason');
      },
    });
    registry.register({
      name: 'b',
      init: async () => {
        throw new Error('second reason');
      },
    });
    await assert.rejects(registry.resolve(), (error: FerryError) => {
      assert.equal(error.code, Code.UNAVAILABLE);
      assert.equal(error.reason, 'NO_BACKEND');
      assert.match(error.message, /a: first reason; b: second reason/);
      return true;
    });
    await assert.rejects(createBackendRegistry().resolve(), { reason: 'NO_BACKEND', message: /none registered/ });
  });

  it('throws NOT_FOUND BACKEND_NOT_FOUND for an unregistered name', async () => {
    const registry = createBackendRegistry();
    registry.register({ name: 'cpu', init: () => fakeBackend('cpu') });
    await assert.rejects(registry.resolve(['gpu']), (error: FerryError) => {
      assert.equal(error.code, Code.NOT_FOUND);
      assert.equal(error.reason, 'BACKEND_NOT_FOUND');
      assert.match(error.message, /"gpu".*have: cpu/);
      return true;
    });
  });

  it('refuses a second registration of a name with a TypeError', () => {
    const registry = createBackendRegistry();
    registry.register({ name: 'cpu', init: () => fakeBackend('cpu') });
    assert.throws(() => registry.register({ name: 'cpu', init: () => fakeBackend('cpu') }), TypeError);
  });

  it('fails a backend whose name differs from its registration, and closes it', async () => {
    const registry = createBackendRegistry();
    const stray = fakeBackend('onnxruntime');
    registry.register({ name: 'onnxruntime-cuda', init: () => stray });
    await assert.rejects(registry.resolve(), { reason: 'NO_BACKEND', message: /registered as "onnxruntime-cuda"/ });
    assert.equal(stray.closed, 1);
  });

  it('closes only the backends that were initialised', async () => {
    const registry = createBackendRegistry();
    const used = fakeBackend('used');
    const idle = fakeBackend('idle');
    registry.register({ name: 'used', priority: 1, init: () => used });
    registry.register({ name: 'idle', init: () => idle });
    await registry.resolve();
    await registry.close();
    assert.equal(used.closed, 1);
    assert.equal(idle.closed, 0);
  });
});
