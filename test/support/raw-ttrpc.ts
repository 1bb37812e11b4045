import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { allBytesOf, bytesField, bytesOf, concat, message, readMessage, stringOf, varintOf } from './protowire.js';

/**
 * A ttrpc client as a vAccel guest's would be, built from the wire descriptions only: 10-byte frame
 * header (u32 BE length, u32 BE stream id, u8 type, u8 flags), `ttrpc.Request{1 service, 2 method,
 * 3 payload}` out, `ttrpc.Response{1 status, 2 payload}` back, `google.rpc.Status{1 code, 2 message,
 * 3 details: Any{1 type_url, 2 value}}`. Uses none of Ferry's protocol code.
 */
export interface RawStatus {
  readonly code: number;
  readonly message: string;
  readonly details: readonly { readonly typeUrl: string; readonly value: Uint8Array }[];
}

export interface RawAnswer {
  /** Absent when the agent answered OK. */
  readonly status?: RawStatus;
  readonly payload: Uint8Array;
}

export interface RawTtrpc {
  call(service: string, method: string, payload: Uint8Array): Promise<RawAnswer>;
  /** Whether the agent closed the connection. */
  readonly closed: boolean;
}

const REQUEST = 1;
const RESPONSE = 2;

export async function connectRaw(t: TestContext, path: string): Promise<RawTtrpc> {
  const socket: Socket = connect(path);
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  let nextStream = 1;
  let buffered: Uint8Array = new Uint8Array(0);
  let closed = false;
  const waiting = new Map<number, { resolve: (a: RawAnswer) => void; reject: (e: Error) => void }>();
  socket.on('close', () => {
    closed = true;
    for (const w of waiting.values()) w.reject(new Error('connection closed'));
    waiting.clear();
  });
  socket.on('data', (chunk: Buffer) => {
    buffered = concat(buffered, new Uint8Array(chunk));
    while (buffered.byteLength >= 10) {
      const view = new DataView(buffered.buffer, buffered.byteOffset, buffered.byteLength);
      const length = view.getUint32(0);
      if (buffered.byteLength < 10 + length) return;
      const stream = view.getUint32(4);
      const type = buffered[8];
      const payload = buffered.slice(10, 10 + length);
      buffered = buffered.slice(10 + length);
      const w = waiting.get(stream);
      if (!w || type !== RESPONSE) continue;
      waiting.delete(stream);
      w.resolve(decodeAnswer(payload));
    }
  });
  return {
    get closed() {
      return closed;
    },
    call(service, method, payload) {
      const stream = nextStream;
      nextStream += 2;
      const body = message(bytesField(1, service), bytesField(2, method), bytesField(3, payload));
      const header = new Uint8Array(10);
      const view = new DataView(header.buffer);
      view.setUint32(0, body.byteLength);
      view.setUint32(4, stream);
      header[8] = REQUEST;
      return new Promise<RawAnswer>((resolve, reject) => {
        waiting.set(stream, { resolve, reject });
        socket.write(concat(header, body));
      });
    },
  };
}

function decodeAnswer(bytes: Uint8Array): RawAnswer {
  const response = readMessage(bytes);
  const payload = bytesOf(response, 2);
  const statusField = response.find((f) => f.field === 1);
  if (!statusField?.bytes) return { payload };
  const status = readMessage(statusField.bytes);
  const code = Number(varintOf(status, 1));
  if (code === 0) return { payload };
  return {
    status: {
      code,
      message: stringOf(status, 2),
      details: allBytesOf(status, 3).map((any) => {
        const fields = readMessage(any);
        return { typeUrl: stringOf(fields, 1), value: bytesOf(fields, 2) };
      }),
    },
    payload,
  };
}
