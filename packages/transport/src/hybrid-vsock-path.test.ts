import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, FerryError } from '@ferry/core';
import { hybridVsockPath } from './hybrid-vsock-path.js';
import { MAX_UNIX_PATH_BYTES } from './unix-path.js';

const sandbox = 'a'.repeat(64);
const kata = `/run/vc/firecracker/${sandbox}/root/kata.hvsock`;

describe('hybridVsockPath()', () => {
  it('appends _<port> to the uds_path', () => {
    assert.equal(hybridVsockPath('/tmp/v.sock', 2048), '/tmp/v.sock_2048');
    assert.equal(hybridVsockPath('rel/v.sock', 0), 'rel/v.sock_0');
  });

  it('fits the Kata path of a 64-hex sandbox id and port 2048 in 106 bytes', () => {
    const path = hybridVsockPath(kata, 2048);
    assert.equal(path, `${kata}_2048`);
    assert.equal(Buffer.byteLength(path), 106);
  });

  it('accepts a path of exactly MAX_UNIX_PATH_BYTES and refuses one byte more', () => {
    assert.equal(MAX_UNIX_PATH_BYTES, 107);
    assert.equal(Buffer.byteLength(hybridVsockPath(kata, 20480)), 107);
    assert.throws(
      () => hybridVsockPath(kata, 204800),
      (error: unknown) => {
        assert.ok(error instanceof FerryError);
        assert.equal(error.code, Code.INVALID_ARGUMENT);
        assert.equal(error.reason, 'PATH_TOO_LONG');
        assert.ok(error.message.includes(`"${kata}_204800"`), error.message);
        assert.ok(error.message.includes('is 108 bytes'), error.message);
        assert.ok(error.message.includes('107 bytes'), error.message);
        return true;
      },
    );
  });

  it('counts bytes, not characters', () => {
    const udsPath = `/run/${'ü'.repeat(50)}`; // 55 characters, 105 bytes
    assert.throws(() => hybridVsockPath(udsPath, 2048), { reason: 'PATH_TOO_LONG' });
  });

  it('throws RangeError for a port that is not a u32', () => {
    for (const port of [-1, 2 ** 32, 1.5, Number.NaN]) {
      assert.throws(() => hybridVsockPath('/tmp/v.sock', port), {
        name: 'RangeError',
        message: `hybridVsockPath() expects a vsock port, an integer from 0 to 4294967295; got ${port}`,
      });
    }
    assert.equal(hybridVsockPath('/v', 2 ** 32 - 1), '/v_4294967295');
  });

  it('throws TypeError for an empty uds_path', () => {
    assert.throws(() => hybridVsockPath('', 2048), { name: 'TypeError' });
  });
});
