import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '@ferry/core';
import { parseAddress } from '@ferry/transport';
import { connectError, createVsockConnector, vsockAvailable } from './create-vsock-connector.js';
import { loadAddon } from './load-addon.js';

// No test opens a vsock connection: this machine has no vsock loopback, and a connect to any CID would
// travel to the VMM. What runs here: the addon builds and loads, addresses and arguments are checked, and
// errno values map to FerryErrors.
describe('@ferry/vsock', () => {
  it('builds and loads its addon', () => {
    assert.deepEqual(vsockAvailable(), { ok: true });
    const { addon } = loadAddon();
    assert.equal(typeof addon?.connect, 'function');
    assert.equal(typeof addon?.shutdown, 'function');
  });

  it('checks its arguments in native code', () => {
    const { addon } = loadAddon();
    assert.ok(addon);
    const connect = addon.connect as unknown as (...args: unknown[]) => unknown;
    assert.throws(() => connect(), TypeError);
    assert.throws(() => connect('x', 2048, 10), { message: /N-API call failed/ });
  });

  it('refuses addresses that are not vsock:// and honours an aborted signal before connecting', async () => {
    const connector = createVsockConnector();
    await assert.rejects(connector.connect(parseAddress('unix:///tmp/x.sock')), TypeError);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(connector.connect(parseAddress('vsock://2:2048'), { signal: controller.signal }), {
      name: 'AbortError',
    });
  });

  it('maps connect errno values to FerryErrors naming the address', () => {
    const errno = (code: string) => Object.assign(new Error(`${code} from connect(2)`), { code });
    const cases = [
      ['ENODEV', Code.UNAVAILABLE, 'NO_VSOCK_DEVICE'],
      ['EAFNOSUPPORT', Code.UNAVAILABLE, 'NO_VSOCK_DEVICE'],
      ['ETIMEDOUT', Code.DEADLINE_EXCEEDED, 'CONNECT_TIMEOUT'],
      ['ECONNREFUSED', Code.UNAVAILABLE, 'CONNECTION_REFUSED'],
      // A refused vsock connect resets: connect(2) reports ECONNRESET (seen in the guest of test/vm).
      ['ECONNRESET', Code.UNAVAILABLE, 'CONNECTION_REFUSED'],
      ['EIO', Code.UNAVAILABLE, 'CONNECT_FAILED'],
      ['EPERM', Code.PERMISSION_DENIED, 'VSOCK_BLOCKED_BY_SECCOMP'],
    ] as const;
    for (const [code, expected, reason] of cases) {
      const error = connectError(errno(code), 'vsock://2:2048', 500);
      assert.equal(error.code, expected, code);
      assert.equal(error.reason, reason, code);
      assert.match(error.message, /vsock:\/\/2:2048/);
    }
    const seccomp = connectError(errno('EPERM'), 'vsock://2:2048', 500);
    assert.match(seccomp.message, /socket\(AF_VSOCK\) was refused with EPERM/);
    assert.match(seccomp.message, /seccomp profile blocks address family 40/);
    assert.match(seccomp.message, /disable_guest_seccomp = false/);
  });
});
