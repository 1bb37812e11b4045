import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, describe, it, type TestContext } from 'node:test';
import { Code, FerryError } from '@ferry/core';
import { connect } from './connect.js';
import { hybridVsockPath } from './hybrid-vsock-path.js';
import { listen } from './listen.js';
import type { ConnectionInfo, Listener, ListenOptions } from './listener.js';
import { readBytes } from './testing/connector-contract.js';

const dir = await mkdtemp(join(tmpdir(), 'ferry-'));
after(() => rm(dir, { recursive: true, force: true }));
let files = 0;
const fresh = (): string => join(dir, `${++files}.sock`);

async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FerryError, `expected a FerryError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

/** Listens with an echo handler, closing listener and accepted sockets after the test. */
async function echoServer(
  t: TestContext,
  address: string,
  options: Partial<ListenOptions> = {},
): Promise<{ listener: Listener; infos: ConnectionInfo[] }> {
  const infos: ConnectionInfo[] = [];
  const sockets: Duplex[] = [];
  const listener = await listen(address, {
    ...options,
    onConnection: (socket, info) => {
      infos.push(info);
      sockets.push(socket);
      socket.pipe(socket);
    },
  });
  t.after(async () => {
    await listener.close();
    for (const socket of sockets) socket.destroy();
  });
  return { listener, infos };
}

async function roundTrip(t: TestContext, address: string, text: string): Promise<string> {
  const socket = await connect(address);
  t.after(() => socket.destroy());
  socket.write(text);
  return (await readBytes(socket, Buffer.byteLength(text), t.signal)).toString();
}

describe('listen() on unix', () => {
  it('creates the socket file with mode 0o660 and removes it on close()', async (t) => {
    const path = fresh();
    const { listener } = await echoServer(t, `unix://${path}`);
    assert.equal(listener.address, `unix://${path}`);
    const info = await lstat(path);
    assert.equal(info.isSocket(), true);
    assert.equal(info.mode & 0o777, 0o660);
    assert.equal(await roundTrip(t, listener.address, 'hi'), 'hi');
    await listener.close();
    await assert.rejects(lstat(path), { code: 'ENOENT' });
  });

  it('applies unixSocketMode', async (t) => {
    const path = fresh();
    await echoServer(t, `unix://${path}`, { unixSocketMode: 0o600 });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it('keeps a relative path relative', async (t) => {
    const path = relative(process.cwd(), fresh());
    const { listener } = await echoServer(t, `unix:${path}`);
    assert.equal(listener.address, `unix:${path}`);
    assert.equal(await roundTrip(t, `unix:${path}`, 'relative'), 'relative');
  });

  it('replaces a stale socket file nobody answers on', async (t) => {
    const path = fresh();
    const stale = fresh();
    const old = await listen(`unix://${path}`, { onConnection: (socket) => socket.destroy() });
    t.after(() => old.close());
    // Moved away before close, the old socket file survives with nobody listening on it.
    await rename(path, stale);
    await old.close();
    assert.equal((await lstat(stale)).isSocket(), true);
    const { listener } = await echoServer(t, `unix://${stale}`);
    assert.equal(await roundTrip(t, listener.address, 'fresh'), 'fresh');
  });

  it('refuses a socket someone answers on with FAILED_PRECONDITION ADDRESS_IN_USE, leaving it working', async (t) => {
    const path = fresh();
    const { listener, infos } = await echoServer(t, `unix://${path}`);
    const error = await rejection(listen(`unix://${path}`, { onConnection: (socket) => socket.destroy() }));
    assert.equal(error.code, Code.FAILED_PRECONDITION);
    assert.equal(error.reason, 'ADDRESS_IN_USE');
    assert.equal(
      error.message,
      `[failed_precondition] Cannot listen on unix://${path}: another process is listening on ${path}`,
    );
    assert.equal(await roundTrip(t, listener.address, 'still mine'), 'still mine');
    assert.equal(infos.length, 2); // the probe, then the round trip
  });

  it('refuses a path that exists and is not a socket with FAILED_PRECONDITION, leaving the file alone', async () => {
    const path = fresh();
    await writeFile(path, 'precious');
    const error = await rejection(listen(`unix://${path}`, { onConnection: (socket) => socket.destroy() }));
    assert.equal(error.code, Code.FAILED_PRECONDITION);
    assert.equal(error.reason, 'PATH_NOT_SOCKET');
    assert.ok(error.message.includes(`${path} exists and is not a socket`), error.message);
    assert.equal(await readFile(path, 'utf8'), 'precious');
  });

  it('refuses a missing parent directory with FAILED_PRECONDITION NO_SUCH_DIRECTORY, creating nothing', async () => {
    const missing = join(dir, 'missing');
    const error = await rejection(listen(`unix://${missing}/a.sock`, { onConnection: (socket) => socket.destroy() }));
    assert.equal(error.code, Code.FAILED_PRECONDITION);
    assert.equal(error.reason, 'NO_SUCH_DIRECTORY');
    assert.ok(error.message.includes(`the directory ${missing} does not exist`), error.message);
    await assert.rejects(stat(missing), { code: 'ENOENT' });
  });

  it('refuses a path longer than sun_path with INVALID_ARGUMENT PATH_TOO_LONG, counting bytes', async () => {
    // 100 characters but 150 bytes: the kernel counts bytes.
    const path = join(dir, 'é'.repeat(50)).slice(0, 100);
    assert.ok(path.length <= 107 && Buffer.byteLength(path) > 107);
    const error = await rejection(listen(`unix://${path}`, { onConnection: (socket) => socket.destroy() }));
    assert.equal(error.code, Code.INVALID_ARGUMENT);
    assert.equal(error.reason, 'PATH_TOO_LONG');
    assert.ok(error.message.includes(`is ${Buffer.byteLength(path)} bytes`), error.message);
  });

  it('closes when its signal aborts', async (t) => {
    const path = fresh();
    const controller = new AbortController();
    const { listener } = await echoServer(t, `unix://${path}`, { signal: controller.signal });
    controller.abort();
    await listener.close();
    await assert.rejects(lstat(path), { code: 'ENOENT' });
    const error = await rejection(connect(listener.address));
    assert.equal(error.code, Code.UNAVAILABLE);
  });

  it('rejects CANCELLED for an aborted signal without creating the socket', async () => {
    const path = fresh();
    const error = await rejection(
      listen(`unix://${path}`, { onConnection: (socket) => socket.destroy(), signal: AbortSignal.abort() }),
    );
    assert.equal(error.code, Code.CANCELLED);
    await assert.rejects(lstat(path), { code: 'ENOENT' });
  });

  it('serves a Firecracker hybrid vsock path: <uds_path>_2048 under <sandbox>/root', async (t) => {
    await mkdir(join(dir, 'root'));
    const udsPath = join(dir, 'root', 'kata.hvsock');
    const path = hybridVsockPath(udsPath, 2048);
    assert.equal(path, `${udsPath}_2048`);
    const { listener, infos } = await echoServer(t, `unix://${path}`);
    assert.equal(await roundTrip(t, `unix://${hybridVsockPath(udsPath, 2048)}`, 'from the guest'), 'from the guest');
    assert.equal(infos[0]?.listener, listener.address);
    assert.equal(infos[0]?.remote, 'unix peer #1');
  });
});

describe('listen() on tcp', () => {
  it('reports the real port for port 0 and describes peers as tcp addresses', async (t) => {
    const { listener, infos } = await echoServer(t, 'tcp://127.0.0.1:0');
    assert.match(listener.address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(listener.address, 'tcp://127.0.0.1:0');
    assert.equal(await roundTrip(t, listener.address, 'tcp'), 'tcp');
    assert.match(infos[0]?.remote ?? '', /^tcp:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses a port in use with FAILED_PRECONDITION ADDRESS_IN_USE naming the address', async (t) => {
    const { listener } = await echoServer(t, 'tcp://127.0.0.1:0');
    const error = await rejection(listen(listener.address, { onConnection: (socket) => socket.destroy() }));
    assert.equal(error.code, Code.FAILED_PRECONDITION);
    assert.equal(error.reason, 'ADDRESS_IN_USE');
    assert.ok(error.message.includes(`Cannot listen on ${listener.address}`), error.message);
  });
});

describe('listen() on other schemes', () => {
  it('refuses vsock with UNIMPLEMENTED, pointing at the hybrid vsock unix socket', async () => {
    const error = await rejection(listen('vsock://2:2048', { onConnection: (socket) => socket.destroy() }));
    assert.equal(error.code, Code.UNIMPLEMENTED);
    assert.equal(error.reason, 'VSOCK_LISTEN_UNSUPPORTED');
    assert.match(error.message, /unix:\/\/<uds_path>_<port>/);
  });

  for (const address of ['local:', 'memory:x']) {
    it(`refuses ${address} with INVALID_ARGUMENT NO_LISTENER`, async () => {
      const error = await rejection(listen(address, { onConnection: (socket) => socket.destroy() }));
      assert.equal(error.code, Code.INVALID_ARGUMENT);
      assert.equal(error.reason, 'NO_LISTENER');
    });
  }

  it('throws TypeError without onConnection and RangeError for a bad unixSocketMode', async () => {
    await assert.rejects(listen(`unix://${fresh()}`, {} as ListenOptions), { name: 'TypeError' });
    await assert.rejects(listen(`unix://${fresh()}`, { onConnection: () => {}, unixSocketMode: 0o1777 }), {
      name: 'RangeError',
    });
  });
});
