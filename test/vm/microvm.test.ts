// A real Linux guest: QEMU boots Debian's cloud kernel with an initramfs of busybox, socat, this node and the
// guest packages, once; inside it the @ferry/vsock connector passes the connector contract and the SDK runs
// noop, infer and OCR through the host agent, then `ferry-serve` answers the host's OIP v2 and /classify
// requests through a QEMU host forward. See docs/vm-tests.md.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tensor } from '@ferry/core';
import {
  buildInitramfs,
  bundleGuest,
  defaultVmCacheDir,
  fetchKernel,
  GUEST_RELAY_HOST,
  type GuestKernel,
  startVm,
} from '@ferry/microvm';
import { buildModel } from '@ferry/onnx';
import { hybridVsockPath } from '@ferry/transport';
import { startAgent, tempDir } from '../support/fixtures.js';
import { renderText, solidImage } from '../support/images.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const AGENT_PORT = 2048;
const SERVE_PORT = 8080;
const OCR_LINES = ['FERRY 2048', 'vsock guest 42'];
/** Boot, the guest suite and the serve checks together; under software emulation on a busy 2-core machine. */
const TOTAL_TIMEOUT_MS = 15 * 60_000;

const cacheDir = defaultVmCacheDir(process.env, homedir());
const required = process.env.FERRY_VM_TESTS === 'require';
const kernel: GuestKernel | undefined = await fetchKernel({ cacheDir, offline: true }).catch((error: Error) => {
  if (required) throw error;
  return undefined;
});
const skip =
  process.env.FERRY_VM_TESTS === 'skip'
    ? 'FERRY_VM_TESTS=skip'
    : kernel
      ? false
      : `no guest kernel in ${cacheDir}: npm run vm:kernel (docs/vm-tests.md)`;

/** y = 2x + 1, float32 [n, 2]: an OIP v2 model whose answer is computed here. */
function affineModel(): Uint8Array {
  return buildModel({
    name: 'affine',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['n', 2] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['n', 2] }],
    initializers: {
      a: tensor('float32', [1], new Float32Array([2])),
      b: tensor('float32', [1], new Float32Array([1])),
    },
    nodes: [
      { op: 'Mul', inputs: ['x', 'a'], outputs: ['ax'] },
      { op: 'Add', inputs: ['ax', 'b'], outputs: ['y'] },
    ],
  });
}

/** The mean of each colour channel: "which colour dominates", labels red/green/blue. */
function colourModel(): Uint8Array {
  return buildModel({
    name: 'colour',
    inputs: [{ name: 'image', dtype: 'float32', shape: [1, 3, 32, 32] }],
    outputs: [{ name: 'scores', dtype: 'float32', shape: [1, 3] }],
    nodes: [{ op: 'ReduceMean', inputs: ['image'], outputs: ['scores'], attributes: { axes: [2, 3], keepdims: 0 } }],
  });
}

async function writeModels(dir: string): Promise<void> {
  await mkdir(join(dir, 'affine'), { recursive: true });
  await writeFile(join(dir, 'affine', 'model.onnx'), affineModel());
  await mkdir(join(dir, 'colour'));
  await writeFile(join(dir, 'colour', 'model.onnx'), colourModel());
  await writeFile(join(dir, 'colour', 'labels.txt'), 'red\ngreen\nblue\n');
  await writeFile(
    join(dir, 'colour', 'ferry.json'),
    JSON.stringify({
      task: 'classify',
      labels: 'labels.txt',
      preprocess: { resize: 'stretch', width: 32, height: 32, mean: [0, 0, 0], std: [1, 1, 1], scale: 1 / 255 },
      postprocess: { softmax: true, topK: 3 },
    }),
  );
}

describe('a real guest kernel (QEMU microVM)', { skip, timeout: TOTAL_TIMEOUT_MS }, () => {
  it('runs the vsock connector contract, the SDK (noop, bit-exact infer, OCR) and ferry-serve inside the guest', async (t) => {
    assert.ok(kernel);
    const dir = await tempDir(t, 'fv-');
    // The Kata shape: <dir>/<64-hex sandbox id>/root/kata.hvsock_2048, where Firecracker delivers a guest's vsock
    // connection to host CID 2, port 2048. The agent names the tenant after the sandbox id.
    const sandbox = randomBytes(32).toString('hex');
    await mkdir(join(dir, sandbox, 'root'), { recursive: true });
    const socket = hybridVsockPath(join(dir, sandbox, 'root', 'kata.hvsock'), AGENT_PORT);
    await writeModels(join(dir, 'models'));
    const agent = await startAgent(t, { listen: [`unix://${socket}`], modelDir: join(dir, 'models') });
    assert.equal(agent.listeners[0]?.tenant, sandbox);

    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'ocr.png'), await renderText(OCR_LINES));
    const files = await bundleGuest({
      entries: {
        main: join(root, 'test/vm/guest/main.ts'),
        suite: join(root, 'test/vm/guest/suite.ts'),
        serve: join(root, 'packages/serve/src/bin.ts'),
      },
      outDir: app,
      addons: [join(root, 'packages/vsock/build/Release/ferry_vsock.node')],
      conditions: ['source'],
    });
    const initramfs = join(dir, 'initramfs.cpio');
    await buildInitramfs({
      kernel,
      out: initramfs,
      app: [...files, { path: 'ocr.png', source: join(app, 'ocr.png') }],
    });

    const vm = await startVm({
      kernel,
      initramfs,
      relay: { port: AGENT_PORT, unixPath: socket },
      startGuestRelay: false, // the guest suite starts it, after checking that a call fails while it is down
      hostForwards: [SERVE_PORT],
      env: {
        FERRY_VM_AGENT_PORT: String(AGENT_PORT),
        FERRY_VM_RELAY_HOST: GUEST_RELAY_HOST,
        FERRY_VM_TENANT: sandbox,
        FERRY_VM_OCR_LINES: JSON.stringify(OCR_LINES),
      },
      args: [
        '--address',
        `vsock://1:${AGENT_PORT}`,
        '--port',
        String(SERVE_PORT),
        '--model',
        'affine',
        '--model',
        'colour',
      ],
      ...(process.env.FERRY_VM_CONSOLE ? { onConsole: (line: string) => process.stderr.write(`vm| ${line}\n`) } : {}),
    });
    t.after(() => vm.close());

    const timeoutMs = TOTAL_TIMEOUT_MS - 60_000;
    const [, outcome] = await vm.waitFor(/^@@ferry-vm suite (.*)$/, { timeoutMs });
    const failures = vm.console.filter((l) => /^\s*not ok /.test(l));
    assert.equal(
      outcome,
      'passed',
      `the guest suite failed:\n${failures.join('\n')}\n\n${vm.console.slice(-80).join('\n')}`,
    );
    // node:test's summary (TAP, '#' escaped once nested): 5 SDK tests and the 13 of the connector contract.
    const count = (what: string) =>
      Number(
        vm.console
          .findLast((l) => new RegExp(`^\\\\?# ${what} \\d+$`).test(l))
          ?.split(' ')
          .pop(),
      );
    assert.deepEqual({ pass: count('pass'), fail: count('fail') }, { pass: 18, fail: 0 }, vm.console.join('\n'));

    const [, ready] = await vm.waitFor(/^@@ferry-vm serve-ready (.*)$/, { timeoutMs: 120_000 });
    assert.equal(JSON.parse(ready as string).agent, `vsock://1:${AGENT_PORT}`);
    const url = `http://127.0.0.1:${vm.ports.get(SERVE_PORT)}`;

    const infer = await fetch(`${url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'vm-1',
        inputs: [{ name: 'x', shape: [3, 2], datatype: 'FP32', data: [0, 1, -2, 0.5, 3.25, -7] }],
      }),
    });
    const body = (await infer.json()) as {
      id?: string;
      model_name?: string;
      outputs?: { name: string; shape: number[]; datatype: string; data: number[] }[];
    };
    assert.equal(infer.status, 200, JSON.stringify(body));
    assert.equal(body.id, 'vm-1');
    assert.equal(body.model_name, 'affine');
    assert.deepEqual(body.outputs, [{ name: 'y', shape: [3, 2], datatype: 'FP32', data: [1, 3, -3, 2, 7.5, -13] }]);

    for (const [rgb, label] of [
      [[220, 20, 30], 'red'],
      [[10, 200, 40], 'green'],
      [[20, 30, 210], 'blue'],
    ] as const) {
      const classify = await fetch(`${url}/classify?model=colour&topK=1`, {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: await solidImage(rgb),
      });
      const answer = (await classify.json()) as { results?: { label: string; score: number }[] };
      assert.equal(classify.status, 200, JSON.stringify(answer));
      assert.equal(answer.results?.length, 1);
      assert.equal(answer.results?.[0]?.label, label);
    }
    // Every call above reached the agent as this sandbox's tenant, and no other.
    const stats = agent.stats();
    assert.deepEqual(
      stats.tenants.map((s) => s.name),
      [sandbox],
    );
    t.diagnostic(`accelerator: ${vm.accel}`);
  });
});
