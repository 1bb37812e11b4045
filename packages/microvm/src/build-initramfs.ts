import { execFile } from 'node:child_process';
import { access, constants, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Code, FerryError } from '@ferry/core';
import type { GuestKernel } from './fetch-kernel.js';
import { GUEST_INIT } from './guest-init.js';
import { type CpioEntry, writeCpio } from './write-cpio.js';

const run = promisify(execFile);

/**
 * Kernel modules the guest loads, with their dependencies: vsock with its loopback transport (the guest
 * reaches "the host" at the local CID 1 through the in-guest relay), and virtio-net over PCI for QEMU's
 * user network.
 */
export const GUEST_MODULES = ['vsock_loopback', 'virtio_net', 'virtio_pci'] as const;

export interface BuildInitramfsOptions {
  readonly kernel: GuestKernel;
  /** Where to write the archive. */
  readonly out: string;
  /** Files of the guest program under /app (`dist/main.mjs` is what init runs), e.g. bundles and a native addon. */
  readonly app: readonly { readonly path: string; readonly source: string; readonly mode?: number }[];
  /** The node binary copied in with the libraries `ldd` lists (default: the one running this code). */
  readonly node?: string;
  /** busybox, statically linked (Debian's busybox-static). */
  readonly busybox?: string;
  /** socat, the in-guest vsock relay, copied with its libraries. */
  readonly socat?: string;
}

/**
 * Builds the guest's whole root filesystem as one initramfs: busybox for init and tools, socat for the
 * relay, the host's node, the kernel modules {@link GUEST_MODULES} needs, and the guest program under
 * /app. Returns the archive's size in bytes.
 */
export async function buildInitramfs(options: BuildInitramfsOptions): Promise<number> {
  const node = options.node ?? process.execPath;
  const busybox = options.busybox ?? (await which('busybox'));
  const socat = options.socat ?? (await which('socat'));
  await checkStatic(busybox);

  const dirs = new Set<string>();
  const entries: CpioEntry[] = [];
  const dir = (path: string) => {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!dirs.has(p)) {
        dirs.add(p);
        entries.push({ type: 'dir', path: p });
      }
    }
  };
  const file = (path: string, source: string, mode = 0o644) => {
    dir(dirname(path));
    entries.push({ type: 'file', path, source, mode });
  };

  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'etc', 'app']) dir(d);
  file('bin/busybox', busybox, 0o755);
  const { stdout: applets } = await run(busybox, ['--list']);
  for (const applet of applets.split('\n').filter((a) => a && a !== 'busybox')) {
    entries.push({ type: 'symlink', path: `bin/${applet}`, target: 'busybox' });
  }
  file('usr/bin/node', node, 0o755);
  file('bin/socat', socat, 0o755);
  const libraries = new Set([...(await sharedLibraries(node)), ...(await sharedLibraries(socat))]);
  for (const lib of [...libraries].sort()) file(lib.slice(1), lib, 0o755);

  const modules = await moduleOrder(options.kernel.modules, GUEST_MODULES);
  for (const m of modules) file(`lib/modules/${m.split('/').pop()}`, join(options.kernel.modules, m));
  entries.push({
    type: 'file',
    path: 'lib/modules/order',
    data: `${modules.map((m) => m.split('/').pop()).join('\n')}\n`,
  });
  entries.push({ type: 'file', path: 'etc/hosts', data: '127.0.0.1 localhost\n' });
  entries.push({ type: 'file', path: 'etc/passwd', data: 'root:x:0:0:root:/:/bin/sh\n' });
  entries.push({ type: 'file', path: 'init', data: GUEST_INIT, mode: 0o755 });
  for (const f of options.app) file(join('app', f.path), f.source, f.mode ?? 0o644);
  return writeCpio(options.out, entries);
}

async function which(name: string): Promise<string> {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    const path = join(dir, name);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {}
  }
  throw new FerryError(
    Code.FAILED_PRECONDITION,
    `The microVM needs ${name} on this machine (Debian: see docs/vm-tests.md)`,
    {
      reason: 'VM_TOOL_MISSING',
    },
  );
}

async function checkStatic(busybox: string): Promise<void> {
  // ldd says so on stderr, exiting 1.
  const output = await run('ldd', [busybox]).then(
    ({ stdout, stderr }) => stdout + stderr,
    (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
  );
  if (!/not a dynamic executable|statically linked/.test(output)) {
    throw new FerryError(Code.FAILED_PRECONDITION, `${busybox} is not statically linked (install busybox-static)`, {
      reason: 'VM_TOOL_MISSING',
    });
  }
}

/** Absolute paths of the shared libraries (and the loader) `ldd` lists for a binary. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const paths: string[] = [];
  for (const line of stdout.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (match?.[1]) paths.push(match[1]);
  }
  return paths;
}

/**
 * The modules to insmod, dependencies first, as paths relative to the module tree. A Debian package has
 * no modules.dep (depmod writes it at install time), so the dependencies come from each module's own
 * `.modinfo` section (`depends=a,b`), which is what depmod reads.
 */
export async function moduleOrder(moduleTree: string, wanted: readonly string[]): Promise<string[]> {
  const byName = new Map<string, string>();
  for (const entry of await readdir(join(moduleTree, 'kernel'), { recursive: true })) {
    const match = /([^/]+)\.ko$/.exec(entry);
    if (match?.[1]) byName.set(match[1].replace(/-/g, '_'), join('kernel', entry));
  }
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = async (name: string) => {
    const mod = byName.get(name.replace(/-/g, '_'));
    if (!mod) {
      throw new FerryError(Code.FAILED_PRECONDITION, `The guest kernel has no module ${name} (built in, or missing?)`, {
        reason: 'VM_KERNEL_MISSING',
      });
    }
    if (order.includes(mod) || visiting.has(mod)) return;
    visiting.add(mod);
    const info = (await readFile(join(moduleTree, mod))).toString('latin1');
    const depends = /\0depends=([^\0]*)\0/.exec(info)?.[1] ?? '';
    for (const dep of depends.split(',').filter(Boolean)) await visit(dep);
    order.push(mod);
  };
  for (const name of wanted) await visit(name);
  return order;
}
