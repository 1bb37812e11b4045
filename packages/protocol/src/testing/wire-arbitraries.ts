import { DTypes, type Tensor, type TensorMap } from '@ferry/core';
import fc from 'fast-check';
import { DataType } from '../gen/ferry/v1/accelerator_pb.js';

/**
 * fast-check arbitraries for the encoder property tests: the edges protobuf encoders get wrong (strings with
 * multi-byte and astral characters, lone surrogates, lengths across varint boundaries, payloads past 64 KiB,
 * int64 extremes). Internal to this package's tests.
 */

const MAX_INT64 = 2n ** 63n - 1n;
const MIN_INT64 = -(2n ** 63n);

/** Any UTF-16 code unit, lone surrogates included. */
const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Strings: ASCII, any code point (surrogate pairs), any UTF-16 (lone surrogates), long ones (>127 bytes). */
export const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: utf16Unit }),
  fc.string({ minLength: 60, maxLength: 300 }),
  fc.string({ unit: 'binary', minLength: 30, maxLength: 200 }),
  fc.constantFrom('', 'ferry.v1.Accelerator', 'é', '😀', '\ud800', 'a\udc00b', 'x'.repeat(128)),
);

/** Well-formed strings only (no lone surrogates), for round trips through UTF-8. */
export const wellFormedString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('😀é'));

/** Byte arrays of every size class up to 160 KiB, filled deterministically from a seed. */
export const anyBytes = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 4 },
  {
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 160 * 1024 }), fc.integer({ min: 0, max: 255 }))
      .map(([length, seed]) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff)),
    weight: 1,
  },
);

export const timeoutNano = fc.oneof(
  fc.bigInt({ min: 0n, max: MAX_INT64 }),
  fc.constantFrom(0n, 1n, 127n, 128n, 16_383n, 16_384n, 2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, MAX_INT64),
);

export const int32 = fc.oneof(
  fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  fc.constantFrom(0, 1, -1, 127, 128, 0x7fff_ffff, -0x8000_0000),
);

export const uint32 = fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.constantFrom(0, 127, 128, 0xffff_ffff));

export const int64 = fc.oneof(
  fc.bigInt({ min: MIN_INT64, max: MAX_INT64 }),
  fc.constantFrom(0n, -1n, 127n, 128n, MIN_INT64, MAX_INT64, 2n ** 53n),
);

export const metadata = fc.dictionary(anyString, anyString, { maxKeys: 4 });

/** Known and unknown enum values. */
export const dataType: fc.Arbitrary<DataType> = fc.oneof(
  fc.constantFrom(...(Object.values(DataType).filter((v) => typeof v === 'number') as DataType[])),
  int32 as fc.Arbitrary<DataType>,
);

/** protobuf-es `Tensor` init objects (fields may be missing). */
export const wireTensorInit = fc.record(
  {
    dtype: dataType,
    shape: fc.array(int64, { maxLength: 5 }),
    data: anyBytes,
    strings: fc.array(anyString, { maxLength: 4 }),
  },
  { requiredKeys: [] },
);

/** protobuf-es `NamedTensor` init objects. */
export const wireNamedTensorInit = fc.record({ name: anyString, tensor: wireTensorInit }, { requiredKeys: [] });

/** Core tensors of every dtype; shapes are any int64 numbers (the encoder does not check them against data). */
export const coreTensor: fc.Arbitrary<Tensor> = fc
  .tuple(
    fc.constantFrom(...DTypes),
    fc.array(fc.oneof(fc.nat({ max: 1000 }), fc.constantFrom(0, 2 ** 31, Number.MAX_SAFE_INTEGER, -1, -(2 ** 40))), {
      maxLength: 4,
    }),
    anyBytes,
    fc.array(anyString, { maxLength: 4 }),
  )
  .map(
    ([dtype, shape, data, strings]): Tensor =>
      dtype === 'string' ? { dtype, shape, data: strings } : { dtype, shape, data },
  );

export const coreTensorMap: fc.Arbitrary<TensorMap> = fc
  .array(fc.tuple(anyString, coreTensor), { maxLength: 3 })
  .map((entries) => Object.fromEntries(entries));
