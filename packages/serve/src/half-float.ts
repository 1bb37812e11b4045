/**
 * IEEE 754 binary16 (FP16) and bfloat16 (BF16) conversions, rounding to nearest, ties to even, straight
 * from a float64 (no double rounding through float32). JSON carries FP16/BF16 elements as numbers;
 * tensors carry their raw 16-bit patterns.
 */

interface Format {
  readonly mantissaBits: number;
  readonly bias: number;
  readonly maxExponent: number;
  readonly infinity: number;
  readonly nan: number;
}

function format(exponentBits: number, mantissaBits: number): Format {
  const bias = 2 ** (exponentBits - 1) - 1;
  const infinity = ((2 ** exponentBits - 1) << mantissaBits) >>> 0;
  return { mantissaBits, bias, maxExponent: bias, infinity, nan: infinity | (1 << (mantissaBits - 1)) };
}

const FP16 = format(5, 10);
const BF16 = format(8, 7);

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function encode(value: number, f: Format): number {
  if (Number.isNaN(value)) return f.nan;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a === Number.POSITIVE_INFINITY) return sign | f.infinity;
  if (a === 0) return sign;
  const minExponent = 1 - f.bias;
  let exponent = Math.floor(Math.log2(a));
  if (2 ** exponent > a) exponent--;
  else if (2 ** (exponent + 1) <= a) exponent++;
  if (exponent < minExponent) {
    // Subnormal: a multiple of the smallest step; a carry into 2^mantissaBits is the smallest normal.
    return sign | roundHalfEven(a / 2 ** (minExponent - f.mantissaBits));
  }
  let mantissa = roundHalfEven((a / 2 ** exponent - 1) * 2 ** f.mantissaBits);
  if (mantissa === 2 ** f.mantissaBits) {
    mantissa = 0;
    exponent++;
  }
  if (exponent > f.maxExponent) return sign | f.infinity;
  return sign | ((exponent + f.bias) << f.mantissaBits) | mantissa;
}

function decode(bits: number, f: Format): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits & f.infinity) >>> f.mantissaBits;
  const mantissa = bits & ((1 << f.mantissaBits) - 1);
  if ((bits & f.infinity) === f.infinity) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  if (exponent === 0) return sign * mantissa * 2 ** (1 - f.bias - f.mantissaBits);
  return sign * (1 + mantissa / 2 ** f.mantissaBits) * 2 ** (exponent - f.bias);
}

/** The FP16 bit pattern nearest to `value`. */
export function toFloat16Bits(value: number): number {
  return encode(value, FP16);
}

/** The number an FP16 bit pattern stands for. */
export function fromFloat16Bits(bits: number): number {
  return decode(bits, FP16);
}

/** The BF16 bit pattern nearest to `value`. */
export function toBfloat16Bits(value: number): number {
  return encode(value, BF16);
}

/** The number a BF16 bit pattern stands for. */
export function fromBfloat16Bits(bits: number): number {
  return decode(bits, BF16);
}
