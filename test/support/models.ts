import { type Tensor, type TensorMap, tensor } from '@ferry/core';
import { buildModel, type NodeSpec } from '@ferry/onnx';

/**
 * A model with several ops over several dtypes, with known answers:
 *   f = relu(x · W + b)            float32 [batch, 3] → [batch, 2]
 *   n = i * 3 + 7                  int64   [batch]
 *   g = not(flag and mask)         bool    [batch]
 *   h = cast(x → float64) * 2      float64 [batch, 3]
 *   s = identity(label)            string  [batch]
 *   u = identity(px)               uint8   [batch, 4]
 */
export function mixedModel(): Uint8Array {
  return buildModel({
    name: 'mixed',
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['batch', 3] },
      { name: 'i', dtype: 'int64', shape: ['batch'] },
      { name: 'flag', dtype: 'bool', shape: ['batch'] },
      { name: 'label', dtype: 'string', shape: ['batch'] },
      { name: 'px', dtype: 'uint8', shape: ['batch', 4] },
    ],
    outputs: [
      { name: 'f', dtype: 'float32', shape: ['batch', 2] },
      { name: 'n', dtype: 'int64', shape: ['batch'] },
      { name: 'g', dtype: 'bool', shape: ['batch'] },
      { name: 'h', dtype: 'float64', shape: ['batch', 3] },
      { name: 's', dtype: 'string', shape: ['batch'] },
      { name: 'u', dtype: 'uint8', shape: ['batch', 4] },
    ],
    initializers: {
      W: tensor('float32', [3, 2], new Float32Array([1, -1, 0.5, 2, -0.25, 1])),
      b: tensor('float32', [2], new Float32Array([0.1, -0.2])),
      three: tensor('int64', [], new BigInt64Array([3n])),
      seven: tensor('int64', [], new BigInt64Array([7n])),
      mask: tensor('bool', [], new Uint8Array([1])),
      two: tensor('float64', [], new Float64Array([2])),
    },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['z'] },
      { op: 'Relu', inputs: ['z'], outputs: ['f'] },
      { op: 'Mul', inputs: ['i', 'three'], outputs: ['i3'] },
      { op: 'Add', inputs: ['i3', 'seven'], outputs: ['n'] },
      { op: 'And', inputs: ['flag', 'mask'], outputs: ['fm'] },
      { op: 'Not', inputs: ['fm'], outputs: ['g'] },
      { op: 'Cast', inputs: ['x'], outputs: ['x64'], attributes: { to: 11 } },
      { op: 'Mul', inputs: ['x64', 'two'], outputs: ['h'] },
      { op: 'Identity', inputs: ['label'], outputs: ['s'] },
      { op: 'Identity', inputs: ['px'], outputs: ['u'] },
    ],
  });
}

/** Inputs for {@link mixedModel}; `seed` makes every request's content unique. */
export function mixedInputs(seed: number, batch = 2): TensorMap {
  const x = new Float32Array(batch * 3).map((_, k) => ((seed * 7 + k * 13) % 17) / 4 - 2);
  return {
    x: tensor('float32', [batch, 3], x),
    i: tensor(
      'int64',
      [batch],
      new BigInt64Array(batch).map((_, k) => BigInt(seed * 10 + k)),
    ),
    flag: tensor(
      'bool',
      [batch],
      new Uint8Array(batch).map((_, k) => (seed + k) % 2),
    ),
    label: { dtype: 'string', shape: [batch], data: Array.from({ length: batch }, (_, k) => `req-${seed}-${k}-é✓`) },
    px: tensor(
      'uint8',
      [batch, 4],
      new Uint8Array(batch * 4).map((_, k) => (seed + k * 31) % 256),
    ),
  };
}

/** The answers {@link mixedModel} must give, computed here without ONNX Runtime. */
export function mixedExpected(inputs: TensorMap): TensorMap {
  const x = floatValues(inputs.x);
  const batch = x.length / 3;
  const W = [1, -1, 0.5, 2, -0.25, 1];
  const f = new Float32Array(batch * 2);
  for (let r = 0; r < batch; r++) {
    for (let c = 0; c < 2; c++) {
      let acc = Math.fround(0);
      for (let k = 0; k < 3; k++)
        acc = Math.fround(acc + Math.fround((x[r * 3 + k] as number) * (W[k * 2 + c] as number)));
      f[r * 2 + c] = Math.max(0, Math.fround(acc + (c === 0 ? Math.fround(0.1) : Math.fround(-0.2))));
    }
  }
  const i = bigintValues(inputs.i);
  const flag = byteValues(inputs.flag);
  const label = inputs.label;
  return {
    f: tensor('float32', [batch, 2], f),
    n: tensor('int64', [batch], new BigInt64Array(i.map((v) => v * 3n + 7n))),
    g: tensor('bool', [batch], new Uint8Array([...flag].map((v) => (v ? 0 : 1)))),
    h: tensor('float64', [batch, 3], new Float64Array([...x].map((v) => v * 2))),
    s: label as Tensor,
    u: inputs.px as Tensor,
  };
}

function floatValues(t: Tensor | undefined): Float32Array {
  if (t?.dtype !== 'float32') throw new TypeError('expected float32');
  return new Float32Array(t.data.slice().buffer);
}

function bigintValues(t: Tensor | undefined): bigint[] {
  if (t?.dtype !== 'int64') throw new TypeError('expected int64');
  return [...new BigInt64Array(t.data.slice().buffer)];
}

function byteValues(t: Tensor | undefined): Uint8Array {
  if (!t || t.dtype === 'string') throw new TypeError('expected bytes');
  return t.data;
}

/**
 * A model that keeps ONNX Runtime busy: `loops` chained 256×256 MatMuls. Used to show that a long
 * inference never delays another call.
 */
export function slowModel(loops = 60): Uint8Array {
  const nodes = [];
  let prev = 'x';
  for (let k = 0; k < loops; k++) {
    nodes.push({ op: 'MatMul', inputs: [prev, 'W'], outputs: [`m${k}`] });
    nodes.push({ op: 'Tanh', inputs: [`m${k}`], outputs: [`t${k}`] });
    prev = `t${k}`;
  }
  nodes.push({ op: 'Identity', inputs: [prev], outputs: ['y'] });
  return buildModel({
    name: 'slow',
    inputs: [{ name: 'x', dtype: 'float32', shape: [256, 256] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [256, 256] }],
    initializers: { W: tensor('float32', [256, 256], new Float32Array(256 * 256).fill(1 / 256)) },
    nodes,
  });
}

/**
 * Long runs from a tiny request: x float32 [1, 1] is expanded to 1024 × 1024, then `loops` times
 * m = tanh(m · W), then averaged back to y float32 [1, 1]. Each loop is a 1024³ MatMul, so runs last long
 * enough (most of a second for 60 loops) that calls sent together are certainly in flight together, while
 * each request and answer is one small frame.
 */
export function busyModel(loops = 60): Uint8Array {
  const nodes: NodeSpec[] = [{ op: 'Expand', inputs: ['x', 'shape'], outputs: ['m'] }];
  let prev = 'm';
  for (let k = 0; k < loops; k++) {
    nodes.push({ op: 'MatMul', inputs: [prev, 'W'], outputs: [`p${k}`] });
    nodes.push({ op: 'Tanh', inputs: [`p${k}`], outputs: [`t${k}`] });
    prev = `t${k}`;
  }
  nodes.push({ op: 'ReduceMean', inputs: [prev], outputs: ['y'], attributes: { axes: [0, 1], keepdims: 1 } });
  return buildModel({
    name: 'busy',
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1] }],
    initializers: {
      shape: tensor('int64', [2], new BigInt64Array([1024n, 1024n])),
      W: tensor('float32', [1024, 1024], new Float32Array(1024 * 1024).fill(1 / 1024)),
    },
    nodes,
  });
}
