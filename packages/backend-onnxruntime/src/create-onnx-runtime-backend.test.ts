import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type Backend, stringTensor, type Tensor, tensor, tensorValues } from '@ferry/core';
import { assertTensorsEqual, describeBackendContract } from '@ferry/core/testing';
import { buildModel, OnnxDataType } from '@ferry/onnx';
import { createOnnxRuntimeBackend, type OnnxRuntimeBackendOptions } from './create-onnx-runtime-backend.js';
import { crashOnnxRuntimeWorker, onnxRuntimeWorkerStats } from './testing/crash-onnx-runtime-worker.js';

const f32 = Math.fround;

// Several ops over several dtypes; values are dyadic so every result is exact whatever the summation order.
const mixedModel = buildModel({
  name: 'mixed',
  inputs: [
    { name: 'a', dtype: 'float32', shape: [2, 2] },
    { name: 'b', dtype: 'float32', shape: [2, 2] },
    { name: 'i', dtype: 'int64', shape: ['n'] },
    { name: 'p', dtype: 'bool', shape: [4] },
    { name: 'q', dtype: 'bool', shape: [4] },
    { name: 's', dtype: 'string', shape: [null] },
    { name: 'h', dtype: 'float16', shape: [3] },
    { name: 'u', dtype: 'uint8', shape: [4] },
    { name: 'big', dtype: 'uint64', shape: [2] },
    { name: 'd', dtype: 'float64', shape: [2] },
  ],
  outputs: [
    { name: 'sum', dtype: 'float32', shape: [2, 2] },
    { name: 'prod', dtype: 'float32', shape: [2, 2] },
    { name: 'mm', dtype: 'float32', shape: [2, 2] },
    { name: 'isum', dtype: 'int64', shape: ['n'] },
    { name: 'and', dtype: 'bool', shape: [4] },
    { name: 'notp', dtype: 'bool', shape: [4] },
    { name: 'ai', dtype: 'int32', shape: [2, 2] },
    { name: 'sid', dtype: 'string', shape: [null] },
    { name: 'hid', dtype: 'float16', shape: [3] },
    { name: 'uid', dtype: 'uint8', shape: [4] },
    { name: 'bigid', dtype: 'uint64', shape: [2] },
    { name: 'dd', dtype: 'float64', shape: [2] },
  ],
  initializers: { seven: tensor('int64', [1], [7]) },
  nodes: [
    { op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
    { op: 'Mul', inputs: ['a', 'b'], outputs: ['prod'] },
    { op: 'MatMul', inputs: ['a', 'b'], outputs: ['mm'] },
    { op: 'Add', inputs: ['i', 'seven'], outputs: ['isum'] },
    { op: 'And', inputs: ['p', 'q'], outputs: ['and'] },
    { op: 'Not', inputs: ['p'], outputs: ['notp'] },
    { op: 'Cast', inputs: ['a'], outputs: ['ai'], attributes: { to: OnnxDataType.INT32 } },
    { op: 'Identity', inputs: ['s'], outputs: ['sid'] },
    { op: 'Identity', inputs: ['h'], outputs: ['hid'] },
    { op: 'Identity', inputs: ['u'], outputs: ['uid'] },
    { op: 'Identity', inputs: ['big'], outputs: ['bigid'] },
    { op: 'Add', inputs: ['d', 'd'], outputs: ['dd'] },
  ],
});

const A = [1.5, -2, 0.25, 4];
const B = [0.5, 3, -1.25, 8];
const I = [1n, -9n, 2n ** 62n];
const P = [1, 1, 0, 0];
const Q = [1, 0, 1, 0];
const D = [0.1, -1e300];
const mixedInputs = {
  a: tensor('float32', [2, 2], A),
  b: tensor('float32', [2, 2], B),
  i: tensor('int64', [3], new BigInt64Array(I)),
  p: tensor('bool', [4], P),
  q: tensor('bool', [4], Q),
  s: stringTensor([3], ['', 'héllo', '✓ ferry']),
  // float16 bit patterns: 1.0, -2.0, +infinity.
  h: tensor('float16', [3], new Uint16Array([0x3c00, 0xc000, 0x7c00])),
  u: tensor('uint8', [4], [0, 1, 128, 255]),
  big: tensor('uint64', [2], new BigUint64Array([2n ** 64n - 1n, 0n])),
  d: tensor('float64', [2], D),
};
const matmul = (x: number[], y: number[]) =>
  [0, 1].flatMap((r) =>
    [0, 1].map((c) =>
      f32(f32((x[r * 2] as number) * (y[c] as number)) + f32((x[r * 2 + 1] as number) * (y[2 + c] as number))),
    ),
  );
const mixedExpected = {
  sum: tensor(
    'float32',
    [2, 2],
    A.map((x, k) => f32(x + (B[k] as number))),
  ),
  prod: tensor(
    'float32',
    [2, 2],
    A.map((x, k) => f32(x * (B[k] as number))),
  ),
  mm: tensor('float32', [2, 2], matmul(A, B)),
  isum: tensor('int64', [3], new BigInt64Array(I.map((x) => x + 7n))),
  and: tensor(
    'bool',
    [4],
    P.map((x, k) => x & (Q[k] as number)),
  ),
  notp: tensor(
    'bool',
    [4],
    P.map((x) => 1 - x),
  ),
  ai: tensor('int32', [2, 2], A.map(Math.trunc)),
  sid: mixedInputs.s,
  hid: mixedInputs.h,
  uid: mixedInputs.u,
  bigid: mixedInputs.big,
  dd: tensor(
    'float64',
    [2],
    D.map((x) => x + x),
  ),
};

const batchModel = buildModel({
  inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 3] }],
  initializers: { k: tensor('float32', [3], [2, -1, 0.5]) },
  nodes: [{ op: 'Mul', inputs: ['x', 'k'], outputs: ['y'] }],
});
const batchOf = (rows: number) => {
  const x = Array.from({ length: rows * 3 }, (_, k) => k - 2);
  const k = [2, -1, 0.5];
  return {
    x: tensor('float32', [rows, 3], x),
    y: tensor(
      'float32',
      [rows, 3],
      x.map((v, j) => v * (k[j % 3] as number)),
    ),
  };
};

const emptyModel = buildModel({
  inputs: [{ name: 'x', dtype: 'int32', shape: ['n'] }],
  outputs: [{ name: 'y', dtype: 'int32', shape: ['n'] }],
  nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
});

const options: OnnxRuntimeBackendOptions = { intraOpNumThreads: 1 };

describeBackendContract('createOnnxRuntimeBackend()', {
  declaresSignature: true,
  create: () => createOnnxRuntimeBackend(options),
  fixtures: [
    { name: 'a model of several ops and dtypes', model: mixedModel, inputs: mixedInputs, expected: mixedExpected },
    { name: 'a dynamic batch', model: batchModel, inputs: { x: batchOf(2).x }, expected: { y: batchOf(2).y } },
    {
      name: 'empty tensors',
      model: emptyModel,
      inputs: { x: tensor('int32', [0], []) },
      expected: { y: tensor('int32', [0], []) },
    },
  ],
});

// y1 = x·x, y(k+1) = y(k)·x: with every element of x = 2^-9 and n = 512, every product stays exactly 2^-9.
// Some 4 GFLOP: a run of about a tenth of a second, while the model itself is 1 KB.
const SIZE = 512;
const STEPS = 16;
const slowModel = buildModel({
  inputs: [{ name: 'x', dtype: 'float32', shape: [SIZE, SIZE] }],
  outputs: [{ name: `y${STEPS}`, dtype: 'float32', shape: [SIZE, SIZE] }],
  nodes: Array.from({ length: STEPS }, (_, k) => ({
    op: 'MatMul',
    inputs: [k === 0 ? 'x' : `y${k}`, 'x'],
    outputs: [`y${k + 1}`],
  })),
});
const slowInput = () => ({ x: tensor('float32', [SIZE, SIZE], new Float32Array(SIZE * SIZE).fill(2 ** -9)) });

function open(t: TestContext, extra: OnnxRuntimeBackendOptions = {}): Backend {
  const backend = createOnnxRuntimeBackend({ ...options, ...extra });
  t.after(() => backend.close());
  return backend;
}

/** Resolves after `count` turns of the event loop. */
function ticks(count: number): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    const tick = () => (++n >= count ? resolve(n) : setImmediate(tick));
    setImmediate(tick);
  });
}

describe('createOnnxRuntimeBackend()', () => {
  // Tests that neither crash nor close share one backend: each backend starts its own worker threads.
  let shared: Backend;
  before(() => {
    shared = createOnnxRuntimeBackend(options);
  });
  after(() => shared.close());

  it('reports the signature with fixed, symbolic and unknown dims', async () => {
    const model = await shared.load(mixedModel);
    assert.deepEqual(model.inputs.slice(0, 3), [
      { name: 'a', dtype: 'float32', shape: [2, 2] },
      { name: 'b', dtype: 'float32', shape: [2, 2] },
      { name: 'i', dtype: 'int64', shape: ['n'] },
    ]);
    assert.deepEqual(model.inputs[5], { name: 's', dtype: 'string', shape: [null] });
    assert.deepEqual(
      model.outputs.map((o) => o.name),
      Object.keys(mixedExpected),
    );
  });

  it('runs a dynamic batch dimension at several sizes', async () => {
    const model = await shared.load(batchModel);
    assert.deepEqual(model.inputs, [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }]);
    for (const rows of [1, 4]) {
      const { x, y } = batchOf(rows);
      assertTensorsEqual(await model.run({ x }), { y });
    }
  });

  it('keeps the event loop turning while a long run is in flight', async () => {
    const model = await shared.load(slowModel);
    let done = false;
    const running = model.run(slowInput()).finally(() => {
      done = true;
    });
    await ticks(10);
    assert.equal(done, false, 'the run finished before the event loop turned 10 times');
    const out = (await running)[`y${STEPS}`] as Tensor & { dtype: 'float32' };
    assert.ok((tensorValues(out) as Float32Array).every((v) => v === 2 ** -9));
  });

  it('rejects inputs that do not match the signature with INVALID_ARGUMENT naming it', async () => {
    const model = await shared.load(batchModel);
    const cases: Record<string, Tensor>[] = [
      { x: tensor('float64', [1, 3], [1, 2, 3]) },
      { x: tensor('float32', [1, 4], [1, 2, 3, 4]) },
      { x: tensor('float32', [3], [1, 2, 3]) },
      {},
      { x: batchOf(1).x, extra: batchOf(1).x },
      { x: { dtype: 'float32', shape: [1, 3], data: new Uint8Array(8) } },
    ];
    for (const inputs of cases) {
      await assert.rejects(model.run(inputs), (error: { code: number; message: string }) => {
        assert.equal(error.code, 3);
        assert.match(error.message, /x: float32\[batch, 3\]|needs 12/);
        return true;
      });
    }
  });

  it('rejects garbage model bytes with INVALID_ARGUMENT (INVALID_MODEL)', async () => {
    await assert.rejects(shared.load(new Uint8Array([1, 2, 3, 4, 5])), { code: 3, reason: 'INVALID_MODEL' });
  });

  it('reports a failing run as INTERNAL with the ONNX Runtime message', async () => {
    const model = await shared.load(
      buildModel({
        inputs: [
          { name: 'x', dtype: 'float32', shape: ['n'] },
          { name: 'y', dtype: 'float32', shape: ['m'] },
        ],
        outputs: [{ name: 'z', dtype: 'float32' }],
        nodes: [{ op: 'Add', inputs: ['x', 'y'], outputs: ['z'] }],
      }),
    );
    await assert.rejects(model.run({ x: tensor('float32', [2], [1, 2]), y: tensor('float32', [3], [1, 2, 3]) }), {
      code: 13,
      reason: 'RUN_FAILED',
      message: /ONNX Runtime run failed: .+/,
    });
  });

  it('rejects an unavailable execution provider with FAILED_PRECONDITION', async (t) => {
    await assert.rejects(open(t, { executionProviders: ['no-such-provider'] }).load(batchModel), {
      code: 9,
      reason: 'EXECUTION_PROVIDER_UNAVAILABLE',
    });
  });

  it('fails calls on a crashed worker with UNAVAILABLE (WORKER_CRASHED), then reloads on its replacement', async (t) => {
    const backend = open(t);
    const model = await backend.load(batchModel);
    const { x, y } = batchOf(2);
    for (const mode of ['throw', 'exit'] as const) {
      const gone = crashOnnxRuntimeWorker(backend, { mode });
      const doomed = model.run({ x }); // posted behind the crash
      await assert.rejects(doomed, { code: 14, reason: 'WORKER_CRASHED' });
      await gone;
      assert.equal(onnxRuntimeWorkerStats(backend)[0]?.started, false);
      assertTensorsEqual(await model.run({ x }), { y });
      assert.deepEqual(onnxRuntimeWorkerStats(backend)[0], { started: true, runsInFlight: 0, modelsLoaded: 1 });
    }
  });

  it('replaces a worker hung past the watchdog and fails its calls with UNAVAILABLE (WORKER_HUNG)', async (t) => {
    // Seconds of native work against a half-second watchdog; loading either model takes milliseconds.
    const BIG = 1024;
    const endless = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [BIG, BIG] }],
      outputs: [{ name: 'y40', dtype: 'float32', shape: [BIG, BIG] }],
      nodes: Array.from({ length: 40 }, (_, k) => ({
        op: 'MatMul',
        inputs: [k === 0 ? 'x' : `y${k}`, 'x'],
        outputs: [`y${k + 1}`],
      })),
    });
    const backend = open(t, { watchdogMs: 500, intraOpNumThreads: 1 });
    const stuck = await backend.load(endless);
    const quick = await backend.load(batchModel);
    const { x, y } = batchOf(2);
    const hung = stuck.run({ x: tensor('float32', [BIG, BIG], new Float32Array(BIG * BIG).fill(2 ** -10)) });
    const behind = quick.run({ x }); // queued on the same worker, behind the hung run
    await assert.rejects(hung, { code: 14, reason: 'WORKER_HUNG' });
    await assert.rejects(behind, { code: 14, reason: 'WORKER_HUNG' });
    // A fresh worker serves the next call at once, loading the model again.
    assertTensorsEqual(await quick.run({ x }), { y });
    assert.deepEqual(onnxRuntimeWorkerStats(backend)[0], { started: true, runsInFlight: 0, modelsLoaded: 1 });
    await backend.close(); // waits for the set-aside worker to finish its run and exit
  });

  it('dispatches to the worker with the fewest runs in flight, loading models there lazily', async (t) => {
    const backend = open(t, { workers: 2 });
    const model = await backend.load(batchModel);
    assert.deepEqual(
      onnxRuntimeWorkerStats(backend).map((s) => [s.started, s.modelsLoaded]),
      [
        [true, 1],
        [false, 0],
      ],
    );
    const { x, y } = batchOf(3);
    const runs = [model.run({ x }), model.run({ x }), model.run({ x })];
    assert.deepEqual(
      onnxRuntimeWorkerStats(backend).map((s) => [s.started, s.runsInFlight, s.modelsLoaded]),
      [
        [true, 2, 1],
        [true, 1, 1],
      ],
    );
    for (const out of await Promise.all(runs)) assertTensorsEqual(out, { y });
    await model.release();
    assert.deepEqual(
      onnxRuntimeWorkerStats(backend).map((s) => s.modelsLoaded),
      [0, 0],
    );
  });

  it('keeps serving on the other workers while one crashes', async (t) => {
    const backend = open(t, { workers: 2 });
    const model = await backend.load(batchModel);
    const { x, y } = batchOf(1);
    await Promise.all([model.run({ x }), model.run({ x })]);
    await crashOnnxRuntimeWorker(backend, { index: 1 });
    assertTensorsEqual(await model.run({ x }), { y });
    assert.deepEqual(
      onnxRuntimeWorkerStats(backend).map((s) => s.started),
      [true, false],
    );
  });

  it('rejects an in-flight run with CANCELLED when its signal aborts, and keeps working', async () => {
    const model = await shared.load(slowModel);
    const controller = new AbortController();
    const running = model.run(slowInput(), { signal: controller.signal });
    controller.abort();
    await assert.rejects(running, { code: 1 });
    const out = await model.run(slowInput());
    assert.ok((tensorValues(out[`y${STEPS}`] as Tensor & { dtype: 'float32' }) as Float32Array)[0] === 2 ** -9);
  });

  it('fails in-flight runs with UNAVAILABLE (BACKEND_CLOSED) on close', async () => {
    const backend = createOnnxRuntimeBackend(options);
    const model = await backend.load(slowModel);
    const running = assert.rejects(model.run(slowInput()), { code: 14, reason: 'BACKEND_CLOSED' });
    await backend.close();
    await running;
  });

  it('copies exactly the bytes of an input that is a Buffer view into a larger buffer', async () => {
    const { x, y } = batchOf(2);
    // A Buffer's slice() is a view: a copy made with it would carry the whole chunk to the worker.
    const chunk = Buffer.alloc(x.data.byteLength + 13, 0x7f);
    chunk.set(x.data, 8);
    const view = chunk.subarray(8, 8 + x.data.byteLength);
    const model = await shared.load(batchModel);
    assertTensorsEqual(await model.run({ x: { ...x, data: view } }), { y });
  });

  it('copies inputs by default and moves them with transferInputs', async (t) => {
    const { x, y } = batchOf(2);
    const copied = await shared.load(batchModel);
    const mine = tensor('float32', [2, 3], tensorValues(x) as Float32Array);
    assertTensorsEqual(await copied.run({ x: mine }), { y });
    assert.equal(mine.data.byteLength, 24);
    const moved = await open(t, { transferInputs: true }).load(batchModel);
    assertTensorsEqual(await moved.run({ x: mine }), { y });
    assert.equal(mine.data.byteLength, 0, 'the input buffer was transferred');
    // An empty view may be a process-wide shared value (protobuf-es's zero-length default): never moved.
    const empty = new Uint8Array(0);
    const out = await moved.run({ x: { dtype: 'float32', shape: [0, 3], data: empty } });
    assert.deepEqual(out.y?.shape, [0, 3]);
    // A view over a detached buffer cannot be made (Node 20 has no ArrayBuffer#detached).
    assert.equal(new Uint8Array(empty.buffer).byteLength, 0, 'an empty buffer stays with its owner');
  });

  it('runs its worker threads, and the threads ONNX Runtime starts from them, below the event loop', async (t) => {
    if (process.platform !== 'linux') return t.skip('per-thread nice values are a Linux feature');
    const niceOf = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    const base = niceOf(readFileSync('/proc/thread-self/stat', 'utf8'));
    const before = new Set(readdirSync('/proc/self/task'));
    const backend = open(t, { intraOpNumThreads: 2, threadNice: 7 });
    await (await backend.load(batchModel)).run({ x: batchOf(1).x });
    const started = readdirSync('/proc/self/task').filter((tid) => !before.has(tid));
    const nices = started.map((tid) => niceOf(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    // The worker thread and ONNX Runtime's intra-op thread run at +7; this thread (the event loop) is unchanged.
    assert.ok(
      nices.filter((n) => n === Math.min(19, base + 7)).length >= 2,
      `nice values ${nices} (event loop ${base})`,
    );
    assert.equal(niceOf(readFileSync('/proc/thread-self/stat', 'utf8')), base, 'the event loop keeps its priority');
  });

  it('throws RangeError and TypeError for bad options', () => {
    assert.throws(() => createOnnxRuntimeBackend({ threadNice: 20 }), RangeError);
    assert.throws(() => createOnnxRuntimeBackend({ threadNice: -1 }), RangeError);
    assert.throws(() => createOnnxRuntimeBackend({ workers: 0 }), RangeError);
    assert.throws(() => createOnnxRuntimeBackend({ intraOpNumThreads: 1.5 }), RangeError);
    assert.throws(() => createOnnxRuntimeBackend({ graphOptimizationLevel: 'max' as 'all' }), TypeError);
  });
});
