import { type Tensor, tensorValues } from '@ferry/core';

/** Tensor values as JSON-safe numbers, strings (strings, and int64 beyond 2^53) or booleans. */
export function tensorToJsonValues(tensor: Tensor): (number | string | boolean)[] {
  if (tensor.dtype === 'string') return [...tensor.data];
  const values = tensorValues(tensor);
  const out: (number | string | boolean)[] = [];
  for (const v of values) {
    if (typeof v === 'bigint')
      out.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
    else if (tensor.dtype === 'bool') out.push(v !== 0);
    else if (tensor.dtype === 'float16') out.push(halfToFloat(v));
    else if (tensor.dtype === 'bfloat16') out.push(bfloatToFloat(v));
    else out.push(v);
  }
  return out;
}

/** One line: `name float32[1, 3] 0.1 0.2 0.7`, with at most `limit` values. */
export function describeTensor(name: string, tensor: Tensor, limit = 8): string {
  const values = tensorToJsonValues(tensor);
  const shown = values
    .slice(0, limit)
    .map((v) => (typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(6) : String(v)));
  const more = values.length > limit ? ` … (${values.length} values)` : '';
  return `${name} ${tensor.dtype}[${tensor.shape.join(', ')}] ${shown.join(' ')}${more}`;
}

/** IEEE 754 binary16 bits → number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** bfloat16 bits → number. */
export function bfloatToFloat(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}
