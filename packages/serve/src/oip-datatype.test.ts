import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, DTypes } from '@ferry/core';
import { dtypeFromOip, OipDatatypes, oipDatatype } from './oip-datatype.js';

describe('oipDatatype() / dtypeFromOip()', () => {
  it('maps every Ferry dtype to the protocol name and back', () => {
    assert.deepEqual(DTypes.map(oipDatatype), [
      'FP32',
      'FP64',
      'FP16',
      'BF16',
      'INT8',
      'INT16',
      'INT32',
      'INT64',
      'UINT8',
      'UINT16',
      'UINT32',
      'UINT64',
      'BOOL',
      'BYTES',
    ]);
    for (const dtype of DTypes) assert.equal(dtypeFromOip(oipDatatype(dtype)), dtype);
    assert.equal(new Set(Object.values(OipDatatypes)).size, DTypes.length);
  });

  it('throws INVALID_ARGUMENT (UNKNOWN_DATATYPE) for names the protocol does not define, case-sensitively', () => {
    for (const name of ['fp32', 'FLOAT', '', 'STRING', '__proto__', 'toString']) {
      assert.throws(
        () => dtypeFromOip(name),
        (e: { code: number; reason: string; message: string }) =>
          e.code === Code.INVALID_ARGUMENT && e.reason === 'UNKNOWN_DATATYPE' && e.message.includes('FP32, FP64'),
      );
    }
  });

  it('throws TypeError for a dtype Ferry does not have', () => {
    assert.throws(() => oipDatatype('complex64' as never), TypeError);
    assert.throws(() => oipDatatype('toString' as never), TypeError);
  });
});
