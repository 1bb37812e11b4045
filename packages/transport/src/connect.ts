import type { Duplex } from 'node:stream';
import { Code, FerryError } from '@ferry/core';
import type { Address } from './address.js';
import { abortedError, connectError } from './connect-errors.js';
import type { ConnectOptions, Connector, ConnectorMap } from './connector.js';
import { socketConnector } from './socket-connector.js';
import { toAddress } from './to-address.js';

/**
 * Connects to `address`. `unix:` and `tcp:` are built in; `options.connectors` override or add connectors by
 * scheme (`vsock` from @ferry/vsock, `memory` from a {@link MemoryNetwork}, `local`).
 *
 * Failures are FerryErrors naming the address: UNAVAILABLE with the reason of the system error
 * (`CONNECTION_REFUSED`, `NO_SUCH_SOCKET`, …), DEADLINE_EXCEEDED `CONNECT_TIMEOUT` after `timeoutMs`,
 * CANCELLED when `signal` aborts, UNAVAILABLE `VSOCK_UNSUPPORTED` or `NO_CONNECTOR` for a scheme without a
 * connector.
 */
export async function connect(
  address: string | Address,
  options: ConnectOptions & { readonly connectors?: ConnectorMap } = {},
): Promise<Duplex> {
  const { address: parsed, text } = toAddress(address);
  const { signal, timeoutMs, connectors } = options;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) {
    throw new RangeError(`connect() expects timeoutMs to be a positive number of milliseconds, got ${timeoutMs}`);
  }
  const connector = connectors?.[parsed.scheme] ?? builtinConnector(parsed, text);
  if (signal?.aborted) throw abortedError(`Connecting to ${text}`, signal.reason);
  // Everything up to the connector call stays synchronous, so the deadline starts when connect() is called.
  return await new Promise<Duplex>((resolve, reject) => {
    const controller = new AbortController();
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const fail = (error: FerryError): void => {
      if (!settle()) return;
      controller.abort(error);
      reject(error);
    };
    const onAbort = (): void => fail(abortedError(`Connecting to ${text}`, signal?.reason));
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        fail(
          new FerryError(Code.DEADLINE_EXCEEDED, `Cannot connect to ${text}: no connection within ${timeoutMs} ms`, {
            reason: 'CONNECT_TIMEOUT',
          }),
        );
      }, timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<Duplex>;
    try {
      pending = connector.connect(parsed, { signal: controller.signal });
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (socket) => {
        // A connection that arrives after the deadline or the abort is not wanted: close it.
        if (settle()) resolve(socket);
        else socket.destroy();
      },
      (error: unknown) => {
        if (settle()) reject(connectError(text, error));
      },
    );
  });
}

function builtinConnector(address: Address, text: string): Connector {
  switch (address.scheme) {
    case 'unix':
    case 'tcp':
      return socketConnector;
    case 'vsock':
      throw new FerryError(
        Code.UNAVAILABLE,
        `Cannot connect to ${text}: no vsock connector is registered. AF_VSOCK works inside a guest VM, where the @ferry/vsock package provides it (pass it as connectors.vsock); on the host, connect to the hybrid vsock unix socket instead (hybridVsockPath())`,
        { reason: 'VSOCK_UNSUPPORTED' },
      );
    case 'local':
      throw new FerryError(
        Code.UNAVAILABLE,
        `Cannot connect to ${text}: no connector is registered for local:; it runs in process and is wired where the host packages are installed (pass connectors.local)`,
        { reason: 'NO_CONNECTOR' },
      );
    case 'memory':
      throw new FerryError(
        Code.UNAVAILABLE,
        `Cannot connect to ${text}: no connector is registered for memory:; pass connectors: { memory: network.connector } from createMemoryNetwork()`,
        { reason: 'NO_CONNECTOR' },
      );
  }
}
