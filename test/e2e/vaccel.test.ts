import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { colourModel, writeColourClassifier } from '../support/colour-classifier.js';
import { startAgent, tempDir } from '../support/fixtures.js';
import { renderText, solidImage } from '../support/images.js';
import {
  allBytesOf,
  bytesField,
  bytesOf,
  message,
  readMessage,
  varintField,
  varintOf,
  varintsOf,
  type WireField,
} from '../support/protowire.js';
import { connectRaw, type RawAnswer, type RawTtrpc } from '../support/raw-ttrpc.js';

/**
 * vAccel guests talk to Ferry unchanged: every request here is built from vAccel's field numbers with a
 * protobuf writer that shares nothing with Ferry's generated code, sent as ttrpc frames over a real unix
 * socket to a real agent (ONNX Runtime, a classifier built in code), and decoded the same way.
 */

const V1 = 'grpc.VaccelAgent';
const V3 = 'vaccel.sync.agent.AgentService';
const VACCEL_ERROR = 'type.googleapis.com/vaccel.Error';
const Code = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12 };
const INTERNAL = 13;
const FAILED_PRECONDITION = 9;
const ENOTSUP = 95;
const EPERM = 1;
/** vAccel's ResourceType.MODEL and Blob type BUFFER. */
const MODEL = 2;
const BUFFER = 1;
/** vAccel op types. */
const OP = { NOOP: 0, IMAGE_CLASSIFY: 2, IMAGE_DETECT: 3, EXEC: 7 };

function ok(answer: RawAnswer): WireField[] {
  assert.equal(answer.status, undefined, `expected OK, got ${JSON.stringify(answer.status)}`);
  return readMessage(answer.payload);
}

/** The code of a failed answer, and its `vaccel.Error` detail (type, ffi_error) when it has one. */
function failure(answer: RawAnswer): { code: number; message: string; ffiError?: number } {
  assert.ok(answer.status, 'expected an error');
  const detail = answer.status.details.find((d) => d.typeUrl === VACCEL_ERROR);
  if (!detail) return { code: answer.status.code, message: answer.status.message };
  const fields = readMessage(detail.value);
  assert.equal(varintOf(fields, 1), 0n, 'vaccel.Error type FFI');
  return { code: answer.status.code, message: answer.status.message, ffiError: Number(varintOf(fields, 2)) };
}

/** A NUL-padded C string: the text before the first NUL, checking that only NULs follow. */
function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  assert.ok(end >= 0, 'the answer is NUL-terminated');
  assert.ok(
    bytes.subarray(end).every((b) => b === 0),
    'NUL-padded to the end',
  );
  return new TextDecoder().decode(bytes.subarray(0, end));
}

const u32le = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
/** A vAccel `Arg{1 argtype, 2 size, 3 buf}`. */
const arg = (buf: Uint8Array) => message(varintField(1, 0), varintField(2, buf.byteLength), bytesField(3, buf));

async function createV3Session(c: RawTtrpc): Promise<bigint> {
  const id = varintOf(ok(await c.call(V3, 'CreateSession', message(varintField(1, 0)))), 1);
  assert.ok(id > 0n);
  return id;
}

async function registerBlob(c: RawTtrpc, session: bigint, bytes: Uint8Array): Promise<RawAnswer> {
  const blob = message(
    varintField(1, BUFFER),
    bytesField(2, 'colour.onnx'),
    bytesField(3, bytes),
    varintField(4, bytes.byteLength),
  );
  return c.call(V3, 'RegisterResource', message(bytesField(2, blob), varintField(3, MODEL), varintField(5, session)));
}

async function colourAgent(t: TestContext, sockets: readonly string[], options: { classifier?: boolean } = {}) {
  const dir = await tempDir(t);
  const modelDir = join(dir, 'models');
  await writeColourClassifier(modelDir, 'colour');
  const agent = await startAgent(t, {
    listen: sockets.map((s) => `unix://${join(dir, s)}`),
    modelDir,
    ...(options.classifier === false ? {} : { vaccelClassifier: 'colour' }),
  });
  return { agent, modelDir, path: (s: string) => join(dir, s) };
}

describe('vAccel compatibility', () => {
  it('v1: CreateSession, ImageClassification (top-1 tag, NUL-padded), DestroySession', async (t) => {
    const { path } = await colourAgent(t, ['a.sock']);
    const c = await connectRaw(t, path('a.sock'));
    const session = varintOf(ok(await c.call(V1, 'CreateSession', message(varintField(1, 0)))), 1);
    assert.ok(session > 0n);

    const image = await solidImage([200, 30, 40]);
    const answer = ok(await c.call(V1, 'ImageClassification', message(varintField(1, session), bytesField(2, image))));
    const tags = bytesOf(answer, 1);
    assert.equal(tags.byteLength, 1024);
    assert.match(cString(tags), /^\d{1,3}\.\d{3}% red$/);

    const green = ok(
      await c.call(
        V1,
        'ImageClassification',
        message(varintField(1, session), bytesField(2, await solidImage([0, 220, 0]))),
      ),
    );
    assert.match(cString(bytesOf(green, 1)), /% green$/);

    ok(await c.call(V1, 'DestroySession', message(varintField(1, session))));
    const gone = await c.call(V1, 'ImageClassification', message(varintField(1, session), bytesField(2, image)));
    assert.equal(failure(gone).code, Code.NOT_FOUND);
  });

  it('v3: session, RegisterResource(blob), Genop noop and classify, ImageClassification, Torch run, teardown', async (t) => {
    const { path } = await colourAgent(t, ['a.sock']);
    const c = await connectRaw(t, path('a.sock'));
    const session = await createV3Session(c);
    ok(await c.call(V3, 'UpdateSession', message(varintField(1, session), varintField(2, 0))));

    const resource = varintOf(ok(await registerBlob(c, session, colourModel())), 1);
    assert.ok(resource > 0n);

    // Genop noop: the op type alone; the write arguments come back as sent.
    const noop = ok(await c.call(V3, 'Genop', message(varintField(1, session), bytesField(2, arg(u32le(OP.NOOP))))));
    assert.deepEqual(allBytesOf(noop, 1), []);

    // Genop image classification: read [op, image], write [out_text, out_imgname] of the guest's sizes.
    const image = await solidImage([10, 20, 230]);
    const genop = ok(
      await c.call(
        V3,
        'Genop',
        message(
          varintField(1, session),
          bytesField(2, arg(u32le(OP.IMAGE_CLASSIFY))),
          bytesField(2, arg(image)),
          bytesField(3, arg(new Uint8Array(512))),
          bytesField(3, arg(new Uint8Array(64))),
        ),
      ),
    );
    const [outText, outName] = allBytesOf(genop, 1).map(readMessage);
    assert.ok(outText && outName);
    assert.equal(varintOf(outText, 2), 512n);
    assert.equal(bytesOf(outText, 3).byteLength, 512);
    assert.match(cString(bytesOf(outText, 3)), /^\d{1,3}\.\d{3}% blue$/);
    assert.equal(bytesOf(outName, 3).byteLength, 64);

    const classified = ok(
      await c.call(V3, 'ImageClassification', message(varintField(1, session), bytesField(2, image))),
    );
    const tags = bytesOf(classified, 1);
    assert.equal(tags.byteLength, 1024);
    assert.match(cString(tags), /% blue$/);

    // A Torch-style tensor call on the ONNX resource: per-channel means of a [1, 3, 32, 32] float tensor.
    const pixels = new Float32Array(3 * 32 * 32);
    for (const [ch, v] of [0.25, 0.5, 0.75].entries()) pixels.fill(v, ch * 1024, (ch + 1) * 1024);
    const tensor = message(
      bytesField(1, new Uint8Array(pixels.buffer)),
      ...[1, 3, 32, 32].map((d) => varintField(2, d)),
      varintField(3, 7 /* FLOAT */),
    );
    const torch = ok(
      await c.call(
        V3,
        'TorchJitloadForward',
        message(varintField(1, session), varintField(2, resource), bytesField(4, tensor), varintField(5, 1)),
      ),
    );
    const [out] = allBytesOf(readMessage(bytesOf(torch, 2)), 1).map(readMessage);
    assert.ok(out);
    assert.deepEqual(varintsOf(out, 2), [1n, 3n]);
    assert.equal(varintOf(out, 3), 7n);
    const data = bytesOf(out, 1);
    assert.deepEqual([...new Float32Array(data.slice().buffer)], [0.25, 0.5, 0.75]);

    ok(await c.call(V3, 'UnregisterResource', message(varintField(1, resource), varintField(2, session))));
    const again = await c.call(V3, 'UnregisterResource', message(varintField(1, resource), varintField(2, session)));
    assert.equal(failure(again).code, Code.NOT_FOUND);
    ok(await c.call(V3, 'DestroySession', message(varintField(1, session))));
  });

  it('maps TensorFlow and TFLite tensor calls onto the ONNX resource; SyncResource, GetTimers, Genop detect', async (t) => {
    const { path } = await colourAgent(t, ['a.sock']);
    const c = await connectRaw(t, path('a.sock'));
    const session = await createV3Session(c);
    const resource = varintOf(ok(await registerBlob(c, session, colourModel())), 1);
    const pixels = new Float32Array(3 * 32 * 32);
    for (const [ch, v] of [0.5, 0.25, 1].entries()) pixels.fill(v, ch * 1024, (ch + 1) * 1024);
    const data = bytesField(1, new Uint8Array(pixels.buffer));
    const dims = [1, 3, 32, 32].map((d) => varintField(2, d));
    const means = (out: WireField[] | undefined) => {
      assert.ok(out);
      return [...new Float32Array(bytesOf(out, 1).slice().buffer)];
    };

    // TensorFlow: nodes by name (TFTensor type FLOAT = 1), load/unload around the run.
    const ids = message(varintField(1, session), varintField(2, resource));
    ok(await c.call(V3, 'TensorflowModelLoad', ids));
    const tf = ok(
      await c.call(
        V3,
        'TensorflowModelRun',
        message(
          varintField(1, session),
          varintField(2, resource),
          bytesField(4, message(bytesField(1, 'image'))),
          bytesField(5, message(bytesField(1, 'scores'))),
          bytesField(6, message(data, ...dims, varintField(3, 1))),
        ),
      ),
    );
    const [tfOut] = allBytesOf(tf, 1).map(readMessage);
    assert.deepEqual(means(tfOut), [0.5, 0.25, 1]);
    assert.equal(varintOf(tfOut as WireField[], 3), 1n);
    ok(await c.call(V3, 'TensorflowModelUnload', ids));

    // TFLite: by position (TFLite type FLOAT32 = 2).
    ok(await c.call(V3, 'TensorflowLiteModelLoad', ids));
    const lite = ok(
      await c.call(
        V3,
        'TensorflowLiteModelRun',
        message(
          varintField(1, session),
          varintField(2, resource),
          bytesField(3, message(data, ...dims, varintField(3, 2))),
          varintField(4, 1),
        ),
      ),
    );
    assert.deepEqual(means(allBytesOf(lite, 1).map(readMessage)[0]), [0.5, 0.25, 1]);
    ok(await c.call(V3, 'TensorflowLiteModelUnload', ids));

    // An element type Ferry cannot carry here (TFLite STRING = 6), and a second input the model lacks.
    const wrong = await c.call(
      V3,
      'TensorflowLiteModelRun',
      message(
        varintField(1, session),
        varintField(2, resource),
        bytesField(3, message(data, ...dims, varintField(3, 6))),
      ),
    );
    assert.equal(failure(wrong).code, Code.INVALID_ARGUMENT);
    assert.match(failure(wrong).message, /element type \(6\)/);
    const tensor = bytesField(3, message(data, ...dims, varintField(3, 2)));
    const extra = await c.call(
      V3,
      'TensorflowLiteModelRun',
      message(varintField(1, session), varintField(2, resource), tensor, tensor),
    );
    assert.match(failure(extra).message, /sent 2 inputs; the model has 1/);

    assert.deepEqual(allBytesOf(ok(await c.call(V3, 'SyncResource', message(varintField(1, resource)))), 1), []);
    assert.deepEqual(allBytesOf(ok(await c.call(V3, 'GetTimers', message(varintField(1, session)))), 1), []);

    // Genop image detection (PP-OCR's detector): one text box, as "score x,y x,y x,y x,y" lines.
    const detect = ok(
      await c.call(
        V3,
        'Genop',
        message(
          varintField(1, session),
          bytesField(2, arg(u32le(OP.IMAGE_DETECT))),
          bytesField(2, arg(await renderText(['FERRY 2048']))),
          bytesField(3, arg(new Uint8Array(256))),
        ),
      ),
    );
    const [boxes] = allBytesOf(detect, 1).map(readMessage);
    assert.ok(boxes);
    const lines = cString(bytesOf(boxes, 3)).trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0] as string, /^0\.\d{3}( \d+,\d+){4}$/);
  });

  it('answers NOT_FOUND for unknown sessions and resources, v1 and v3', async (t) => {
    const { path } = await colourAgent(t, ['a.sock']);
    const c = await connectRaw(t, path('a.sock'));
    const image = await solidImage([200, 30, 40]);
    for (const [service, id] of [
      [V1, 7],
      [V3, 7],
      [V3, -1],
      [V3, 2n ** 40n],
    ] as const) {
      const answer = await c.call(service, 'ImageClassification', message(varintField(1, id), bytesField(2, image)));
      assert.equal(failure(answer).code, Code.NOT_FOUND, `${service} session ${id}`);
    }
    assert.equal(failure(await c.call(V1, 'DestroySession', message(varintField(1, 9)))).code, Code.NOT_FOUND);
    const session = await createV3Session(c);
    const unregister = await c.call(V3, 'UnregisterResource', message(varintField(1, 5), varintField(2, session)));
    assert.equal(failure(unregister).code, Code.NOT_FOUND);
    const genop = await c.call(V3, 'Genop', message(varintField(1, 99), bytesField(2, arg(u32le(OP.NOOP)))));
    assert.equal(failure(genop).code, Code.NOT_FOUND);
  });

  it("answers unsupported RPCs and ops in vAccel's error shape and keeps the connection usable", async (t) => {
    const { path } = await colourAgent(t, ['a.sock']);
    const c = await connectRaw(t, path('a.sock'));
    const session = await createV3Session(c);

    // An op Ferry lacks: INTERNAL with a vaccel.Error{FFI, VACCEL_ENOTSUP}, as a vAccel agent without the plugin.
    const exec = failure(
      await c.call(V3, 'Genop', message(varintField(1, session), bytesField(2, arg(u32le(OP.EXEC))))),
    );
    assert.deepEqual([exec.code, exec.ffiError], [INTERNAL, ENOTSUP]);
    assert.match(exec.message, /exec/);

    // A LIB resource (a shared object to run): unsupported the same way.
    const lib = failure(
      await c.call(
        V3,
        'RegisterResource',
        message(bytesField(1, 'libfoo.so'), varintField(3, 0), varintField(5, session)),
      ),
    );
    assert.deepEqual([lib.code, lib.ffiError], [INTERNAL, ENOTSUP]);

    // An RPC the service does not have at all.
    const unknown = failure(await c.call(V3, 'GenopStream', message()));
    assert.equal(unknown.code, Code.UNIMPLEMENTED);

    // A request that is not the message it claims: INVALID_ARGUMENT, nothing else lost.
    const garbage = await c.call(V3, 'CreateSession', Uint8Array.from([0x0a, 0xff]));
    assert.ok(garbage.status && garbage.status.code !== 0);

    assert.equal(c.closed, false);
    assert.ok((await createV3Session(c)) > session);
    assert.equal(failure(await c.call(V1, 'Nonexistent', message())).code, Code.UNIMPLEMENTED);
    ok(await c.call(V3, 'Genop', message(varintField(1, session), bytesField(2, arg(u32le(OP.NOOP))))));
  });

  it("keeps ids tenant-scoped: another sandbox's sessions and resources are NOT_FOUND; model bytes are shared", async (t) => {
    const { agent, path } = await colourAgent(t, ['a.sock', 'b.sock']);
    const a = await connectRaw(t, path('a.sock'));
    const b = await connectRaw(t, path('b.sock'));
    await createV3Session(a);
    const aSession = await createV3Session(a);
    const aResource = varintOf(ok(await registerBlob(a, aSession, colourModel())), 1);
    const loads = agent.stats().models.loads;

    const image = await solidImage([200, 30, 40]);
    const classify = await b.call(V3, 'ImageClassification', message(varintField(1, aSession), bytesField(2, image)));
    assert.equal(failure(classify).code, Code.NOT_FOUND);
    const v1 = await b.call(V1, 'ImageClassification', message(varintField(1, aSession), bytesField(2, image)));
    assert.equal(failure(v1).code, Code.NOT_FOUND);
    const genop = await b.call(V3, 'Genop', message(varintField(1, aSession), bytesField(2, arg(u32le(OP.NOOP)))));
    assert.equal(failure(genop).code, Code.NOT_FOUND);

    const bSession = await createV3Session(b);
    const steal = await b.call(V3, 'UnregisterResource', message(varintField(1, aResource), varintField(2, bSession)));
    assert.equal(failure(steal).code, Code.NOT_FOUND);
    const reuse = await b.call(
      V3,
      'RegisterResource',
      message(varintField(3, MODEL), varintField(4, aResource), varintField(5, bSession)),
    );
    assert.equal(failure(reuse).code, Code.NOT_FOUND);

    // The same bytes from the other tenant: its own resource id, one loaded model.
    ok(await registerBlob(b, bSession, colourModel()));
    assert.equal(agent.stats().models.loads, loads);
    // A's resource is untouched.
    ok(await a.call(V3, 'UnregisterResource', message(varintField(1, aResource), varintField(2, aSession))));
  });

  it('accepts resource paths only inside the model directory (PERMISSION_DENIED in vAccel shape otherwise)', async (t) => {
    const { modelDir, path } = await colourAgent(t, ['a.sock']);
    const c = await connectRaw(t, path('a.sock'));
    const session = await createV3Session(c);
    const register = (p: string) =>
      c.call(V3, 'RegisterResource', message(bytesField(1, p), varintField(3, MODEL), varintField(5, session)));
    for (const outside of ['/etc/passwd', '../models/colour/model.onnx', `${modelDir}/../x.onnx`]) {
      const denied = failure(await register(outside));
      assert.deepEqual([denied.code, denied.ffiError], [Code.PERMISSION_DENIED, EPERM], outside);
    }
    assert.ok(varintOf(ok(await register(join(modelDir, 'colour', 'model.onnx'))), 1) > 0n);
    assert.ok(varintOf(ok(await register('colour')), 1) > 0n);
    assert.equal(failure(await register('missing')).code, Code.NOT_FOUND);
  });

  it('holds what a guest controls to the limits: write-argument bytes, argument counts, blob sizes', async (t) => {
    const { path } = await colourAgent(t, ['a.sock']);
    const c = await connectRaw(t, path('a.sock'));
    const session = await createV3Session(c);
    const huge = message(varintField(1, 0), varintField(2, 0xffff_ffff));
    const big = failure(
      await c.call(
        V3,
        'Genop',
        message(varintField(1, session), bytesField(2, arg(u32le(OP.NOOP))), bytesField(3, huge)),
      ),
    );
    assert.equal(big.code, Code.RESOURCE_EXHAUSTED);
    const many = Array.from({ length: 65 }, () => bytesField(2, arg(u32le(OP.NOOP))));
    const tooMany = failure(await c.call(V3, 'Genop', message(varintField(1, session), ...many)));
    assert.equal(tooMany.code, Code.RESOURCE_EXHAUSTED);
    const lying = message(
      varintField(1, BUFFER),
      bytesField(2, 'm.onnx'),
      bytesField(3, colourModel()),
      varintField(4, 3),
    );
    const mismatch = failure(
      await c.call(
        V3,
        'RegisterResource',
        message(bytesField(2, lying), varintField(3, MODEL), varintField(5, session)),
      ),
    );
    assert.equal(mismatch.code, Code.INVALID_ARGUMENT);
    assert.equal(c.closed, false);
  });

  it('without --vaccel-classifier, ImageClassification fails with a message naming the flag', async (t) => {
    const { path } = await colourAgent(t, ['a.sock'], { classifier: false });
    const c = await connectRaw(t, path('a.sock'));
    const session = varintOf(ok(await c.call(V1, 'CreateSession', message())), 1);
    const image = await solidImage([200, 30, 40]);
    const answer = failure(
      await c.call(V1, 'ImageClassification', message(varintField(1, session), bytesField(2, image))),
    );
    assert.deepEqual([answer.code, answer.ffiError], [FAILED_PRECONDITION, ENOTSUP]);
    assert.match(answer.message, /--vaccel-classifier/);
  });
});
