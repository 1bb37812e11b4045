import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKeys } from './parse-keys.js';
import { parseLabels } from './parse-labels.js';

describe('parseLabels()', () => {
  it('splits LF and CRLF lines, drops only the final empty line and a BOM', () => {
    assert.deepEqual(parseLabels('\uFEFFcat\r\ndog\n \nbird\n'), ['cat', 'dog', ' ', 'bird']);
    assert.deepEqual(parseLabels('a\nb'), ['a', 'b']);
  });
});

describe('parseKeys()', () => {
  it('appends a space character unless spaceChar is false', () => {
    assert.deepEqual(parseKeys('x\ny\n'), ['x', 'y', ' ']);
    assert.deepEqual(parseKeys('x\ny\n', { spaceChar: false }), ['x', 'y']);
  });
});
