import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, codeName, FerryError } from '@ferry/core';
import { toHttpError } from './http-error.js';

function fastifyError(code: string, statusCode: number, message = 'boom'): Error {
  return Object.assign(new Error(message), { code, statusCode });
}

describe('toHttpError()', () => {
  it('answers FerryErrors with httpStatusFor(code) and {error, code, reason}', () => {
    const cases: [Code, number][] = [
      [Code.INVALID_ARGUMENT, 400],
      [Code.NOT_FOUND, 404],
      [Code.FAILED_PRECONDITION, 400],
      [Code.RESOURCE_EXHAUSTED, 429],
      [Code.DEADLINE_EXCEEDED, 504],
      [Code.UNAVAILABLE, 503],
      [Code.UNIMPLEMENTED, 501],
      [Code.INTERNAL, 500],
    ];
    for (const [code, status] of cases) {
      const http = toHttpError(new FerryError(code, 'what happened', { reason: 'SOME_REASON' }));
      assert.equal(http.status, status);
      assert.deepEqual(http.body, { error: 'what happened', code: codeName(code), reason: 'SOME_REASON' });
    }
  });

  it('accepts FerryError-shaped errors from another copy of @ferry/core', () => {
    const foreign = Object.assign(new Error('[not_found] gone'), {
      name: 'FerryError',
      code: 5,
      reason: 'MODEL_NOT_FOUND',
      rawMessage: 'gone',
    });
    assert.deepEqual(toHttpError(foreign).body, { error: 'gone', code: 'NOT_FOUND', reason: 'MODEL_NOT_FOUND' });
  });

  it('answers 413 for bodies over the limit and 415 for the wrong media type', () => {
    assert.equal(toHttpError(fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413)).status, 413);
    assert.equal(toHttpError(fastifyError('FST_REQ_FILE_TOO_LARGE', 413)).status, 413);
    assert.equal(toHttpError(fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413)).body.reason, 'BODY_TOO_LARGE');
    assert.equal(
      toHttpError(new FerryError(Code.INVALID_ARGUMENT, 'x', { reason: 'UNSUPPORTED_MEDIA_TYPE' })).status,
      415,
    );
  });

  it('answers other framework errors by their status class, and anything else with 500', () => {
    assert.equal(toHttpError(fastifyError('FST_SOMETHING_NEW', 400)).status, 400);
    assert.equal(toHttpError(fastifyError('FST_SOMETHING_BAD', 503)).status, 500);
    assert.equal(toHttpError(new Error('bug')).status, 500);
    assert.equal(toHttpError('a string').body.error, 'a string');
    const econnrefused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(toHttpError(econnrefused).status, 503);
  });
});
