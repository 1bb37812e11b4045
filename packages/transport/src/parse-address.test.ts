import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, FerryError } from '@ferry/core';
import type { Address } from './address.js';
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

describe('parseAddress()', () => {
  const valid: Array<[string, Address]> = [
    ['unix:///run/ferry/agent.sock', { scheme: 'unix', path: '/run/ferry/agent.sock' }],
    ['unix:/run/ferry.sock', { scheme: 'unix', path: '/run/ferry.sock' }],
    ['unix:rel/path.sock', { scheme: 'unix', path: 'rel/path.sock' }],
    ['unix:./agent.sock', { scheme: 'unix', path: './agent.sock' }],
    ['UNIX:///x.sock', { scheme: 'unix', path: '/x.sock' }],
    ['tcp://127.0.0.1:5000', { scheme: 'tcp', host: '127.0.0.1', port: 5000 }],
    ['tcp://[::1]:5000', { scheme: 'tcp', host: '::1', port: 5000 }],
    ['tcp://[fe80::1%eth0]:80', { scheme: 'tcp', host: 'fe80::1%eth0', port: 80 }],
    ['tcp://localhost:0', { scheme: 'tcp', host: 'localhost', port: 0 }],
    ['tcp://agent.ferry-system.svc:65535', { scheme: 'tcp', host: 'agent.ferry-system.svc', port: 65535 }],
    ['vsock://2:2048', { scheme: 'vsock', cid: 2, port: 2048 }],
    ['vsock://4294967295:4294967295', { scheme: 'vsock', cid: 4294967295, port: 4294967295 }],
    ['local:', { scheme: 'local' }],
    ['memory:agent', { scheme: 'memory', name: 'agent' }],
    ['memory:tenant/sbx-1', { scheme: 'memory', name: 'tenant/sbx-1' }],
  ];
  for (const [input, expected] of valid) {
    it(`parses ${input}`, () => {
      assert.deepEqual(parseAddress(input), expected);
    });
  }

  const refused: Array<[string, RegExp]> = [
    ['', /no scheme/],
    ['/run/ferry.sock', /no scheme/],
    [':5000', /no scheme/],
    ['http://localhost:80', /scheme "http" is unknown/],
    [' unix:///x', /whitespace/],
    ['unix:///x\n', /whitespace/],
    ['unix:///x\u0000y', /control characters/],
    ['unix:', /path is empty/],
    ['unix://', /must be followed by an absolute path/],
    ['unix://run/ferry.sock', /must be followed by an absolute path/],
    ['tcp:localhost:5000', /tcp:\/\/host:port/],
    ['tcp://localhost', /port is missing/],
    ['tcp://:5000', /host is empty/],
    ['tcp://localhost:', /port must be an integer from 0 to 65535/],
    ['tcp://localhost:65536', /port must be an integer from 0 to 65535/],
    ['tcp://localhost:-1', /port must be an integer from 0 to 65535/],
    ['tcp://localhost:50x', /port must be an integer from 0 to 65535/],
    ['tcp://localhost:5000/path', /only host:port/],
    ['tcp://user@localhost:5000', /only host:port/],
    ['tcp://::1:5000', /IPv6 host goes in brackets/],
    ['tcp://[::1]', /port is missing/],
    ['tcp://[not-ipv6]:5000', /not an IPv6 address/],
    ['tcp://[::1:5000', /not an IPv6 address/],
    ['tcp://bad_host!:5000', /not a host name or IP address/],
    ['vsock:2:2048', /vsock:\/\/cid:port/],
    ['vsock://2', /vsock:\/\/cid:port/],
    ['vsock://2:2048:1', /vsock:\/\/cid:port/],
    ['vsock://x:2048', /cid must be an integer from 0 to 4294967295/],
    ['vsock://4294967296:2048', /cid must be an integer from 0 to 4294967295/],
    ['vsock://2:4294967296', /port must be an integer from 0 to 4294967295/],
    ['vsock://2:', /port must be an integer/],
    ['local:x', /nothing after the colon/],
    ['local://', /nothing after the colon/],
    ['memory:', /memory name is empty/],
    ['memory:a b', /no whitespace/],
    ['memory://x', /does not start with/],
  ];
  for (const [input, detail] of refused) {
    it(`throws INVALID_ARGUMENT INVALID_ADDRESS for ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseAddress(input), invalid(input, detail));
    });
  }

  it('throws TypeError for a value that is not a string', () => {
    assert.throws(() => parseAddress(42 as unknown as string), {
      name: 'TypeError',
      message: 'parseAddress() expects a string, got number',
    });
  });
});
