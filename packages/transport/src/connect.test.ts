import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Code, FerryError } from '@ferry/core';
import type { Address } from './address.js';
import { connect } from './connect.js';
import type { ConnectOptions, Connector } from './connector.js';
import { createDuplexPair } from './create-duplex-pair.js';
import { listen } from './listen.js';
import { closed, readBytes } from './testing/connector-contract.js';

const dir = await mkdtemp(join(tmpdir(), 'ferry-'));
after(() => rm(dir, { recursive: true, force: true }));

async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FerryError, `expected a FerryError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

describe('connect()', () => {
  it('rejects UNAVAILABLE NO_SUCH_SOCKET naming the address when the unix socket file is missing', async () => {
    const path = join(dir, 'missing.sock');
    const error = await rejection(connect(`unix://${path}`));
    assert.equal(error.code, Code.UNAVAILABLE);
    assert.equal(error.reason, 'NO_SUCH_SOCKET');
    assert.ok(
      error.message.startsWith(`[unavailable] Cannot connect to unix://${path}: connect ENOENT`),
      error.message,
    );
  });

  it('rejects UNAVAILABLE CONNECTION_REFUSED naming the address when nobody answers on the socket', async () => {
    const path = join(dir, 'plain-file');
    await writeFile(path, '');
    const error = await rejection(connect({ scheme: 'unix', path }));
    assert.equal(error.code, Code.UNAVAILABLE);
    assert.equal(error.reason, 'CONNECTION_REFUSED');
    assert.ok(error.message.includes(`Cannot connect to unix://${path}: connect ECONNREFUSED`), error.message);
  });

  it('rejects INVALID_ARGUMENT PATH_TOO_LONG for a unix path longer than sun_path', async () => {
    const path = `/tmp/${'x'.repeat(103)}`;
    const error = await rejection(connect(`unix://${path}`));
    assert.equal(error.code, Code.INVALID_ARGUMENT);
    assert.equal(error.reason, 'PATH_TOO_LONG');
    assert.ok(error.message.includes(`unix://${path}`), error.message);
    assert.ok(error.message.includes('108 bytes'), error.message);
  });

  it('rejects INVALID_ADDRESS for an address it cannot parse', async () => {
    const error = await rejection(connect('tcp://nowhere'));
    assert.equal(error.code, Code.INVALID_ARGUMENT);
    assert.equal(error.reason, 'INVALID_ADDRESS');
  });

  it('rejects UNAVAILABLE VSOCK_UNSUPPORTED for vsock without a connector, pointing at @ferry/vsock', async () => {
    const error = await rejection(connect('vsock://2:2048'));
    assert.equal(error.code, Code.UNAVAILABLE);
    assert.equal(error.reason, 'VSOCK_UNSUPPORTED');
    assert.match(error.message, /^\[unavailable\] Cannot connect to vsock:\/\/2:2048: .*@ferry\/vsock/);
    assert.match(error.message, /inside a guest/);
  });

  for (const address of ['local:', 'memory:agent']) {
    it(`rejects UNAVAILABLE NO_CONNECTOR for ${address} without a connector`, async () => {
      const error = await rejection(connect(address));
      assert.equal(error.code, Code.UNAVAILABLE);
      assert.equal(error.reason, 'NO_CONNECTOR');
      assert.ok(error.message.includes(`Cannot connect to ${address}`), error.message);
    });
  }

  it('uses a connector from options.connectors, which overrides a built-in one', async () => {
    const calls: Array<[Address, ConnectOptions | undefined]> = [];
    const [client, server] = createDuplexPair();
    const connector: Connector = {
      connect: async (address, options) => {
        calls.push([address, options]);
        return client;
      },
    };
    const socket = await connect('tcp://[::1]:7', { connectors: { tcp: connector } });
    assert.equal(socket, client);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.[0], { scheme: 'tcp', host: '::1', port: 7 });
    assert.ok(calls[0]?.[1]?.signal instanceof AbortSignal);
    server.write('via the override');
    assert.equal((await readBytes(socket, 16, AbortSignal.timeout(5000))).toString(), 'via the override');
  });

  it('aborts the signal it hands the connector and destroys a late connection when the caller aborts', async () => {
    let handed: AbortSignal | undefined;
    let arrive: ((socket: Duplex) => void) | undefined;
    const connector: Connector = {
      connect: (_address, options) => {
        handed = options?.signal;
        return new Promise((resolve) => {
          arrive = resolve;
        });
      },
    };
    const controller = new AbortController();
    const pending = connect('local:', { connectors: { local: connector }, signal: controller.signal });
    assert.equal(handed?.aborted, false);
    controller.abort();
    const error = await rejection(pending);
    assert.equal(error.code, Code.CANCELLED);
    assert.equal(error.message, '[cancelled] Connecting to local: was cancelled');
    assert.equal(handed?.aborted, true);
    const [late] = createDuplexPair();
    arrive?.(late);
    await closed(late, AbortSignal.timeout(5000));
    assert.equal(late.destroyed, true);
  });

  it('maps a TimeoutError abort reason to DEADLINE_EXCEEDED CONNECT_TIMEOUT', async () => {
    const connector: Connector = { connect: () => new Promise(() => {}) };
    const controller = new AbortController();
    const pending = connect('local:', { connectors: { local: connector }, signal: controller.signal });
    controller.abort(new DOMException('The operation timed out', 'TimeoutError'));
    const error = await rejection(pending);
    assert.equal(error.code, Code.DEADLINE_EXCEEDED);
    assert.equal(error.reason, 'CONNECT_TIMEOUT');
  });

  it('names the address in errors a connector throws without it, keeping code and reason', async () => {
    const connector: Connector = {
      connect: async () => {
        throw new FerryError(Code.UNAVAILABLE, 'guest has no vsock device', { reason: 'NO_VSOCK_DEVICE' });
      },
    };
    const error = await rejection(connect('vsock://2:2048', { connectors: { vsock: connector } }));
    assert.equal(error.code, Code.UNAVAILABLE);
    assert.equal(error.reason, 'NO_VSOCK_DEVICE');
    assert.equal(error.message, '[unavailable] Cannot connect to vsock://2:2048: guest has no vsock device');
  });

  it('maps a plain Error from a connector, and one thrown synchronously, to UNAVAILABLE CONNECT_FAILED', async () => {
    const thrower: Connector = {
      connect: () => {
        throw new Error('boom');
      },
    };
    const error = await rejection(connect('local:', { connectors: { local: thrower } }));
    assert.equal(error.code, Code.UNAVAILABLE);
    assert.equal(error.reason, 'CONNECT_FAILED');
    assert.equal(error.message, '[unavailable] Cannot connect to local:: boom');
  });

  it('sets TCP_NODELAY on tcp connections', async (t) => {
    const listener = await listen('tcp://127.0.0.1:0', { onConnection: (socket) => socket.destroy() });
    t.after(() => listener.close());
    const setNoDelay = t.mock.method(Socket.prototype, 'setNoDelay');
    const socket = await connect(listener.address);
    t.after(() => socket.destroy());
    assert.ok(
      setNoDelay.mock.calls.some((call) => call.this === socket && call.arguments[0] === true),
      'setNoDelay(true) was not called on the client socket',
    );
  });

  it('throws RangeError for a timeoutMs that is not a positive number', async () => {
    for (const timeoutMs of [0, -1, Number.NaN]) {
      await assert.rejects(connect('tcp://127.0.0.1:1', { timeoutMs }), {
        name: 'RangeError',
        message: `connect() expects timeoutMs to be a positive number of milliseconds, got ${timeoutMs}`,
      });
    }
  });
});
