import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from './code.js';
import { FerryError, fromSystemError } from './ferry-error.js';

describe('FerryError', () => {
  it('prefixes the message with the code name and keeps the raw message for the wire', () => {
    const error = new FerryError(Code.NOT_FOUND, 'Session "7" does not exist for tenant "sbx-1a2b"', {
      reason: 'SESSION_NOT_FOUND',
    });
    assert.equal(error.message, '[not_found] Session "7" does not exist for tenant "sbx-1a2b"');
    assert.equal(error.rawMessage, 'Session "7" does not exist for tenant "sbx-1a2b"');
    assert.equal(error.reason, 'SESSION_NOT_FOUND');
    assert.equal(new FerryError(Code.INTERNAL, 'x').reason, 'INTERNAL', 'the code name when no reason is given');
  });
});

describe('FerryError.from()', () => {
  it('returns a FerryError as it is, and rebuilds one from another copy of the class (matched by shape)', () => {
    const original = new FerryError(Code.UNAVAILABLE, 'gone', { reason: 'AGENT_CLOSING' });
    assert.equal(FerryError.from(original), original);
    const foreign = {
      name: 'FerryError',
      code: 14,
      reason: 'AGENT_CLOSING',
      message: '[unavailable] gone',
      rawMessage: 'gone',
    };
    const rebuilt = FerryError.from(foreign);
    assert.ok(rebuilt instanceof FerryError);
    assert.deepEqual([rebuilt.code, rebuilt.reason, rebuilt.rawMessage], [Code.UNAVAILABLE, 'AGENT_CLOSING', 'gone']);
  });

  it('maps aborts to CANCELLED, timeouts to DEADLINE_EXCEEDED, system errors by errno, the rest to the fallback', () => {
    assert.equal(FerryError.from(AbortSignal.abort().reason).code, Code.CANCELLED);
    assert.equal(FerryError.from(new DOMException('late', 'TimeoutError')).reason, 'DEADLINE_EXCEEDED');
    const refused = Object.assign(new Error('connect ECONNREFUSED /run/ferry.sock'), { code: 'ECONNREFUSED' });
    assert.deepEqual(
      [FerryError.from(refused).code, FerryError.from(refused).reason],
      [Code.UNAVAILABLE, 'CONNECTION_REFUSED'],
    );
    assert.equal(FerryError.from(new Error('boom')).code, Code.INTERNAL);
    assert.equal(FerryError.from('text', Code.UNKNOWN).code, Code.UNKNOWN);
  });
});

describe('fromSystemError()', () => {
  it('adds the context to the message and is undefined for errors without a known errno', () => {
    const error = Object.assign(new Error('bind EADDRINUSE'), { code: 'EADDRINUSE' });
    assert.equal(fromSystemError(error, 'listen unix:///a')?.rawMessage, 'listen unix:///a: bind EADDRINUSE');
    assert.equal(fromSystemError(new Error('plain')), undefined);
    assert.equal(fromSystemError(Object.assign(new Error('odd'), { code: 'EWEIRD' })), undefined);
  });
});
