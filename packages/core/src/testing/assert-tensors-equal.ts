import assert from 'node:assert/strict';
import type { Tensor, TensorMap } from '../tensor.js';

/** Asserts two tensor maps hold the same names, dtypes, shapes and bytes (strings compared as strings). */
export function assertTensorsEqual(actual: TensorMap, expected: TensorMap, message?: string): void {
  const prefix = message ? `${message}: ` : '';
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${prefix}output names differ`);
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name] as Tensor;
    assert.equal(got.dtype, want.dtype, `${prefix}"${name}" dtype`);
    assert.deepEqual([...got.shape], [...want.shape], `${prefix}"${name}" shape`);
    if (want.dtype === 'string') assert.deepEqual([...got.data], [...want.data], `${prefix}"${name}" strings`);
    else assert.deepEqual(Buffer.from(got.data as Uint8Array), Buffer.from(want.data), `${prefix}"${name}" bytes`);
  }
}
