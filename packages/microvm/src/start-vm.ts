import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, constants } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { Code, FerryError } from '@ferry/core';
import type { GuestKernel } from './fetch-kernel.js';
import { CONSOLE_MARK, GUEST_RELAY_HOST } from './guest-init.js';

export type Accelerator = 'kvm' | 'tcg';

export interface StartVmOptions {
  readonly kernel: GuestKernel;
  readonly initramfs: string;
  /** Default 1024. */
  readonly memoryMb?: number;
  /** Default 1. */
  readonly cpus?: number;
  /** `auto` (default): KVM when /dev/kvm opens, QEMU's software emulation (TCG) otherwise. */
  readonly accel?: 'auto' | Accelerator;
  /**
   * The guest's way to the host agent: a guest connection to 10.0.2.100:<port> makes QEMU run `socat`
   * onto `unixPath` (one host connection per guest connection), the Kata socket `<sandbox>/root/kata.hvsock_<port>`.
   */
  readonly relay?: { readonly port: number; readonly unixPath: string };
  /** Start the in-guest `socat VSOCK-LISTEN:<port> → relay` at boot (default true when `relay` is set). */
  readonly startGuestRelay?: boolean;
  /** Guest TCP ports reachable from the host's 127.0.0.1 (free host ports are picked; see MicroVm.ports). */
  readonly hostForwards?: readonly number[];
  /** Environment of the guest program. */
  readonly env?: Readonly<Record<string, string>>;
  /** Arguments of the guest program (`node /app/dist/main.mjs …`). */
  readonly args?: readonly string[];
  /** Each console line as it arrives. */
  readonly onConsole?: (line: string) => void;
  /** Default `qemu-system-x86_64`. */
  readonly qemu?: string;
}

export interface MicroVm {
  readonly accel: Accelerator;
  /** Guest port → host port on 127.0.0.1, for `hostForwards`. */
  readonly ports: ReadonlyMap<number, number>;
  /** The last console lines (at most 500). */
  readonly console: readonly string[];
  /** The guest program's exit status once init reports it; null when QEMU ended without a report. */
  readonly exited: Promise<number | null>;
  /**
   * The first console line (from now on, or already seen) matching `pattern`. Rejects DEADLINE_EXCEEDED
   * `VM_TIMEOUT` after `timeoutMs`, UNAVAILABLE `VM_EXITED` if the VM ends first.
   */
  waitFor(
    pattern: RegExp,
    options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
  ): Promise<RegExpExecArray>;
  /** Stops QEMU (SIGTERM, then SIGKILL after 5 s); idempotent. */
  close(): Promise<void>;
}

const MAX_CONSOLE_LINES = 500;

/** Boots a microVM under QEMU: serial console on stdout, a virtio-net user network, no disk, no display. */
export async function startVm(options: StartVmOptions): Promise<MicroVm> {
  const accel = options.accel === undefined || options.accel === 'auto' ? await detectAccel() : options.accel;
  const ports = new Map<number, number>();
  for (const guestPort of options.hostForwards ?? []) ports.set(guestPort, await freePort());

  const netdev = ['user', 'id=net0', 'restrict=on'];
  if (options.relay) {
    const { port, unixPath } = options.relay;
    if (/[,\s'"]/.test(unixPath))
      throw new RangeError(`The relay path cannot hold commas, quotes or spaces: ${unixPath}`);
    // QEMU runs the command once per guest connection, its stdin/stdout/stderr on that connection: socat logs go to /dev/null.
    netdev.push(
      `guestfwd=tcp:${GUEST_RELAY_HOST}:${port}-cmd:socat -t 30 -lf /dev/null STDIO UNIX-CONNECT:${unixPath}`,
    );
  }
  for (const [guestPort, hostPort] of ports) netdev.push(`hostfwd=tcp:127.0.0.1:${hostPort}-:${guestPort}`);

  const append = ['console=ttyS0', 'quiet', 'loglevel=1', 'panic=-1', 'reboot=t'];
  if (options.relay && options.startGuestRelay !== false) append.push(`ferry_relay=${options.relay.port}`);
  const boot = [
    ...Object.entries(options.env ?? {}).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new RangeError(`Not an environment variable name: ${k}`);
      return `export ${k}=${shellQuote(v)}`;
    }),
    `set -- ${(options.args ?? []).map(shellQuote).join(' ')}`,
  ].join('\n');
  append.push(`ferry_boot=${Buffer.from(boot).toString('base64')}`);
  const cmdline = append.join(' ');
  if (cmdline.length > 2000) throw new RangeError(`The kernel command line is ${cmdline.length} bytes (at most 2000)`);

  const args = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']),
    '-m',
    String(options.memoryMb ?? 1024),
    '-smp',
    String(options.cpus ?? 1),
    '-kernel',
    options.kernel.image,
    '-initrd',
    options.initramfs,
    '-append',
    cmdline,
    '-serial',
    'stdio',
    '-netdev',
    netdev.join(','),
    '-device',
    'virtio-net-pci,netdev=net0',
  ];
  const child = spawn(options.qemu ?? 'qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let exitCode: number | null = null;
  const onLine = (line: string) => {
    const clean = line.replace(/\r$/, '');
    lines.push(clean);
    if (lines.length > MAX_CONSOLE_LINES) lines.shift();
    const exit = new RegExp(`^${CONSOLE_MARK} exit (\\d+)`).exec(clean);
    if (exit) exitCode = Number(exit[1]);
    options.onConsole?.(clean);
    for (const watcher of watchers) watcher(clean);
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', (line) => onLine(`qemu: ${line}`));
  const ended = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', (error) => {
      onLine(`qemu: ${error.message}`);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;

  const vm: MicroVm = {
    accel,
    ports,
    console: lines,
    exited: ended.then(() => exitCode),
    waitFor(pattern, { timeoutMs, signal }) {
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) return Promise.resolve(match);
      }
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          watchers.delete(watch);
          signal?.removeEventListener('abort', onAbort);
        };
        const tail = () => lines.slice(-20).join('\n');
        const watch = (line: string) => {
          const match = pattern.exec(line);
          if (!match) return;
          done();
          resolve(match);
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new FerryError(
              Code.DEADLINE_EXCEEDED,
              `The microVM printed no ${pattern} within ${timeoutMs} ms:\n${tail()}`,
              {
                reason: 'VM_TIMEOUT',
              },
            ),
          );
        }, timeoutMs);
        const onAbort = () => {
          done();
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        watchers.add(watch);
        void ended.then(() => {
          if (!watchers.has(watch)) return;
          done();
          reject(
            new FerryError(Code.UNAVAILABLE, `The microVM ended before printing ${pattern}:\n${tail()}`, {
              reason: 'VM_EXITED',
            }),
          );
        });
      });
    },
    close() {
      closing ??= stop(child, ended);
      return closing;
    },
  };
  return vm;
}

async function stop(child: ChildProcess, ended: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return ended;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await ended;
  clearTimeout(timer);
}

/** `kvm` when /dev/kvm can be opened for reading and writing, else `tcg`. */
export async function detectAccel(): Promise<Accelerator> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    return 'kvm';
  } catch {
    return 'tcg';
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
