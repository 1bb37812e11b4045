import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, type NumericTensor, stringTensor, tensor, tensorValues } from '@ferry/core';
import { tensorFromBinary, tensorFromJson } from './tensor-from-oip.js';

function invalid(reason: string, pattern?: RegExp) {
  return (e: { code: number; reason: string; message: string }) =>
    e.code === Code.INVALID_ARGUMENT && e.reason === reason && (pattern === undefined || pattern.test(e.message));
}

describe('tensorFromJson()', () => {
  it('reads flat and nested row-major data into the same tensor', () => {
    const expected = tensor('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(tensorFromJson('x', 'float32', [2, 3], [1, 2, 3, 4, 5, 6]), expected);
    assert.deepEqual(
      tensorFromJson(
        'x',
        'float32',
        [2, 3],
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
      ),
      expected,
    );
  });

  it('reads every datatype', () => {
    assert.deepEqual(tensorFromJson('b', 'bool', [3], [true, false, true]), tensor('bool', [3], [1, 0, 1]));
    assert.deepEqual(tensorFromJson('s', 'string', [2], ['a', 'é✓']), stringTensor([2], ['a', 'é✓']));
    assert.deepEqual(tensorFromJson('i', 'int8', [2], [-128, 127]), tensor('int8', [2], [-128, 127]));
    assert.deepEqual(tensorFromJson('i', 'uint16', [1], [65535]), tensor('uint16', [1], [65535]));
    assert.deepEqual(tensorFromJson('i', 'int32', [1], [-2147483648]), tensor('int32', [1], [-2147483648]));
    assert.deepEqual(tensorFromJson('i', 'uint32', [1], [4294967295]), tensor('uint32', [1], [4294967295]));
    assert.deepEqual(
      tensorFromJson('i', 'int64', [3], [-5, '9223372036854775807', '-9223372036854775808']),
      tensor('int64', [3], new BigInt64Array([-5n, 2n ** 63n - 1n, -(2n ** 63n)])),
    );
    assert.deepEqual(
      tensorFromJson('i', 'uint64', [1], ['18446744073709551615']),
      tensor('uint64', [1], new BigUint64Array([2n ** 64n - 1n])),
    );
    assert.deepEqual(tensorFromJson('h', 'float16', [2], [1, -2]), tensor('float16', [2], [0x3c00, 0xc000]));
    assert.deepEqual(tensorFromJson('h', 'bfloat16', [1], [1]), tensor('bfloat16', [1], [0x3f80]));
    const f = tensorFromJson('f', 'float64', [3], ['NaN', 'Infinity', '-Infinity']);
    assert.equal(f.dtype, 'float64');
    assert.deepEqual([...tensorValues(f as NumericTensor)], [Number.NaN, Infinity, -Infinity]);
    assert.deepEqual(tensorFromJson('e', 'float32', [0, 3], []), tensor('float32', [0, 3], []));
    assert.deepEqual(tensorFromJson('scalar', 'int32', [], [7]), tensor('int32', [], [7]));
  });

  it('throws TENSOR_SIZE_MISMATCH when the data does not fill the shape', () => {
    assert.throws(
      () => tensorFromJson('x', 'float32', [2, 3], [1, 2, 3]),
      invalid('TENSOR_SIZE_MISMATCH', /3 elements/),
    );
    assert.throws(
      () =>
        tensorFromJson(
          'x',
          'float32',
          [2, 3],
          [
            [1, 2],
            [3, 4, 5, 6],
          ],
        ),
      invalid('TENSOR_SIZE_MISMATCH', /"data"\[0\] has 2 elements/),
    );
    assert.throws(() => tensorFromJson('x', 'float32', [2], [[1], [2]]), invalid('INVALID_TENSOR_DATA', /deeper/));
  });

  it('throws INVALID_TENSOR_DATA naming the element for values the datatype cannot hold', () => {
    const cases: [Parameters<typeof tensorFromJson>[1], unknown[], RegExp][] = [
      ['float32', [1, 'x'], /element 1 is "x", not a number/],
      ['float32', [null], /element 0 is null/],
      ['bool', [1], /not true or false/],
      ['string', [5], /not a string/],
      ['uint8', [256], /out of range 0\.\.255/],
      ['int8', [-129], /out of range/],
      ['int32', [1.5], /not an integer/],
      ['uint32', ['7'], /not a number/],
      ['int64', [2 ** 60], /beyond 2\^53/],
      ['int64', ['9223372036854775808'], /out of range/],
      ['uint64', [-1], /out of range/],
      ['int64', ['1e3'], /not an integer/],
    ];
    for (const [dtype, data, pattern] of cases) {
      assert.throws(
        () => tensorFromJson('t', dtype, [data.length], data),
        invalid('INVALID_TENSOR_DATA', pattern),
        dtype,
      );
    }
    assert.throws(() => tensorFromJson('t', 'float32', [1], 5), invalid('INVALID_TENSOR_DATA', /must be an array/));
  });
});

describe('tensorFromBinary()', () => {
  it('takes numeric bytes as they are (copied) and BYTES as length-prefixed UTF-8', () => {
    const bytes = new Uint8Array(new Float32Array([1, 2]).buffer);
    const t = tensorFromBinary('x', 'float32', [2], bytes);
    assert.deepEqual(t, tensor('float32', [2], [1, 2]));
    assert.notEqual(t.data, bytes);
    const strings = Buffer.from([2, 0, 0, 0, 0x68, 0x69, 0, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0xa9]);
    assert.deepEqual(tensorFromBinary('s', 'string', [3], strings), stringTensor([3], ['hi', '', 'é']));
  });

  it('throws TENSOR_SIZE_MISMATCH when the sizes do not add up', () => {
    assert.throws(
      () => tensorFromBinary('x', 'float32', [3], new Uint8Array(8)),
      invalid('TENSOR_SIZE_MISMATCH', /needs 12/),
    );
    assert.throws(
      () => tensorFromBinary('s', 'string', [2], Buffer.from([1, 0, 0, 0, 0x61])),
      invalid('TENSOR_SIZE_MISMATCH', /ends at element 1/),
    );
    assert.throws(
      () => tensorFromBinary('s', 'string', [1], Buffer.from([9, 0, 0, 0, 0x61])),
      invalid('TENSOR_SIZE_MISMATCH', /claims 9 bytes/),
    );
    assert.throws(
      () => tensorFromBinary('s', 'string', [1], Buffer.from([1, 0, 0, 0, 0x61, 0x62])),
      invalid('TENSOR_SIZE_MISMATCH', /left over/),
    );
  });

  it('refuses BOOL bytes other than 0 and 1, and BYTES that are not UTF-8', () => {
    assert.throws(
      () => tensorFromBinary('b', 'bool', [2], Uint8Array.of(1, 2)),
      invalid('INVALID_TENSOR_DATA', /element 1 is byte 2/),
    );
    assert.throws(
      () => tensorFromBinary('s', 'string', [1], Buffer.from([1, 0, 0, 0, 0xff])),
      invalid('INVALID_TENSOR_DATA', /UTF-8/),
    );
  });
});
