import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Code } from '@ferry/core';
import { type Connector, connect } from '@ferry/transport';
import { connectWithRetry } from './connect-with-retry.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp('/tmp/c');
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The built-in unix connector, counting attempts and telling `onFailure` of each failed one. */
function counting(onFailure: (attempt: number) => void = () => {}) {
  const counter = { attempts: 0, connector: undefined as unknown as Connector };
  counter.connector = {
    async connect(address, options) {
      const attempt = ++counter.attempts;
      try {
        return await connect(address, options?.signal ? { signal: options.signal } : {});
      } catch (error) {
        onFailure(attempt);
        throw error;
      }
    },
  };
  return counter;
}

function listenOn(t: TestContext, path: string): Promise<Server> {
  const server = createServer((socket) => socket.end());
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

describe('connectWithRetry()', () => {
  it('tries again while nothing listens yet, and connects once the listener is there', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'kata.hvsock_2048');
    let listening: Promise<Server> | undefined;
    // The agent finds the sandbox after the guest's third failed attempt.
    const counter = counting((attempt) => {
      if (attempt === 3) listening = listenOn(t, path);
    });
    const socket = await connectWithRetry(`unix://${path}`, {
      timeoutMs: 30_000,
      connectors: { unix: counter.connector },
    });
    socket.destroy();
    await listening;
    assert.equal(counter.attempts, 4);
  });

  it('gives up when the time is spent, naming the address and what to check', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'absent.sock')}`;
    const counter = counting();
    await assert.rejects(
      connectWithRetry(address, { timeoutMs: 300, connectors: { unix: counter.connector } }),
      (e: { code: number; reason: string; message: string; cause: { reason: string } }) => {
        assert.equal(e.code, Code.UNAVAILABLE);
        assert.equal(e.reason, 'AGENT_NOT_LISTENING');
        assert.equal(e.cause.reason, 'NO_SUCH_SOCKET');
        assert.ok(
          e.message.startsWith(`[unavailable] Cannot connect to ${address}: nothing listened there within 300 ms`),
        );
        assert.match(e.message, /Check that ferry agent runs and listens on/);
        return true;
      },
    );
    assert.ok(counter.attempts > 1, `${counter.attempts} attempts`);
  });

  it('names the node agent and ferry status for vsock addresses', async () => {
    const refused: Connector = {
      connect: () => Promise.reject(Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' })),
    };
    await assert.rejects(connectWithRetry('vsock://2:2048', { timeoutMs: 100, connectors: { vsock: refused } }), {
      reason: 'AGENT_NOT_LISTENING',
      message: /vsock:\/\/2:2048.*serving guest port 2048 \(--vsock-port\).*ferry status --admin/,
    });
  });

  it('fails at once on errors that waiting cannot fix, and with retry: false', async (t) => {
    const noDevice: Connector = {
      connect: () => Promise.reject(Object.assign(new Error('no vsock device'), { code: 'ENODEV' })),
    };
    let calls = 0;
    await assert.rejects(
      connectWithRetry('vsock://2:2048', {
        timeoutMs: 60_000,
        connectors: {
          vsock: {
            connect: (a, o) => {
              calls++;
              return noDevice.connect(a, o);
            },
          },
        },
      }),
      (e: { reason: string }) => e.reason !== 'AGENT_NOT_LISTENING',
    );
    assert.equal(calls, 1);
    const dir = await tempDir(t);
    const counter = counting();
    await assert.rejects(
      connectWithRetry(`unix://${join(dir, 'x.sock')}`, {
        timeoutMs: 60_000,
        retry: false,
        connectors: { unix: counter.connector },
      }),
      { reason: 'NO_SUCH_SOCKET' },
    );
    assert.equal(counter.attempts, 1);
  });

  it('stops waiting when the signal aborts', async (t) => {
    const dir = await tempDir(t);
    const controller = new AbortController();
    const counter = counting((attempt) => {
      if (attempt === 2) controller.abort();
    });
    await assert.rejects(
      connectWithRetry(`unix://${join(dir, 'x.sock')}`, {
        timeoutMs: 60_000,
        signal: controller.signal,
        connectors: { unix: counter.connector },
      }),
      { code: Code.CANCELLED },
    );
    assert.equal(counter.attempts, 2);
  });
});
