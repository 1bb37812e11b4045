import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { createDuplexPair } from './create-duplex-pair.js';
import { closed, readAll, readBytes } from './testing/connector-contract.js';

describe('createDuplexPair()', () => {
  it('delivers what one end writes to the other, in both directions', async (t) => {
    const [a, b] = createDuplexPair();
    a.write('to b');
    b.write('to a');
    assert.equal((await readBytes(b, 4, t.signal)).toString(), 'to b');
    assert.equal((await readBytes(a, 4, t.signal)).toString(), 'to a');
  });

  it('copies written bytes, so a writer may reuse its buffer after the callback', async (t) => {
    const [a, b] = createDuplexPair();
    const buffer = Buffer.from('first');
    await new Promise<void>((resolve, reject) => a.write(buffer, (error) => (error ? reject(error) : resolve())));
    buffer.write('later');
    assert.equal((await readBytes(b, 5, t.signal)).toString(), 'first');
  });

  it('holds a write until the peer reads (backpressure)', async (t) => {
    const [a, b] = createDuplexPair();
    let written = false;
    a.write(Buffer.alloc(64 * 1024), () => {
      written = true;
    });
    assert.equal(a.write(Buffer.alloc(1)), false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(written, false, 'the write completed while the peer buffer was full');
    const drained = once(a, 'drain', { signal: t.signal });
    assert.equal((await readBytes(b, 64 * 1024 + 1, t.signal)).length, 64 * 1024 + 1);
    await drained;
    assert.equal(written, true);
  });

  it('half-closes on end(): the peer reads EOF and can still write back', async (t) => {
    const [a, b] = createDuplexPair();
    a.end('bye');
    assert.equal((await readAll(b, t.signal)).toString(), 'bye');
    b.end('bye too');
    assert.equal((await readAll(a, t.signal)).toString(), 'bye too');
    await Promise.all([closed(a, t.signal), closed(b, t.signal)]);
  });

  it('on destroy(), the peer reads EOF after the data already sent, and its later writes fail with EPIPE', async (t) => {
    const [a, b] = createDuplexPair();
    a.write('last words');
    a.destroy();
    assert.equal((await readAll(b, t.signal)).toString(), 'last words');
    b.write('anyone there?');
    const [error] = (await once(b, 'error', { signal: t.signal })) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'EPIPE');
  });

  it('fails a write held by backpressure with EPIPE when the peer is destroyed', async (t) => {
    const [a, b] = createDuplexPair();
    const result = new Promise<Error | null | undefined>((resolve) => a.write(Buffer.alloc(64 * 1024), resolve));
    a.on('error', () => {});
    b.destroy();
    const error = (await result) as NodeJS.ErrnoException;
    assert.equal(error?.code, 'EPIPE');
    await closed(a, t.signal);
  });
});
