import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import { formatFlags, parseServeFlags, SERVE_FLAGS } from './serve-flags.js';

const parse = (args: string[]) => parseServeFlags(parseArgs({ args, options: SERVE_FLAGS, strict: true }).values);

describe('parseServeFlags()', () => {
  it('applies the defaults the function image and `ferry serve` share', () => {
    assert.deepEqual(parse([]), { port: 8080, host: '0.0.0.0', limits: {} });
  });

  it('reads every flag', () => {
    const flags = parse([
      ...['--address', 'unix:///a.sock', '--port', '0', '--host', '127.0.0.1', '--model', 'a', '--model', 'b'],
      ...['--max-body-bytes', '1024', '--timeout-ms', '250'],
    ]);
    assert.deepEqual(flags, {
      address: 'unix:///a.sock',
      port: 0,
      host: '127.0.0.1',
      models: ['a', 'b'],
      limits: { maxBodyBytes: 1024, requestTimeoutMs: 250 },
    });
  });

  it('throws RangeError naming the flag for a bad port or size', () => {
    assert.throws(() => parse(['--port', '70000']), { name: 'RangeError', message: /--port must be 0\.\.65535/ });
    assert.throws(() => parse(['--port', 'x']), /--port/);
    assert.throws(() => parse(['--max-body-bytes', '0']), /--max-body-bytes must be a positive integer/);
    assert.throws(() => parse(['--timeout-ms', '1.5']), /--timeout-ms must be a positive integer/);
  });
});

describe('formatFlags()', () => {
  it('prints one aligned line per flag with its placeholder, default and repeatability', () => {
    const lines = formatFlags(SERVE_FLAGS).split('\n');
    assert.equal(lines.length, Object.keys(SERVE_FLAGS).length);
    assert.match(lines[1] ?? '', /^ {2}--port <port> +HTTP port, 0 for any free one \(default 8080\)$/);
    assert.match(lines.find((l) => l.includes('--model')) ?? '', /\(repeatable\)$/);
    const column = (lines[0] ?? '').indexOf('the agent');
    assert.ok(column > 0 && lines.every((l) => l.length > column && l[column - 1] === ' '));
  });
});
