import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { Code, FerryError } from '@ferry/core';
import {
  Accelerator,
  createFrameDecoder,
  decodeRequest,
  encodeResponseFrame,
  noopMessage,
  statusFromError,
  type TtrpcRequest,
} from '@ferry/protocol';
import { createDuplexPair } from '@ferry/transport';
import { createClient } from './create-client.js';
import { defaultAddress } from './default-address.js';

type Answer = (request: TtrpcRequest) => Uint8Array | FerryError | undefined;

/**
 * A peer speaking ttrpc over an in-memory duplex pair, scripted by `answer`: a payload is sent back as
 * the response, a FerryError as an error status, undefined as nothing at all (a call that never ends).
 * Counts the connections the client opened and keeps the requests it read.
 */
function scriptedPeer(t: TestContext, answer: Answer) {
  const requests: TtrpcRequest[] = [];
  const sockets: Duplex[] = [];
  const connector = {
    async connect() {
      const [guest, host] = createDuplexPair();
      sockets.push(host);
      const decoder = createFrameDecoder();
      host.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(new Uint8Array(chunk))) {
          const request = decodeRequest(frame.payload);
          requests.push(request);
          const reply = answer(request);
          if (reply instanceof FerryError) {
            host.write(encodeResponseFrame(frame.streamId, { status: statusFromError(reply) }));
          } else if (reply) {
            host.write(encodeResponseFrame(frame.streamId, {}, noopMessage(reply)));
          }
        }
      });
      return guest;
    },
  };
  const client = createClient({ address: 'local:', connectors: { local: connector } });
  t.after(() => client.destroy());
  return { client, requests, sockets };
}

const echo: Answer = (request) =>
  fromBinary(Accelerator.method.noop.input, request.payload).payload.map((b) => b ^ 0xff);

describe('createClient()', () => {
  it('does no I/O until the first call, then sends it as a ttrpc request on one connection', async (t) => {
    const peer = scriptedPeer(t, echo);
    assert.equal(peer.sockets.length, 0);
    const answers = await Promise.all([
      peer.client.noop(new Uint8Array([1, 2])),
      peer.client.noop(new Uint8Array([3])),
    ]);
    assert.deepEqual(
      answers.map((a) => [...a]),
      [[254, 253], [252]],
    );
    assert.equal(peer.sockets.length, 1);
    assert.deepEqual(
      peer.requests.map((r) => [r.service, r.method]),
      [
        ['ferry.v1.Accelerator', 'Noop'],
        ['ferry.v1.Accelerator', 'Noop'],
      ],
    );
  });

  it('rejects with the FerryError code and reason the peer answered', async (t) => {
    const peer = scriptedPeer(
      t,
      () => new FerryError(Code.NOT_FOUND, 'Session "7" does not exist', { reason: 'SESSION_NOT_FOUND' }),
    );
    await assert.rejects(peer.client.destroySession(7), (error: FerryError) => {
      assert.equal(error.code, Code.NOT_FOUND);
      assert.equal(error.reason, 'SESSION_NOT_FOUND');
      assert.match(error.message, /Session "7" does not exist/);
      return true;
    });
  });

  it('sends what is left of timeoutMs as timeout_nano and fails with DEADLINE_EXCEEDED when no answer comes', async (t) => {
    const peer = scriptedPeer(t, () => undefined);
    await assert.rejects(peer.client.noop(new Uint8Array(1), { timeoutMs: 30 }), { code: Code.DEADLINE_EXCEEDED });
    // What is left of the 30 ms when the frame is written (the call may have waited for the connection).
    const sent = peer.requests[0]?.timeoutNano ?? 0n;
    assert.ok(sent > 20_000_000n && sent <= 30_000_000n, `timeout_nano ${sent}`);
  });

  it('connects again on the next call after the peer closed the connection', async (t) => {
    const peer = scriptedPeer(t, echo);
    await peer.client.noop(new Uint8Array(1));
    const first = peer.sockets[0];
    assert.ok(first);
    first.destroy();
    await new Promise((resolve) => first.once('close', resolve));
    const again = await peer.client.noop(new Uint8Array([0]));
    assert.deepEqual([...again], [255]);
    assert.equal(peer.sockets.length, 2);
  });
});

describe('defaultAddress()', () => {
  it('takes FERRY_ADDRESS, then VACCEL_RPC_ADDRESS, then VACCEL_VSOCK, else vsock://2:2048', () => {
    const all = { FERRY_ADDRESS: 'unix:///a', VACCEL_RPC_ADDRESS: 'tcp://h:1', VACCEL_VSOCK: 'vsock://3:4' };
    assert.equal(defaultAddress(all), 'unix:///a');
    assert.equal(defaultAddress({ ...all, FERRY_ADDRESS: ' ' }), 'tcp://h:1');
    assert.equal(defaultAddress({ VACCEL_VSOCK: 'vsock://3:4' }), 'vsock://3:4');
    assert.equal(defaultAddress({}), 'vsock://2:2048');
  });
});
