import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '@ferry/core';
import { createFakeClient } from './create-fake-client.js';

describe('createFakeClient()', () => {
  it('runs the methods it was given', async () => {
    const client = createFakeClient({ address: 'memory:t', createSession: async () => 41 });
    assert.equal(client.address, 'memory:t');
    assert.equal(await client.createSession(), 41);
  });

  it('rejects any other call with UNIMPLEMENTED NOT_FAKED naming the method', async () => {
    const client = createFakeClient();
    await assert.rejects(client.infer(1, {}), (error: Error & { code?: number; reason?: string }) => {
      assert.equal(error.code, Code.UNIMPLEMENTED);
      assert.equal(error.reason, 'NOT_FAKED');
      assert.match(error.message, /infer\(\)/);
      return true;
    });
  });

  it('closes, destroys and disposes without being told how', async () => {
    const client = createFakeClient();
    await client.close();
    client.destroy();
    await client[Symbol.asyncDispose]();
  });
});
