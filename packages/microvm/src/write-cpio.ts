import { open, readFile } from 'node:fs/promises';

/** One entry of an initramfs: a directory, a file (copied from `source` or given as `data`) or a symlink. */
export type CpioEntry =
  | { readonly type: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly type: 'file'; readonly path: string; readonly source: string; readonly mode?: number }
  | { readonly type: 'file'; readonly path: string; readonly data: string | Uint8Array; readonly mode?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/**
 * Writes an uncompressed cpio archive in the "newc" format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Uncompressed on purpose: under software
 * emulation the guest would spend seconds inflating a gzip of the node binary. Paths are relative to
 * the guest's root, without a leading slash; parents must come before their children.
 */
export async function writeCpio(out: string, entries: readonly CpioEntry[]): Promise<number> {
  const file = await open(out, 'w');
  let offset = 0;
  const write = async (bytes: Uint8Array) => {
    await file.write(bytes);
    offset += bytes.length;
  };
  const pad = async () => {
    const rest = (4 - (offset % 4)) % 4;
    if (rest > 0) await write(new Uint8Array(rest));
  };
  const entry = async (path: string, mode: number, data: Uint8Array, ino: number) => {
    const name = Buffer.from(`${path}\0`);
    const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length, 0];
    const header = `070701${fields.map((n) => n.toString(16).padStart(8, '0')).join('')}`;
    await write(Buffer.from(header, 'ascii'));
    await write(name);
    await pad();
    await write(data);
    await pad();
  };
  try {
    let ino = 1;
    for (const e of entries) {
      const path = e.path.replace(/^\/+/, '');
      if (e.type === 'dir') await entry(path, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(0), ino++);
      else if (e.type === 'symlink') await entry(path, S_IFLNK | 0o777, Buffer.from(e.target), ino++);
      else {
        const data =
          'source' in e ? await readFile(e.source) : typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
        await entry(path, S_IFREG | (e.mode ?? 0o644), data, ino++);
      }
    }
    await entry('TRAILER!!!', 0, new Uint8Array(0), 0);
    return offset;
  } finally {
    await file.close();
  }
}
