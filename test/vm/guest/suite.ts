// The guest half of test/vm/microvm.test.ts, run inside the microVM with node:test (bundled by esbuild, started
// by main.ts). Everything here goes through AF_VSOCK: the @ferry/vsock connector to the loopback CID 1, socat
// in the guest, then QEMU to the host's Kata-shaped socket where the agent serves this sandbox's tenant.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, watch, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { createClient } from '@ferry/client';
import { Code, FerryError } from '@ferry/core';
import { type Listener, type ListenOptions, listen } from '@ferry/transport';
import { connectorContract } from '@ferry/transport/testing';
import { createVsockConnector } from '@ferry/vsock';
import { mixedExpected, mixedInputs, mixedModel } from '../../support/models.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const AGENT_PORT = Number(env('FERRY_VM_AGENT_PORT'));
const RELAY_HOST = env('FERRY_VM_RELAY_HOST');
const AGENT = `vsock://1:${AGENT_PORT}`;
const vsock = createVsockConnector();

/**
 * `socat` started in the guest; resolves once it listens, which it logs with `-d -d`. `-t 30`: after one side
 * ends, wait up to 30 s (not the default 0.5 s) for the other, so a half-close does not cut the answer short.
 * A detached relay outlives this test process, so it logs to a file rather than a pipe held open here.
 */
async function socat(args: readonly string[], options: { detached?: boolean } = {}): Promise<ChildProcess> {
  const log = options.detached ? `/tmp/socat-${process.pid}-${++socats}.log` : undefined;
  if (log) await writeFile(log, '');
  const child = spawn('socat', ['-d', '-d', '-t', '30', ...(log ? ['-lf', log] : []), ...args], {
    stdio: ['ignore', 'ignore', log ? 'ignore' : 'pipe'],
    detached: options.detached ?? false,
  });
  const controller = new AbortController();
  const exited = once(child, 'exit', { signal: controller.signal }).then(([code]) => {
    throw new Error(`socat ${args.join(' ')} exited ${code} before listening`);
  });
  const said = async () => log !== undefined && /listening on/.test(await readFile(log, 'utf8'));
  const listening = log
    ? (async () => {
        const changes = watch(log, { signal: controller.signal });
        if (await said()) return;
        for await (const _ of changes) if (await said()) return;
      })()
    : (async () => {
        for await (const line of createInterface({ input: child.stderr as Readable }))
          if (/listening on/.test(line)) return;
      })();
  try {
    await Promise.race([listening, exited]);
  } finally {
    controller.abort();
    listening.catch(() => {});
    exited.catch(() => {});
  }
  child.stderr?.resume();
  return child;
}
let socats = 0;

async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FerryError, `expected a FerryError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

describe('guest SDK → @ferry/vsock → vsock://1 → relay → Kata socket → host agent', { timeout: 300_000 }, () => {
  const client = createClient({ address: AGENT, connectors: { vsock }, connectTimeoutMs: 120_000 });
  after(() => client.close());

  it('retries a refused connect while the relay is down, gives up with AGENT_NOT_LISTENING, and carries a call across the relay coming up', async () => {
    // Nothing listens on vsock port 2048 yet: the kernel answers each connect with a reset (CONNECTION_REFUSED),
    // which the client retries with backoff until its connect budget runs out.
    const probe = createClient({ address: AGENT, connectors: { vsock }, connectTimeoutMs: 1500 });
    const error = await rejection(probe.noop(new Uint8Array([1, 2, 3])));
    await probe.close();
    assert.equal(error.code, Code.UNAVAILABLE, error.message);
    assert.equal(error.reason, 'AGENT_NOT_LISTENING', error.message);
    assert.equal((error.cause as FerryError).reason, 'CONNECTION_REFUSED', error.message);
    const attempts = Number(/\((\d+) attempts/.exec(error.message)?.[1]);
    assert.ok(attempts >= 2, `expected retries, got: ${error.message}`);
    // A call that starts while the relay is down, then the relay (as init starts it in a function VM; detached
    // so it outlives this test process and serves ferry-serve afterwards): the retry connects.
    const pending = client.noop(new Uint8Array([4, 5, 6]));
    const relay = await socat(
      [`VSOCK-LISTEN:${AGENT_PORT},reuseaddr,fork,backlog=128`, `TCP:${RELAY_HOST}:${AGENT_PORT}`],
      {
        detached: true,
      },
    );
    relay.unref();
    assert.deepEqual([...(await pending)], [4, 5, 6]);
  });

  it('is served as the tenant its host socket names', async () => {
    const info = await client.serverInfo();
    assert.equal(info.tenant, env('FERRY_VM_TENANT'));
    assert.ok(info.backends.includes('onnxruntime'), info.backends.join());
  });

  it('echoes noop payloads byte for byte, 1 MiB too, many in flight', async () => {
    const payloads = [0, 1, 100, 64 * 1024, 1024 * 1024].map((n) => randomBytes(n));
    const echoes = await Promise.all(payloads.map((p) => client.noop(p)));
    for (const [i, echo] of echoes.entries())
      assert.ok(Buffer.from(echo).equals(payloads[i] as Buffer), `payload ${i}`);
  });

  it('runs infer bit-exactly: every dtype of the mixed model, several calls in flight', async () => {
    const session = await client.createSession();
    const { modelId } = await client.registerModel(session, { bytes: mixedModel() });
    const seeds = [1, 2, 3, 4, 5, 6];
    const outputs = await Promise.all(seeds.map((seed) => client.infer(modelId, mixedInputs(seed, 1 + (seed % 3)))));
    for (const [i, seed] of seeds.entries())
      assert.deepEqual(outputs[i], mixedExpected(mixedInputs(seed, 1 + (seed % 3))));
    await client.destroySession(session);
  });

  it('reads the host-rendered image with OCR (PP-OCR on the host)', async () => {
    const image = new Uint8Array(await readFile('/app/ocr.png'));
    const lines = await client.ocr(image);
    assert.deepEqual(
      lines.map((l) => l.text),
      JSON.parse(env('FERRY_VM_OCR_LINES')),
    );
  });
});

let nextPort = 5000;

/**
 * A listener the vsock connector can reach inside the guest: a unix listener, and socat accepting AF_VSOCK on a
 * fresh port of the loopback CID and handing each connection to it. The connector under test is the client side.
 */
async function vsockListen(options: ListenOptions): Promise<Listener> {
  const port = nextPort++;
  const address = `vsock://1:${port}`;
  const path = `/tmp/contract-${port}.sock`;
  const inner = await listen(
    { scheme: 'unix', path },
    {
      ...(options.signal ? { signal: options.signal } : {}),
      onConnection: (socket, info) => options.onConnection(socket, { listener: address, remote: info.remote }),
    },
  );
  const relay = await socat([`VSOCK-LISTEN:${port},reuseaddr,fork,backlog=128`, `UNIX-CONNECT:${path}`]);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const exited = once(relay, 'exit');
      relay.kill('SIGTERM');
      await exited;
      await inner.close();
    })();
    return closing;
  };
  return { address, close, [Symbol.asyncDispose]: close };
}

connectorContract({
  name: 'vsock (in a guest: AF_VSOCK loopback)',
  listen: vsockListen,
  connectors: { vsock },
  // Software emulation on a shared CI machine: 50 concurrent connections took 8 s of the default 10 here.
  testTimeoutMs: 60_000,
});
