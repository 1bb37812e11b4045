import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '@ferry/agent';
import { createClient } from '@ferry/client';
import { tensor } from '@ferry/core';
import { buildModel } from '@ferry/onnx';
import type { Io } from '../io.js';
import { describeTensor } from '../tensor-format.js';
import { createBackends } from '../wiring.js';

/** y = relu(x · W + b): a model built in code, so the demo needs no download. */
function demoModel(): Uint8Array {
  return buildModel({
    name: 'ferry-demo',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    initializers: {
      W: tensor('float32', [3, 2], new Float32Array([1, -1, 0.5, 2, -0.25, 1])),
      b: tensor('float32', [2], new Float32Array([0.1, -0.2])),
    },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['z'] },
      { op: 'Relu', inputs: ['z'], outputs: ['y'] },
    ],
  });
}

/** The offline demo: an agent on a unix socket in a temp dir, a client doing a noop and an inference. */
export async function runDemo(io: Io): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-demo-'));
  const address = `unix://${join(dir, 'agent.sock')}`;
  const agent = await createAgent({ backends: createBackends(), listen: [{ address, tenant: 'demo' }] });
  const client = createClient({ address });
  try {
    io.out(`agent listening on ${address}`);
    const info = await client.serverInfo();
    io.out(`connected: agent ${info.version}, tenant "${info.tenant}", backends ${info.backends.join(', ')}`);
    const payload = new TextEncoder().encode('hello from the guest');
    const t0 = performance.now();
    const echoed = await client.noop(payload);
    io.out(`noop: echoed ${echoed.byteLength} bytes in ${(performance.now() - t0).toFixed(2)} ms`);
    const session = await client.createSession();
    const model = await client.registerModel(session, { bytes: demoModel() });
    io.out(`model registered: id ${model.modelId}, sha256 ${model.sha256.slice(0, 16)}…`);
    const x = tensor('float32', [2, 3], new Float32Array([1, 2, 3, -1, 0, 4]));
    const t1 = performance.now();
    const { y } = await client.infer(model.modelId, { x });
    io.out(`infer: ${(performance.now() - t1).toFixed(2)} ms`);
    if (y) io.out(describeTensor('y', y));
    await client.destroySession(session);
    return 0;
  } finally {
    await client.close();
    await agent.close();
    await rm(dir, { recursive: true, force: true });
  }
}
