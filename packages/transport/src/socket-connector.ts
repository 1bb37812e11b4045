import { createConnection, type Socket } from 'node:net';
import type { Address } from './address.js';
import type { ConnectOptions, Connector } from './connector.js';
import { formatAddress } from './format-address.js';
import { checkUnixPath } from './unix-path.js';

/**
 * The built-in connector for `unix:` and `tcp:`. Sockets are half-open capable (`allowHalfOpen`); tcp
 * sockets get `setNoDelay(true)`, since Ferry writes whole frames.
 */
export const socketConnector: Connector = {
  connect: (address, options) => connectSocket(address, options),
};

function connectSocket(address: Address, options: ConnectOptions = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (address.scheme !== 'unix' && address.scheme !== 'tcp') {
      throw new TypeError(`The socket connector takes unix and tcp addresses, not ${formatAddress(address)}`);
    }
    if (address.scheme === 'unix') checkUnixPath(address.path, `Cannot connect to ${formatAddress(address)}`);
    signal?.throwIfAborted();
    const socket =
      address.scheme === 'unix'
        ? createConnection({ path: address.path, allowHalfOpen: true })
        : createConnection({ host: address.host, port: address.port, allowHalfOpen: true });
    const cleanup = (): void => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = (): void => {
      cleanup();
      if (address.scheme === 'tcp') socket.setNoDelay(true);
      resolve(socket);
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(signal?.reason);
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
