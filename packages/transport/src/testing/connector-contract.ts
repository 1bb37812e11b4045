import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once, setMaxListeners } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { Code, FerryError } from '@ferry/core';
import { connect } from '../connect.js';
import type { ConnectOptions, ConnectorMap } from '../connector.js';
import type { ConnectionInfo, Listener, ListenOptions } from '../listener.js';

/** One transport under test: how to listen on a fresh address of it, and the connectors that reach it. */
export interface ConnectorContractTarget {
  /** Shown in test names: `unix`, `tcp 127.0.0.1`, `memory`. */
  readonly name: string;
  /** Listens on a fresh address of this transport (a new path, port 0, a new name) on every call. */
  listen(options: ListenOptions): Promise<Listener>;
  /** Passed to connect() for transports that are not built in. */
  readonly connectors?: ConnectorMap;
  /** Skips the suite, with the reason when a string (say, no IPv6 loopback on this machine). */
  readonly skip?: boolean | string;
  /** Each test's timeout; default 10 s. More for a slow machine, say a guest under software emulation. */
  readonly testTimeoutMs?: number;
}

/**
 * Registers the contract every transport passes, as a `describe()` block of node:test: echo both ways, a 4 MiB
 * payload, backpressure, half-close, destroy, many connections, listener close, abort and timeoutMs.
 */
export function connectorContract(target: ConnectorContractTarget): void {
  const { connectors } = target;
  const timeout = target.testTimeoutMs ?? 10_000;

  async function serve(t: TestContext, handle?: (socket: Duplex, info: ConnectionInfo) => void): Promise<Server> {
    const sockets = new Set<Duplex>();
    const queue = createQueue<[Duplex, ConnectionInfo]>();
    const listener = await target.listen({
      onConnection: (socket, info) => {
        sockets.add(socket);
        socket.on('error', () => {}); // a reset peer is not this harness's failure; tests assert on data
        if (handle) handle(socket, info);
        else queue.push([socket, info]);
      },
    });
    t.after(async () => {
      await listener.close();
      for (const socket of sockets) socket.destroy();
    });
    return { listener, next: queue.next, count: () => sockets.size };
  }

  async function open(t: TestContext, address: string, options: ConnectOptions = {}): Promise<Duplex> {
    const socket = await connect(address, { ...options, ...(connectors ? { connectors } : {}) });
    t.after(() => socket.destroy());
    return socket;
  }

  function echo(socket: Duplex): void {
    socket.pipe(socket);
  }

  async function rejection(promise: Promise<unknown>): Promise<FerryError> {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof FerryError, `expected a FerryError, got ${String(error)}`);
      return error;
    }
    assert.fail('expected the promise to reject');
  }

  describe(`connector contract: ${target.name}`, {
    skip: target.skip ?? false,
    timeout: Math.max(120_000, 13 * timeout),
  }, () => {
    it('accepts a connection and describes it in ConnectionInfo', { timeout }, async (t) => {
      const server = await serve(t);
      await open(t, server.listener.address);
      const [, info] = await server.next(t.signal);
      assert.equal(info.listener, server.listener.address);
      assert.equal(typeof info.remote, 'string');
      assert.notEqual(info.remote, '');
    });

    it('carries bytes in both directions', { timeout }, async (t) => {
      const server = await serve(t);
      const client = await open(t, server.listener.address);
      const [socket] = await server.next(t.signal);
      socket.write('hello from the server');
      client.write('hello from the client');
      assert.equal((await readBytes(socket, 21, t.signal)).toString(), 'hello from the client');
      assert.equal((await readBytes(client, 21, t.signal)).toString(), 'hello from the server');
    });

    it('echoes a 4 MiB payload intact', { timeout }, async (t) => {
      const server = await serve(t, echo);
      const client = await open(t, server.listener.address);
      const payload = randomBytes(4 * 1024 * 1024);
      const received = readAll(client, t.signal);
      client.end(payload);
      const echoed = await received;
      assert.equal(echoed.length, payload.length);
      assert.ok(echoed.equals(payload), 'the echoed bytes differ from the payload');
    });

    it('applies backpressure: write() returns false while the peer does not read, and drain follows reading', {
      timeout,
    }, async (t) => {
      const server = await serve(t);
      const client = await open(t, server.listener.address);
      const [socket] = await server.next(t.signal);
      socket.pause();
      const chunk = Buffer.alloc(64 * 1024, 7);
      let written = 0;
      let full = false;
      // Kernel buffers take a few MiB at most; 64 MiB unread must have filled them.
      while (!full && written < 64 * 1024 * 1024) {
        full = !client.write(chunk);
        written += chunk.length;
      }
      assert.equal(full, true, 'write() never returned false while the peer did not read');
      const drained = once(client, 'drain', { signal: t.signal });
      const received = await readBytes(socket, written, t.signal);
      await drained;
      assert.equal(received.length, written);
      assert.ok(
        received.every((byte) => byte === 7),
        'received bytes differ from those written',
      );
    });

    it('propagates end() as a half-close in both directions', { timeout }, async (t) => {
      const server = await serve(t);
      const client = await open(t, server.listener.address);
      const [socket] = await server.next(t.signal);
      client.end('ping');
      assert.equal((await readAll(socket, t.signal)).toString(), 'ping');
      // The server read EOF, yet its side is still open for writing.
      socket.end('pong');
      assert.equal((await readAll(client, t.signal)).toString(), 'pong');
      await Promise.all([closed(client, t.signal), closed(socket, t.signal)]);
    });

    it('ends the peer when one side is destroyed', { timeout }, async (t) => {
      const server = await serve(t, (socket) => socket.destroy());
      const client = await open(t, server.listener.address);
      assert.equal((await readAll(client, t.signal)).length, 0);
      assert.equal(client.readableEnded, true);
      client.end();
      await closed(client, t.signal);
      assert.equal(server.count(), 1);
    });

    it('serves 50 concurrent connections, each with its own bytes', { timeout }, async (t) => {
      setMaxListeners(200, t.signal);
      const server = await serve(t, echo);
      const results = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const client = await open(t, server.listener.address);
          const payload = Buffer.concat([Buffer.from(`connection ${i}:`), randomBytes(8 * 1024)]);
          const received = readAll(client, t.signal);
          client.end(payload);
          return (await received).equals(payload);
        }),
      );
      assert.deepEqual(
        results.map((ok, i) => (ok ? i : -1)),
        Array.from({ length: 50 }, (_, i) => i),
      );
      assert.equal(server.count(), 50);
    });

    it('close() stops new connections, keeps accepted ones working, and is idempotent', {
      timeout,
    }, async (t) => {
      const server = await serve(t);
      const client = await open(t, server.listener.address);
      const [socket] = await server.next(t.signal);
      echo(socket);
      const first = server.listener.close();
      assert.equal(server.listener.close(), first);
      await first;
      const error = await rejection(open(t, server.listener.address));
      assert.equal(error.code, Code.UNAVAILABLE);
      assert.ok(error.message.includes(server.listener.address), error.message);
      client.write('still here');
      assert.equal((await readBytes(client, 10, t.signal)).toString(), 'still here');
      assert.equal(server.count(), 1);
    });

    it('connect() to a closed listener rejects UNAVAILABLE naming the address', { timeout }, async (t) => {
      const server = await serve(t);
      await server.listener.close();
      const error = await rejection(open(t, server.listener.address));
      assert.equal(error.code, Code.UNAVAILABLE);
      assert.match(
        error.message,
        new RegExp(`^\\[unavailable\\] Cannot connect to ${escapeRegExp(server.listener.address)}`),
      );
    });

    it('connect() with an aborted signal rejects CANCELLED and makes no connection', { timeout }, async (t) => {
      const server = await serve(t);
      const controller = new AbortController();
      controller.abort();
      const error = await rejection(open(t, server.listener.address, { signal: controller.signal }));
      assert.equal(error.code, Code.CANCELLED);
      assert.equal(error.reason, 'CANCELLED');
      // A later connection is the first the listener sees.
      const client = await open(t, server.listener.address);
      const [socket] = await server.next(t.signal);
      socket.write('first');
      assert.equal((await readBytes(client, 5, t.signal)).toString(), 'first');
      assert.equal(server.count(), 1);
    });

    it('aborting while connecting rejects CANCELLED', { timeout }, async (t) => {
      const server = await serve(t);
      const controller = new AbortController();
      const pending = open(t, server.listener.address, { signal: controller.signal });
      controller.abort(new Error('caller gave up'));
      const error = await rejection(pending);
      assert.equal(error.code, Code.CANCELLED);
      assert.ok(error.message.includes(server.listener.address), error.message);
      assert.equal((error.cause as Error).message, 'caller gave up');
    });

    it('timeoutMs: rejects DEADLINE_EXCEEDED with reason CONNECT_TIMEOUT when the deadline comes first', {
      timeout,
    }, async (t) => {
      const server = await serve(t);
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const pending = open(t, server.listener.address, { timeoutMs: 50 });
      t.mock.timers.tick(50);
      const error = await rejection(pending);
      assert.equal(error.code, Code.DEADLINE_EXCEEDED);
      assert.equal(error.reason, 'CONNECT_TIMEOUT');
      assert.ok(error.message.includes(server.listener.address), error.message);
    });

    it('timeoutMs: a connection made in time survives the deadline', { timeout }, async (t) => {
      const server = await serve(t, echo);
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const client = await open(t, server.listener.address, { timeoutMs: 1000 });
      t.mock.timers.tick(5000);
      client.write('alive');
      assert.equal((await readBytes(client, 5, t.signal)).toString(), 'alive');
      assert.equal(client.destroyed, false);
    });
  });
}

interface Server {
  readonly listener: Listener;
  readonly next: (signal: AbortSignal) => Promise<[Duplex, ConnectionInfo]>;
  readonly count: () => number;
}

function createQueue<T>(): { push(item: T): void; next(signal: AbortSignal): Promise<T> } {
  const items: T[] = [];
  const waiters: Array<(item: T) => void> = [];
  return {
    push(item) {
      const waiter = waiters.shift();
      if (waiter) waiter(item);
      else items.push(item);
    },
    next(signal) {
      const item = items.shift();
      if (item !== undefined) return Promise.resolve(item);
      return new Promise((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        waiters.push((value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        });
      });
    },
  };
}

/** Reads exactly `length` bytes (failing on more, on EOF before, on error), then pauses the stream. */
export function readBytes(stream: Duplex, length: number, signal: AbortSignal): Promise<Buffer> {
  return collect(stream, signal, length);
}

/** Reads until EOF. */
export function readAll(stream: Duplex, signal: AbortSignal): Promise<Buffer> {
  return collect(stream, signal, undefined);
}

function collect(stream: Duplex, signal: AbortSignal, length: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      stream.pause();
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (length === undefined || total < length) return;
      done();
      if (total > length) reject(new Error(`read ${total} bytes, expected ${length}`));
      else resolve(Buffer.concat(chunks));
    };
    const onEnd = (): void => {
      done();
      if (length === undefined) resolve(Buffer.concat(chunks));
      else reject(new Error(`the stream ended after ${total} of ${length} bytes`));
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    const onAbort = (): void => {
      done();
      reject(signal.reason);
    };
    if (length === 0) {
      resolve(Buffer.alloc(0));
      return;
    }
    if (stream.readableEnded) {
      onEnd();
      return;
    }
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    stream.resume();
  });
}

/** Resolves once the stream has emitted 'close' (at once if it already has). */
export function closed(stream: Duplex, signal: AbortSignal): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return once(stream, 'close', { signal }).then(() => undefined);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
