import { execFile } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Code, FerryError } from '@ferry/core';

const run = promisify(execFile);

/** Debian's metapackage for the cloud kernel: small, with virtio and vsock (loopback too) as modules. */
export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';

/** A guest kernel unpacked from a Debian package: the image and its module tree. */
export interface GuestKernel {
  /** `6.1.0-57-cloud-amd64`. */
  readonly release: string;
  /** `<dir>/boot/vmlinuz-<release>`. */
  readonly image: string;
  /** `<dir>/lib/modules/<release>`. */
  readonly modules: string;
}

export interface FetchKernelOptions {
  /** Where the package is downloaded and unpacked; nothing is installed into the host's /boot. */
  readonly cacheDir: string;
  /** The versioned package (`linux-image-6.1.0-57-cloud-amd64`); default: what {@link KERNEL_METAPACKAGE} depends on. */
  readonly packageName?: string;
  /** Only look in cacheDir; FAILED_PRECONDITION `VM_KERNEL_MISSING` when nothing is there. */
  readonly offline?: boolean;
}

/**
 * A guest kernel in `cacheDir`: one already unpacked there, else `apt-get download` of the package and
 * `dpkg-deb -x` (no root, no changes outside cacheDir; apt's package lists must be present).
 */
export async function fetchKernel(options: FetchKernelOptions): Promise<GuestKernel> {
  const { cacheDir } = options;
  const cached = await findKernel(cacheDir, options.packageName);
  if (cached) return cached;
  if (options.offline) {
    throw new FerryError(
      Code.FAILED_PRECONDITION,
      `No guest kernel in ${cacheDir}: fetch one first (\`ferry vm-kernel\` or \`npm run vm:kernel\`)`,
      { reason: 'VM_KERNEL_MISSING' },
    );
  }
  const packageName = options.packageName ?? (await kernelPackage());
  await mkdir(cacheDir, { recursive: true });
  try {
    await run('apt-get', ['download', packageName], { cwd: cacheDir, maxBuffer: 1 << 20 });
    const deb = (await readdir(cacheDir)).find((f) => f.startsWith(`${packageName}_`) && f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download left no ${packageName}_*.deb in ${cacheDir}`);
    const dir = join(cacheDir, packageName);
    await rm(dir, { recursive: true, force: true });
    await run('dpkg-deb', ['-x', join(cacheDir, deb), dir]);
    await rm(join(cacheDir, deb), { force: true });
  } catch (cause) {
    throw new FerryError(
      Code.FAILED_PRECONDITION,
      `Cannot fetch the guest kernel ${packageName}: ${(cause as Error).message.trim()}`,
      { reason: 'VM_KERNEL_MISSING', cause },
    );
  }
  const kernel = await findKernel(cacheDir, packageName);
  if (!kernel) {
    throw new FerryError(Code.FAILED_PRECONDITION, `The package ${packageName} holds no boot/vmlinuz-*`, {
      reason: 'VM_KERNEL_MISSING',
    });
  }
  return kernel;
}

/** The versioned kernel package the metapackage depends on, from apt's lists. */
async function kernelPackage(): Promise<string> {
  try {
    const { stdout } = await run('apt-cache', ['depends', KERNEL_METAPACKAGE]);
    const match = /Depends:\s*(linux-image-\S+)/.exec(stdout);
    if (match?.[1]) return match[1];
    throw new Error(`no linux-image dependency in:\n${stdout}`);
  } catch (cause) {
    throw new FerryError(
      Code.FAILED_PRECONDITION,
      `Cannot resolve ${KERNEL_METAPACKAGE} (run apt-get update?): ${(cause as Error).message.trim()}`,
      { reason: 'VM_KERNEL_MISSING', cause },
    );
  }
}

async function findKernel(cacheDir: string, packageName: string | undefined): Promise<GuestKernel | undefined> {
  let names: string[];
  try {
    names = (await readdir(cacheDir)).filter((n) => n.startsWith('linux-image-') && !n.endsWith('.deb'));
  } catch {
    return undefined;
  }
  for (const name of names.sort().reverse()) {
    if (packageName && name !== packageName) continue;
    const dir = join(cacheDir, name);
    const boot = await readdir(join(dir, 'boot')).catch(() => [] as string[]);
    const image = boot.find((f) => f.startsWith('vmlinuz-'));
    if (!image) continue;
    const release = image.slice('vmlinuz-'.length);
    return { release, image: join(dir, 'boot', image), modules: join(dir, 'lib', 'modules', release) };
  }
  return undefined;
}

/**
 * Where kernels are cached unless told otherwise: `FERRY_VM_CACHE`, else `$XDG_CACHE_HOME/ferry/vm`, else
 * `~/.cache/ferry/vm`. The caller passes its environment (libraries do not read it).
 */
export function defaultVmCacheDir(env: Readonly<Record<string, string | undefined>>, home: string): string {
  return env.FERRY_VM_CACHE ?? join(env.XDG_CACHE_HOME ?? join(home, '.cache'), 'ferry', 'vm');
}
