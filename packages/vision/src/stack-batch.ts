import { Code, checkTensor, FerryError, type NumericTensor } from '@ferry/core';

/**
 * Concatenates tensors along the first (batch) dimension: `[1, 3, 48, 320]` × n → `[n, 3, 48, 320]`.
 * All must share dtype and the other dimensions (INVALID_ARGUMENT, reason BATCH_SHAPE_MISMATCH).
 */
export function stackBatch(tensors: readonly NumericTensor[]): NumericTensor {
  const first = tensors[0];
  if (!first) throw new RangeError('stackBatch needs at least one tensor');
  if (first.shape.length === 0) throw new RangeError('stackBatch needs tensors with a batch dimension');
  const rest = first.shape.slice(1);
  let batch = 0;
  let bytes = 0;
  for (const t of tensors) {
    const same =
      t.dtype === first.dtype && t.shape.length === first.shape.length && rest.every((d, i) => t.shape[i + 1] === d);
    if (!same) {
      throw new FerryError(
        Code.INVALID_ARGUMENT,
        `Cannot batch ${t.dtype}[${t.shape.join(', ')}] with ${first.dtype}[${first.shape.join(', ')}]`,
        { reason: 'BATCH_SHAPE_MISMATCH' },
      );
    }
    batch += t.shape[0] as number;
    bytes += t.data.byteLength;
  }
  const data = new Uint8Array(bytes);
  let offset = 0;
  for (const t of tensors) {
    data.set(t.data, offset);
    offset += t.data.byteLength;
  }
  const stacked: NumericTensor = { dtype: first.dtype, shape: [batch, ...rest], data };
  checkTensor('batch', stacked);
  return stacked;
}
