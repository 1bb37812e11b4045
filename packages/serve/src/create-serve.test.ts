import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { CallOptions, Client } from '@ferry/client';
import { createFakeClient, type FakeClientOptions } from '@ferry/client/testing';
import { Code, FerryError } from '@ferry/core';
import { createServe, type ServeLimits } from './create-serve.js';

const signature = {
  inputs: [{ name: 'x', dtype: 'float32' as const, shape: [1] }],
  outputs: [{ name: 'y', dtype: 'float32' as const, shape: [1] }],
};

/** Calls that wait until their signal aborts: a stand-in for an agent that never answers. */
function stuckMethods(): FakeClientOptions {
  const wait = (options?: CallOptions) =>
    new Promise<never>((_resolve, reject) => {
      options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
    });
  return {
    address: 'memory:stuck',
    serverInfo: wait,
    createSession: async () => 1,
    registerModel: async () => ({ modelId: 1, name: 'm', sha256: '', backend: 'x', reused: false, ...signature }),
    infer: (_id, _inputs, options) => wait(options),
    ocr: (_image, options) => wait(options),
    destroySession: async () => {},
  };
}

const stuckClient = () => createFakeClient(stuckMethods());

/** A client for an agent that is not there. */
function absentClient(): Client {
  const fail = async (): Promise<never> => {
    throw new FerryError(Code.UNAVAILABLE, 'connect ENOENT /run/ferry.sock', { reason: 'NO_SUCH_SOCKET' });
  };
  return createFakeClient({
    address: 'unix:///run/ferry.sock',
    serverInfo: fail,
    createSession: fail,
    registerModel: fail,
    infer: fail,
    classify: fail,
    detect: fail,
    ocr: fail,
    destroySession: fail,
  });
}

async function start(t: TestContext, client: Client, limits: Partial<ServeLimits> = {}) {
  const serve = await createServe({ client, limits });
  t.after(() => serve.destroy());
  return (await serve.listen({ port: 0 })).url;
}

const inferBody = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] });

describe('createServe()', () => {
  it('answers 504 when the agent does not answer within requestTimeoutMs', async (t) => {
    const url = await start(t, stuckClient(), { requestTimeoutMs: 50 });
    const response = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: inferBody });
    assert.equal(response.status, 504);
    assert.deepEqual(await response.json(), {
      error: 'The request did not finish within 50 ms',
      code: 'DEADLINE_EXCEEDED',
      reason: 'DEADLINE_EXCEEDED',
    });
  });

  it('answers 503 with {"error"} everywhere the agent is needed while it is unavailable, and stays live', async (t) => {
    const url = await start(t, absentClient());
    const png = { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(4) };
    const responses = await Promise.all([
      fetch(`${url}/v2/health/ready`),
      fetch(`${url}/v2/models/m`),
      fetch(`${url}/v2/models/m/ready`),
      fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: inferBody }),
      fetch(`${url}/classify?model=m`, png),
      fetch(`${url}/detect`, png),
      fetch(`${url}/ocr`, png),
    ]);
    for (const response of responses) {
      assert.equal(response.status, 503, response.url);
      const body = (await response.json()) as { error: string; code: string };
      assert.equal(body.code, 'UNAVAILABLE');
      assert.match(body.error, /ENOENT/);
    }
    assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
  });

  it('serves only the models it was given', async (t) => {
    const serve = await createServe({ client: stuckClient(), models: ['m'] });
    t.after(() => serve.destroy());
    const { url } = await serve.listen({ port: 0 });
    const response = await fetch(`${url}/v2/models/other`);
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as { error: string }).error, /not served here \(serving: m\)/);
  });

  it('drains requests in flight on close() and refuses new connections after it', async (t) => {
    let release: () => void = () => {};
    let started: () => void = () => {};
    const ocrStarted = new Promise<void>((resolve) => (started = resolve));
    const client = createFakeClient({
      ...stuckMethods(),
      ocr: () =>
        new Promise((resolve) => {
          release = () => resolve([{ text: 'hi', score: 1, box: [], angle: 0 }]);
          started();
        }),
    });
    const serve = await createServe({ client });
    t.after(() => serve.destroy());
    const { url } = await serve.listen({ port: 0 });
    const pending = fetch(`${url}/ocr`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: '1' });
    await ocrStarted;
    const closed = serve.close();
    release();
    const response = await pending;
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { lines: [{ text: 'hi', score: 1, box: [], angle: 0 }] });
    await closed;
    await assert.rejects(fetch(`${url}/v2/health/live`));
    await serve.close();
  });

  it('validates its options', async () => {
    await assert.rejects(createServe({} as never), TypeError);
    await assert.rejects(createServe({ client: stuckClient(), limits: { maxBodyBytes: 0 } }), RangeError);
    await assert.rejects(createServe({ client: stuckClient(), models: [''] }), TypeError);
  });
});
