import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, FerryError } from '@ferry/core';
import { connect } from './connect.js';
import { createMemoryNetwork } from './create-memory-network.js';
import { readBytes } from './testing/connector-contract.js';

async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FerryError, `expected a FerryError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

describe('createMemoryNetwork()', () => {
  it('connects to a listener by name and numbers its peers', async (t) => {
    const network = createMemoryNetwork();
    const remotes: string[] = [];
    const listener = await network.listen('agent', {
      onConnection: (socket, info) => {
        remotes.push(info.remote);
        socket.end(`hello ${info.listener}`);
      },
    });
    t.after(() => listener.close());
    assert.equal(listener.address, 'memory:agent');
    for (let i = 0; i < 2; i++) {
      const socket = await connect('memory:agent', { connectors: { memory: network.connector } });
      t.after(() => socket.destroy());
      assert.equal((await readBytes(socket, 18, t.signal)).toString(), 'hello memory:agent');
    }
    assert.deepEqual(remotes, ['memory:agent#1', 'memory:agent#2']);
  });

  it('rejects UNAVAILABLE naming the address for a name nobody listens on', async () => {
    const network = createMemoryNetwork();
    const error = await rejection(network.connector.connect({ scheme: 'memory', name: 'nobody' }));
    assert.equal(error.code, Code.UNAVAILABLE);
    assert.equal(error.reason, 'CONNECTION_REFUSED');
    assert.equal(
      error.message,
      '[unavailable] Cannot connect to memory:nobody: nothing listens on it in this memory network',
    );
  });

  it('refuses a name in use with FAILED_PRECONDITION ADDRESS_IN_USE, and frees it on close()', async () => {
    const network = createMemoryNetwork();
    const first = await network.listen('x', { onConnection: (socket) => socket.destroy() });
    const error = await rejection(network.listen('x', { onConnection: (socket) => socket.destroy() }));
    assert.equal(error.code, Code.FAILED_PRECONDITION);
    assert.equal(error.reason, 'ADDRESS_IN_USE');
    await first.close();
    const second = await network.listen('x', { onConnection: (socket) => socket.destroy() });
    await first.close(); // idempotent, and does not unregister the second listener
    const socket = await network.connector.connect({ scheme: 'memory', name: 'x' });
    socket.destroy();
    await second.close();
  });

  it('keeps networks apart', async () => {
    const one = createMemoryNetwork();
    const two = createMemoryNetwork();
    const listener = await one.listen('shared', { onConnection: (socket) => socket.destroy() });
    const error = await rejection(two.connector.connect({ scheme: 'memory', name: 'shared' }));
    assert.equal(error.code, Code.UNAVAILABLE);
    await listener.close();
  });

  it('closes a listener when its signal aborts', async () => {
    const network = createMemoryNetwork();
    const controller = new AbortController();
    await network.listen('x', { onConnection: (socket) => socket.destroy(), signal: controller.signal });
    controller.abort();
    const error = await rejection(network.connector.connect({ scheme: 'memory', name: 'x' }));
    assert.equal(error.code, Code.UNAVAILABLE);
  });

  it('refuses an invalid name with INVALID_ADDRESS and a non-memory address with TypeError', async () => {
    const network = createMemoryNetwork();
    const error = await rejection(network.listen('a b', { onConnection: (socket) => socket.destroy() }));
    assert.equal(error.reason, 'INVALID_ADDRESS');
    await assert.rejects(network.connector.connect({ scheme: 'local' }), { name: 'TypeError' });
  });
});
