import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nulPadded, vaccelTag } from './vaccel-classify.js';

describe('vaccelTag()', () => {
  it('prints the score as a percentage with three decimals, then the label', () => {
    assert.equal(vaccelTag('tabby, tabby cat', 0.30251), '30.251% tabby, tabby cat');
    assert.equal(vaccelTag('180', 1), '100.000% 180');
  });
});

describe('nulPadded()', () => {
  it('pads the UTF-8 text with NULs to the length', () => {
    assert.deepEqual([...nulPadded('ab', 5)], [0x61, 0x62, 0, 0, 0]);
  });

  it('cuts a long text at a character boundary, keeping a terminating NUL', () => {
    // "é" is two bytes: in 4 bytes only "aé" fits before the NUL.
    assert.deepEqual([...nulPadded('aéé', 4)], [0x61, 0xc3, 0xa9, 0]);
    assert.deepEqual([...nulPadded('abc', 1)], [0]);
    assert.deepEqual([...nulPadded('abc', 0)], []);
  });
});
