import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeCpio } from './write-cpio.js';

interface Member {
  readonly name: string;
  readonly mode: number;
  readonly data: Buffer;
}

/** Reads a newc archive as the kernel does (buffer-format.rst): 110-byte hex header, name, data, 4-byte padding. */
function readNewc(archive: Buffer): Member[] {
  const members: Member[] = [];
  let offset = 0;
  const align = () => {
    offset = Math.ceil(offset / 4) * 4;
  };
  for (;;) {
    assert.equal(archive.toString('ascii', offset, offset + 6), '070701', `magic at ${offset}`);
    const field = (i: number) =>
      Number.parseInt(archive.toString('ascii', offset + 6 + i * 8, offset + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    offset += 110;
    const name = archive.toString('utf8', offset, offset + nameSize - 1);
    assert.equal(archive[offset + nameSize - 1], 0, 'names end with NUL');
    offset += nameSize;
    align();
    const data = archive.subarray(offset, offset + size);
    offset += size;
    align();
    if (name === 'TRAILER!!!') break;
    members.push({ name, mode, data });
  }
  assert.equal(offset, archive.length, 'nothing after the trailer');
  return members;
}

describe('writeCpio()', () => {
  it('writes directories, files (given or copied), modes and symlinks in the newc format, padded to 4 bytes', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fcpio-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const source = join(dir, 'source.bin');
    await writeFile(source, Buffer.from([1, 2, 3, 4, 5]));
    const out = join(dir, 'out.cpio');
    const size = await writeCpio(out, [
      { type: 'dir', path: '/bin' },
      { type: 'file', path: 'bin/tool', source, mode: 0o755 },
      { type: 'symlink', path: 'bin/sh', target: 'tool' },
      { type: 'file', path: 'init', data: '#!/bin/sh\n' },
      { type: 'file', path: 'empty', data: new Uint8Array(0) },
    ]);
    const archive = await readFile(out);
    assert.equal(size, archive.length);
    assert.equal(archive.length % 4, 0);
    assert.deepEqual(
      readNewc(archive).map((m) => [m.name, m.mode.toString(8), m.data.toString('hex')]),
      [
        ['bin', '40755', ''],
        ['bin/tool', '100755', '0102030405'],
        ['bin/sh', '120777', Buffer.from('tool').toString('hex')],
        ['init', '100644', Buffer.from('#!/bin/sh\n').toString('hex')],
        ['empty', '100644', ''],
      ],
    );
  });
});
