// Throws random and mutated ttrpc frames at a live agent over several connections while a well-behaved
// tenant keeps calling it and checking every answer. Loopback (unix sockets) only.
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { create, type DescMessage, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { type Client, createClient } from '@ferry/client';
import { tensor } from '@ferry/core';
import { buildModel } from '@ferry/onnx';
import {
  Accelerator,
  DataType,
  encodeFrame,
  encodeFrameHeader,
  encodeRequest,
  InferRequestSchema,
  MessageType,
} from '@ferry/protocol';

export interface FuzzOptions {
  /** The agent's process id, for its RSS and to check that it is alive. */
  readonly pid: number;
  /** Unix socket path of the tenant the fuzzer attacks. */
  readonly fuzzPath: string;
  /** Address of the well-behaved tenant (another listener of the same agent). */
  readonly goodAddress: string;
  /** Stop after this many hostile frames… */
  readonly frames: number;
  /** …or after this long, whichever comes first. */
  readonly seconds: number;
  /** Hostile connections at once (default 8). */
  readonly connections?: number;
  /** The agent's maxFrameBytes, to claim more than it (default 16 MiB). */
  readonly maxFrameBytes?: number;
}

export interface FuzzReport {
  readonly framesSent: number;
  readonly byKind: Readonly<Record<string, number>>;
  /** Hostile connections the agent closed (protocol violations, stalls, refusals). */
  readonly connectionsClosed: number;
  readonly good: { readonly calls: number; readonly ok: number; readonly wrong: number; readonly errors: number };
  readonly firstGoodFailure: string | undefined;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly peakRssBytes: number;
  readonly agentAlive: boolean;
  readonly seconds: number;
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return procStatus(pid, 'VmRSS') > 0; // a zombie has no VmRSS
  } catch {
    return false;
  }
}

const SERVICE = Accelerator.typeName;
const methods = Object.values(Accelerator.method);
const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)] as T;

/** A small valid ONNX model the hostile tenant registers, and one declaring a 3 GiB input. */
const smallModel = buildModel({
  name: 'fuzz',
  inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4] }],
  nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['y'] }],
});
const hugeModel = buildModel({
  name: 'huge',
  inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 16384, 16384] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [1, 3, 16384, 16384] }],
  nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
});

function request(streamId: number, method: string, payload: Uint8Array, service = SERVICE): Uint8Array {
  return encodeFrame({
    streamId,
    type: MessageType.REQUEST,
    flags: 0,
    payload: encodeRequest({ service, method, payload, timeoutNano: 5_000_000_000n }),
  });
}

function message<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

/** Flips a few random bytes of the payload (the 10 header bytes are kept). */
function mutate(frame: Uint8Array): Uint8Array {
  const copy = frame.slice();
  for (let k = randomInt(1, 6); k > 0 && copy.length > 10; k--) copy[randomInt(10, copy.length)] = randomInt(256);
  return copy;
}

/** One hostile write: its kind, its bytes, and whether the connection then stays silent (a stall). */
type Attack = { readonly kind: string; readonly bytes: Uint8Array; readonly stall?: boolean };

const m = Accelerator.method;

function validCall(streamId: number): Uint8Array {
  switch (randomInt(6)) {
    case 0:
      return request(streamId, 'Noop', message(m.noop.input, { payload: randomBytes(randomInt(0, 64)) }));
    case 1:
      return request(streamId, 'CreateSession', new Uint8Array(0));
    case 2:
      // Session 1 of this connection, if it made one: a real model, or one declaring a 3 GiB input.
      return request(
        streamId,
        'RegisterModel',
        message(m.registerModel.input, {
          sessionId: 1,
          source: { case: 'modelBytes', value: pick([smallModel, hugeModel]) },
        }),
      );
    case 3:
      return request(
        streamId,
        'RegisterModel',
        message(m.registerModel.input, { sessionId: 1, source: { case: 'modelBytes', value: randomBytes(32) } }),
      );
    case 4:
      return request(streamId, 'Ocr', message(m.ocr.input, { image: randomBytes(randomInt(1, 64)) }));
    default:
      return request(
        streamId,
        'Infer',
        message(InferRequestSchema, {
          modelId: randomInt(1, 4),
          inputs: [{ name: 'x', tensor: { dtype: DataType.FLOAT32, shape: [1n, 4n], data: randomBytes(16) } }],
        }),
      );
  }
}

function attack(streamId: number, maxFrameBytes: number): Attack {
  switch (randomInt(11)) {
    case 0:
      return { kind: 'random-bytes', bytes: randomBytes(randomInt(1, 256)) };
    case 1:
      return {
        kind: 'junk-envelope',
        bytes: encodeFrame({ streamId, type: MessageType.REQUEST, flags: 0, payload: randomBytes(randomInt(0, 512)) }),
      };
    case 2:
      return {
        kind: 'junk-message',
        bytes: request(streamId, pick(methods).name, randomBytes(randomInt(0, 512))),
      };
    case 3:
      return {
        kind: 'oversized-length',
        bytes: encodeFrameHeader(streamId, MessageType.REQUEST, 0, maxFrameBytes + randomInt(1, 1 << 30), {
          maxFrameBytes: 0xffff_ffff,
        }),
      };
    case 4: {
      const whole = validCall(streamId);
      return { kind: 'stall-mid-frame', bytes: whole.subarray(0, randomInt(1, whole.length)), stall: true };
    }
    case 5:
      return {
        kind: 'wrong-stream-id',
        bytes: encodeFrame({
          streamId: pick([0, streamId + 1, 2 ** 32 - 2]),
          type: MessageType.REQUEST,
          flags: 0,
          payload: encodeRequest({ service: SERVICE, method: 'Noop', payload: new Uint8Array(0) }),
        }),
      };
    case 6:
      return {
        kind: 'wrong-type',
        bytes: encodeFrame({
          streamId,
          type: pick([MessageType.RESPONSE, MessageType.DATA, 0, 7, 255]),
          flags: randomInt(256),
          payload: randomBytes(randomInt(0, 64)),
        }),
      };
    case 7:
      return {
        kind: 'unknown-service',
        bytes: request(
          streamId,
          pick(['Noop', 'Nope', '', 'x'.repeat(300)]),
          new Uint8Array(0),
          pick(['grpc.VaccelAgent', 'nope.Nope', '', SERVICE.toUpperCase()]),
        ),
      };
    case 8: {
      // A tensor whose bytes do not match its shape, or whose shape is astronomic.
      const shape = pick([[1n, 4n], [1n << 40n, 1n << 20n], [0n], [3n, 3n, 3n]]);
      return {
        kind: 'truncated-tensor',
        bytes: request(
          streamId,
          'Infer',
          message(InferRequestSchema, {
            modelId: randomInt(1, 4),
            inputs: [
              {
                name: 'x',
                tensor: { dtype: pick([1, 7, 8, 13, 99]) as DataType, shape, data: randomBytes(randomInt(0, 9)) },
              },
            ],
          }),
        ),
      };
    }
    case 9:
      return { kind: 'mutated-call', bytes: mutate(validCall(streamId)) };
    default:
      return { kind: 'valid-hostile-call', bytes: validCall(streamId) };
  }
}

/** A well-behaved tenant: Noop echoes and a Neg model, every answer checked by content. */
async function goodTenant(
  client: Client,
  modelId: number,
  until: () => boolean,
  stats: { calls: number; ok: number; wrong: number; errors: number; first: string | undefined },
) {
  while (!until()) {
    stats.calls++;
    try {
      if (stats.calls % 2 === 0) {
        const payload = randomBytes(randomInt(1, 256));
        const echo = await client.noop(payload, { timeoutMs: 30_000 });
        if (Buffer.compare(Buffer.from(echo), payload) === 0) stats.ok++;
        else {
          stats.wrong++;
          stats.first ??= 'a Noop echoed other bytes';
        }
      } else {
        const x = Float32Array.from({ length: 4 }, () => randomInt(-1000, 1000));
        const { y } = await client.infer(modelId, { x: tensor('float32', [1, 4], x) }, { timeoutMs: 30_000 });
        const got = y && y.dtype === 'float32' ? new Float32Array(y.data.slice().buffer) : undefined;
        if (got && got.length === 4 && got.every((v, i) => v === -(x[i] as number))) {
          stats.ok++;
        } else {
          stats.wrong++;
          stats.first ??= `Infer answered ${got ? [...got].join(',') : 'nothing'} for -(${[...x].join(',')})`;
        }
      }
    } catch (error) {
      stats.errors++;
      stats.first ??= (error as Error).message;
    }
  }
}

/** Runs the fuzzer against a running agent; see {@link FuzzOptions}. */
export async function fuzzAgent(options: FuzzOptions): Promise<FuzzReport> {
  const { pid, fuzzPath, frames, seconds } = options;
  const maxFrameBytes = options.maxFrameBytes ?? 16 * 1024 * 1024;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let sent = 0;
  let closedByAgent = 0;
  const byKind: Record<string, number> = {};
  const done = () => sent >= frames || performance.now() >= deadline || !alive(pid);
  const good = { calls: 0, ok: 0, wrong: 0, errors: 0, first: undefined as string | undefined };
  const client = createClient({ address: options.goodAddress });
  // The good tenant is set up and warm before the baseline is taken.
  const session = await client.createSession();
  const { modelId } = await client.registerModel(session, { bytes: smallModel });
  await client.infer(modelId, { x: tensor('float32', [1, 4], [1, 2, 3, 4]) });
  const rssBefore = procStatus(pid, 'VmRSS');
  const goodDone = goodTenant(client, modelId, done, good).catch((error: Error) => {
    good.errors++;
    good.first ??= error.message;
  });

  const stalled = new Set<Socket>();
  const worker = async () => {
    while (!done()) {
      const socket = connect(fuzzPath);
      socket.on('data', () => {}); // answers are read and dropped
      const closed = new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.once('error', () => {});
      });
      let open = true;
      // The agent ends a connection that broke the protocol: stop writing into it at once.
      socket.once('end', () => {
        open = false;
      });
      void closed.then(() => {
        open = false;
      });
      await new Promise<void>((resolve) => {
        socket.once('connect', resolve);
        socket.once('close', resolve);
      });
      let streamId = 1;
      while (open && !done()) {
        const a = attack(streamId, maxFrameBytes);
        streamId += 2;
        sent++;
        byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
        const flushed = socket.write(a.bytes);
        if (a.stall) {
          // This connection now stays silent; the agent must cut it off. At most a few are kept parked.
          stalled.add(socket);
          void closed.then(() => stalled.delete(socket));
          if (stalled.size > 4) await closed;
          break;
        }
        if (!flushed) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
        // Let the agent's answer (or its hang-up) arrive before the next frame, so that frames are not
        // written into a connection the agent already closed.
        await new Promise((r) => setImmediate(r));
      }
      if (!stalled.has(socket)) {
        if (open) socket.destroy();
        else closedByAgent++;
      } else {
        void closed.then(() => closedByAgent++);
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections ?? 8 }, worker));
  for (const socket of stalled) socket.destroy();
  await goodDone;
  // One more call after the storm: the agent still answers.
  let agentAlive = alive(pid);
  if (agentAlive) {
    try {
      await client.noop(new Uint8Array([2]), { timeoutMs: 10_000 });
    } catch {
      agentAlive = false;
    }
  }
  await client.close().catch(() => {});
  return {
    framesSent: sent,
    byKind,
    connectionsClosed: closedByAgent,
    good: { calls: good.calls, ok: good.ok, wrong: good.wrong, errors: good.errors },
    firstGoodFailure: good.first,
    rssBeforeBytes: rssBefore,
    rssAfterBytes: procStatus(pid, 'VmRSS'),
    peakRssBytes: procStatus(pid, 'VmHWM'),
    agentAlive,
    seconds: (performance.now() - started) / 1000,
  };
}
