import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DType, type Tensor, tensorValues } from '@ferry/core';
import { buildModel } from '@ferry/onnx';
import { connectClient } from './wiring.js';

const dtypes: readonly DType[] = ['float32', 'int64', 'bool', 'string', 'uint8', 'int32', 'float64', 'int8', 'float16'];
const ops = ['Identity', 'Neg', 'Abs'] as const;
const signed: readonly DType[] = ['float32', 'int64', 'int32', 'float64', 'int8'];

/** Distinct inputs per model and data set: element k of model i, set s is (i + s + k) mod 50 (bool: its parity). */
function input(dtype: DType, shape: readonly number[], seed: number): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'string') return { dtype, shape, data: Array.from({ length: count }, (_, k) => `m${seed}-${k}`) };
  const values = Array.from({ length: count }, (_, k) => (seed + k) % 50);
  switch (dtype) {
    case 'float32':
      return { dtype, shape, data: new Uint8Array(new Float32Array(values).buffer) };
    case 'float64':
      return { dtype, shape, data: new Uint8Array(new Float64Array(values).buffer) };
    case 'int64':
      return { dtype, shape, data: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer) };
    case 'int32':
      return { dtype, shape, data: new Uint8Array(new Int32Array(values).buffer) };
    case 'int8':
      return { dtype, shape, data: new Uint8Array(new Int8Array(values).buffer) };
    case 'float16':
      // 0x3c00 is 1.0 and 0x4000 is 2.0: Identity keeps the bits.
      return {
        dtype,
        shape,
        data: new Uint8Array(new Uint16Array(values.map((v) => (v % 2 ? 0x3c00 : 0x4000))).buffer),
      };
    case 'bool':
      return { dtype, shape, data: Uint8Array.from(values, (v) => v % 2) };
    default:
      return { dtype: 'uint8', shape, data: Uint8Array.from(values) };
  }
}

describe('connectClient("local:")', () => {
  // Regression: the in-process agent moved (transferred) tensor buffers it did not own to its ONNX Runtime
  // worker, among them the zero-length default that protobuf-es shares across the whole process. That
  // detached the buffer for the guest in the same process too, and a long run of distinct models failed
  // (and, with the ONNX backend tests, crashed the process).
  it('registers, runs and unregisters 300 distinct models in one process, each answered by content', async () => {
    const handle = connectClient('local:', { workers: 1, intraOpThreads: 1 });
    try {
      const { client } = handle;
      const session = await client.createSession();
      for (let i = 0; i < 300; i++) {
        const dtype = dtypes[i % dtypes.length] as DType;
        const op = signed.includes(dtype) ? (ops[Math.floor(i / dtypes.length) % ops.length] as string) : 'Identity';
        const shape = i % 4 === 1 ? [0, 3] : i % 4 === 2 ? [] : [1 + (i % 3), 2 + (i % 5)];
        const bytes = buildModel({
          name: `m${i}`,
          inputs: [{ name: 'x', dtype, shape }],
          outputs: [{ name: 'y', dtype, shape }],
          nodes: [{ op, inputs: ['x'], outputs: ['y'] }],
        });
        const model = await client.registerModel(session, { bytes });
        assert.equal(model.reused, false, `model ${i} is new bytes`);
        for (let set = 0; set < 2; set++) {
          const x = input(dtype, shape, i * 7 + set);
          const { y } = await client.infer(model.modelId, { x });
          assert.ok(y, `model ${i} answered y`);
          assert.equal(y.dtype, x.dtype);
          assert.deepEqual(y.shape, x.shape);
          if (x.dtype === 'string' || y.dtype === 'string') {
            assert.deepEqual(y.data, x.data, `model ${i}`);
          } else if (op === 'Identity') {
            assert.deepEqual(y.data, x.data, `model ${i} (${op} ${dtype})`);
          } else {
            // `+ 0` turns -0 into 0: a float Neg of 0 is -0, an integer one 0.
            const want = [...tensorValues(x)].map((v) => (op === 'Neg' ? -Number(v) : Number(v)) + 0);
            const got = [...tensorValues(y)].map((v) => Number(v) + 0);
            assert.deepEqual(got, want, `model ${i} (${op} ${dtype})`);
          }
        }
        await client.unregisterModel(model.modelId);
      }
    } finally {
      await handle.close();
    }
  });
});
