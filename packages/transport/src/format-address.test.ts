import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, FerryError } from '@ferry/core';
import type { Address } from './address.js';
import { formatAddress } from './format-address.js';
import { parseAddress } from './parse-address.js';

function invalid(input: string, detail: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof FerryError);
    assert.equal(error.code, Code.INVALID_ARGUMENT);
    assert.equal(error.reason, 'INVALID_ADDRESS');
    assert.ok(error.message.includes(JSON.stringify(input)), `the message names the input: ${error.message}`);
    assert.ok(error.message.includes('unix:///absolute/path'), `the message lists the forms: ${error.message}`);
    assert.match(error.message, detail);
    return true;
  };
}

describe('formatAddress()', () => {
  const cases: Array<[Address, string]> = [
    [{ scheme: 'unix', path: '/run/ferry.sock' }, 'unix:///run/ferry.sock'],
    [{ scheme: 'unix', path: 'rel/agent.sock' }, 'unix:rel/agent.sock'],
    [{ scheme: 'unix', path: '../up.sock' }, 'unix:../up.sock'],
    [{ scheme: 'tcp', host: '127.0.0.1', port: 5000 }, 'tcp://127.0.0.1:5000'],
    [{ scheme: 'tcp', host: '::1', port: 0 }, 'tcp://[::1]:0'],
    [{ scheme: 'tcp', host: 'localhost', port: 80 }, 'tcp://localhost:80'],
    [{ scheme: 'vsock', cid: 2, port: 2048 }, 'vsock://2:2048'],
    [{ scheme: 'local' }, 'local:'],
    [{ scheme: 'memory', name: 'agent' }, 'memory:agent'],
  ];
  for (const [address, text] of cases) {
    it(`formats ${text} and parses it back`, () => {
      assert.equal(formatAddress(address), text);
      assert.deepEqual(parseAddress(text), address);
    });
  }

  it('round-trips every address parseAddress accepts', () => {
    for (const input of ['unix:/x.sock', 'UNIX:///x.sock', 'tcp://h:00080', 'vsock://02:2048']) {
      const parsed = parseAddress(input);
      assert.deepEqual(parseAddress(formatAddress(parsed)), parsed);
    }
    assert.equal(formatAddress(parseAddress('tcp://h:00080')), 'tcp://h:80');
  });

  const refused: Array<[unknown, string, RegExp]> = [
    [{ scheme: 'tcp', host: 'localhost', port: 70000 }, 'tcp://localhost:70000', /port must be an integer/],
    [{ scheme: 'tcp', host: 'localhost', port: 1.5 }, 'tcp://localhost:1.5', /port must be an integer/],
    [{ scheme: 'tcp', host: '[::1]', port: 1 }, 'tcp://[[::1]]:1', /not an IPv6 address/],
    [{ scheme: 'unix', path: '' }, 'unix:', /path is empty/],
    [{ scheme: 'vsock', cid: -1, port: 1 }, 'vsock://-1:1', /cid must be an integer/],
    [{ scheme: 'memory', name: '' }, 'memory:', /memory name is empty/],
  ];
  for (const [address, text, detail] of refused) {
    it(`throws INVALID_ADDRESS for ${JSON.stringify(address)}`, () => {
      assert.throws(() => formatAddress(address as Address), invalid(text, detail));
    });
  }

  it('throws INVALID_ADDRESS when a field has the wrong type', () => {
    assert.throws(
      () => formatAddress({ scheme: 'tcp', port: 80 } as unknown as Address),
      invalid('tcp://undefined:80', /does not survive a round trip/),
    );
  });

  it('throws TypeError for an unknown scheme or a non-object', () => {
    assert.throws(() => formatAddress({ scheme: 'http' } as unknown as Address), {
      name: 'TypeError',
      message: 'formatAddress() got the unknown scheme "http"',
    });
    assert.throws(() => formatAddress(null as unknown as Address), { name: 'TypeError' });
  });
});
