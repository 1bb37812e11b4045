import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildInitramfs,
  bundleGuest,
  defaultVmCacheDir,
  detectAccel,
  fetchKernel,
  type MicroVm,
  startVm,
} from '@ferry/microvm';
import { parseAddress } from '@ferry/transport';
import type { FunctionLauncher } from './demo.js';

/** The guest port of the agent (Kata's `kata.hvsock_2048`) and of the function's HTTP server. */
const AGENT_PORT = 2048;
const SERVE_PORT = 8080;
/** Boot and start of one function; software emulation on a busy machine takes a minute or more. */
const VM_START_TIMEOUT_MS = 5 * 60_000;

/**
 * `ferry demo --vm`: each function is `ferry-serve` in its own QEMU microVM (Debian's cloud kernel, an initramfs
 * of busybox, socat, this node and the bundled guest packages). Inside, the function reaches the agent the way a
 * Kata guest does, `vsock://…:2048` through @ferry/vsock (the loopback CID here, relayed by socat in the guest);
 * QEMU delivers each connection to that sandbox's `<id>/root/kata.hvsock_2048` on this host. Its HTTP port is
 * forwarded to 127.0.0.1.
 */
export async function createVmLauncher(options: {
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
}): Promise<FunctionLauncher> {
  const { env, log } = options;
  const accel = await detectAccel();
  log(`microVMs: preparing the guest (kernel cache ${defaultVmCacheDir(env, homedir())}) …`);
  const kernel = await fetchKernel({ cacheDir: defaultVmCacheDir(env, homedir()) });
  const dir = await mkdtemp(join(tmpdir(), 'fdv-'));
  const vms: MicroVm[] = [];
  try {
    // The function's own entry point, from the workspace's TypeScript when running from source, else its dist.
    const serveIndex = fileURLToPath(import.meta.resolve('@ferry/serve'));
    const fromSource = serveIndex.endsWith('.ts');
    const vsockIndex = fileURLToPath(import.meta.resolve('@ferry/vsock'));
    const files = await bundleGuest({
      entries: { main: join(dirname(serveIndex), fromSource ? 'bin.ts' : 'bin.js') },
      outDir: join(dir, 'app'),
      addons: [join(dirname(vsockIndex), '..', 'build', 'Release', 'ferry_vsock.node')],
      conditions: fromSource ? ['source'] : [],
    });
    const initramfs = join(dir, 'initramfs.cpio');
    const bytes = await buildInitramfs({ kernel, out: initramfs, app: files });
    log(`microVMs: kernel ${kernel.release}, initramfs ${(bytes / 1e6).toFixed(0)} MB, accelerator ${accel}`);
    let closing: Promise<void> | undefined;
    let started = 0;
    return {
      kind: `microVMs, QEMU ${accel}`,
      async start(socket) {
        const address = parseAddress(socket);
        if (address.scheme !== 'unix') throw new TypeError(`A microVM function needs a unix socket, got ${socket}`);
        const index = started++;
        const vm = await startVm({
          kernel,
          initramfs,
          accel,
          memoryMb: 768,
          relay: { port: AGENT_PORT, unixPath: address.path },
          hostForwards: [SERVE_PORT],
          args: ['--address', `vsock://1:${AGENT_PORT}`, '--host', '0.0.0.0', '--port', String(SERVE_PORT)],
          ...(env.FERRY_VM_CONSOLE ? { onConsole: (line: string) => log(`vm ${index}| ${line}`) } : {}),
        });
        vms.push(vm);
        await vm.waitFor(/"event":"listening"/, { timeoutMs: VM_START_TIMEOUT_MS });
        return `http://127.0.0.1:${vm.ports.get(SERVE_PORT)}`;
      },
      close() {
        closing ??= (async () => {
          await Promise.all(vms.map((vm) => vm.close()));
          await rm(dir, { recursive: true, force: true });
        })();
        return closing;
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
