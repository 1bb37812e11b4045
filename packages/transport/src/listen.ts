import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import {
  createConnection,
  createServer,
  type ListenOptions as NetListenOptions,
  type Server,
  type Socket,
} from 'node:net';
import { dirname } from 'node:path';
import { Code, FerryError } from '@ferry/core';
import type { Address } from './address.js';
import { abortedError, listenError } from './connect-errors.js';
import { transportChannels } from './diagnostics.js';
import type { ConnectionInfo, Listener, ListenOptions } from './listener.js';
import { toAddress } from './to-address.js';
import { checkUnixPath } from './unix-path.js';

/** Errors of a listening socket after it is up (accept failures such as EMFILE): `{ listener, error }`. */

const DEFAULT_UNIX_SOCKET_MODE = 0o660;

/**
 * Listens on a `unix:` or `tcp:` address and hands each connection to `options.onConnection`.
 *
 * unix: the parent directory must exist (FAILED_PRECONDITION `NO_SUCH_DIRECTORY`); a stale socket file nobody
 * answers on is replaced; a live one is FAILED_PRECONDITION `ADDRESS_IN_USE`; any other file is
 * FAILED_PRECONDITION `PATH_NOT_SOCKET`; a path longer than sun_path is INVALID_ARGUMENT `PATH_TOO_LONG`. The
 * socket file gets mode `unixSocketMode` (default 0o660) and is removed by `close()`.
 *
 * tcp: the host may be an IPv6 literal; port 0 picks a free port, which `listener.address` reports.
 */
export async function listen(address: string | Address, options: ListenOptions): Promise<Listener> {
  const { address: parsed, text } = toAddress(address);
  if (typeof options?.onConnection !== 'function') {
    throw new TypeError('listen() expects options.onConnection to be a function');
  }
  const mode = options.unixSocketMode ?? DEFAULT_UNIX_SOCKET_MODE;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new RangeError(`listen() expects unixSocketMode to be permission bits from 0 to 0o777, got ${mode}`);
  }
  const context = `Cannot listen on ${text}`;
  const { signal } = options;
  if (signal?.aborted) throw abortedError(`Listening on ${text}`, signal.reason);
  let listener: NetListener;
  switch (parsed.scheme) {
    case 'unix':
      listener = await listenUnix(parsed.path, text, context, mode, options);
      break;
    case 'tcp':
      listener = await listenTcp(parsed.host, parsed.port, context, options);
      break;
    case 'vsock':
      throw new FerryError(
        Code.UNIMPLEMENTED,
        `${context}: the host side of Firecracker hybrid vsock is a unix socket; listen on unix://<uds_path>_<port> (see hybridVsockPath())`,
        { reason: 'VSOCK_LISTEN_UNSUPPORTED' },
      );
    case 'local':
    case 'memory':
      throw new FerryError(
        Code.INVALID_ARGUMENT,
        `${context}: ${parsed.scheme}: addresses are in process; ${parsed.scheme === 'memory' ? 'use createMemoryNetwork().listen()' : 'there is nothing to listen on'}`,
        { reason: 'NO_LISTENER' },
      );
  }
  if (signal) {
    if (signal.aborted) {
      await listener.close();
      throw abortedError(`Listening on ${text}`, signal.reason);
    }
    const onAbort = (): void => void listener.close();
    signal.addEventListener('abort', onAbort, { once: true });
    listener.onClose(() => signal.removeEventListener('abort', onAbort));
  }
  return listener;
}

async function listenUnix(
  path: string,
  text: string,
  context: string,
  mode: number,
  options: ListenOptions,
): Promise<NetListener> {
  checkUnixPath(path, context);
  const dir = dirname(path);
  try {
    if (!(await stat(dir)).isDirectory())
      throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
  } catch (error) {
    const sys = (error as NodeJS.ErrnoException).code;
    if (sys === 'ENOENT' || sys === 'ENOTDIR') {
      throw new FerryError(
        Code.FAILED_PRECONDITION,
        `${context}: the directory ${dir} does not exist; create it first`,
        {
          reason: 'NO_SUCH_DIRECTORY',
          cause: error,
        },
      );
    }
    throw listenError(context, error);
  }
  await clearStaleSocket(path, context);
  const server = createServer({ allowHalfOpen: true });
  await bind(server, { path }, context);
  let identity: { readonly dev: number; readonly ino: number };
  try {
    await chmod(path, mode);
    identity = await lstat(path);
  } catch (error) {
    server.close();
    throw listenError(context, error);
  }
  return new NetListener(server, text, options, { path, dev: identity.dev, ino: identity.ino });
}

async function listenTcp(host: string, port: number, context: string, options: ListenOptions): Promise<NetListener> {
  const server = createServer({ allowHalfOpen: true });
  await bind(server, { host, port }, context);
  const bound = server.address();
  const text =
    typeof bound === 'object' && bound !== null
      ? `tcp://${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`
      : `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new NetListener(server, text, options, undefined);
}

/** Removes a socket file nobody answers on; refuses a live socket or a file that is not a socket. */
async function clearStaleSocket(path: string, context: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw listenError(context, error);
  }
  if (!isSocket) {
    throw new FerryError(
      Code.FAILED_PRECONDITION,
      `${context}: ${path} exists and is not a socket; remove it or choose another path`,
      { reason: 'PATH_NOT_SOCKET' },
    );
  }
  if (await answers(path, context)) {
    throw new FerryError(Code.FAILED_PRECONDITION, `${context}: another process is listening on ${path}`, {
      reason: 'ADDRESS_IN_USE',
    });
  }
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw listenError(context, error);
  }
}

/** Whether something accepts connections on the unix socket at `path` (the probe connection is closed at once). */
function answers(path: string, context: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe: Socket = createConnection({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => {
      probe.destroy();
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve(false);
      else if (error.code === 'EAGAIN')
        resolve(true); // a live listener with a full backlog
      else reject(listenError(context, error));
    });
  });
}

function bind(server: Server, listenOptions: NetListenOptions, context: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(listenError(context, error));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(listenOptions);
  });
}

class NetListener implements Listener {
  readonly address: string;
  readonly #server: Server;
  readonly #unixFile: { readonly path: string; readonly dev: number; readonly ino: number } | undefined;
  readonly #onCloseCallbacks: Array<() => void> = [];
  #closing: Promise<void> | undefined;
  #peers = 0;

  constructor(
    server: Server,
    address: string,
    options: ListenOptions,
    unixFile: { readonly path: string; readonly dev: number; readonly ino: number } | undefined,
  ) {
    this.address = address;
    this.#server = server;
    this.#unixFile = unixFile;
    const { onConnection } = options;
    server.on('connection', (socket: Socket) => onConnection(socket, this.#describe(socket)));
    server.on('error', (error: Error) => transportChannels.listenerError.publish({ listener: address, error }));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Runs `callback` once, when close() starts. */
  onClose(callback: () => void): void {
    if (this.#closing) callback();
    else this.#onCloseCallbacks.push(callback);
  }

  async #close(): Promise<void> {
    for (const callback of this.#onCloseCallbacks.splice(0)) callback();
    // Closes the listening socket now; accepted connections are left alone (close's callback would wait for them).
    this.#server.close();
    const file = this.#unixFile;
    if (!file) return;
    // libuv unlinks the path it bound when the handle closes (by path: a file that replaced ours goes too). In
    // case a libuv does not, remove it here, but only if it is still the socket this listener created.
    try {
      const now = await lstat(file.path);
      if (now.dev === file.dev && now.ino === file.ino) await unlink(file.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw listenError(`Cannot close ${this.address}`, error);
    }
  }

  #describe(socket: Socket): ConnectionInfo {
    this.#peers += 1;
    if (this.#unixFile) return { listener: this.address, remote: `unix peer #${this.#peers}` };
    socket.setNoDelay(true);
    const host = socket.remoteAddress;
    const remote =
      host === undefined
        ? `tcp peer #${this.#peers}`
        : `tcp://${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
    return { listener: this.address, remote };
  }
}
