import { Code, FerryError } from '@ferry/core';
import { abortedError } from './connect-errors.js';
import type { Connector } from './connector.js';
import { createDuplexPair } from './create-duplex-pair.js';
import { formatAddress } from './format-address.js';
import type { Listener, ListenOptions } from './listener.js';
import { parseAddress } from './parse-address.js';

/** An in-process network of `memory:name` listeners, for tests and in-process wiring. */
export interface MemoryNetwork {
  /** Connects to `memory:` addresses of this network; pass it as `connectors: { memory: network.connector }`. */
  readonly connector: Connector;
  /** Listens on `memory:<name>`. A name in use is FAILED_PRECONDITION `ADDRESS_IN_USE`. */
  listen(name: string, options: ListenOptions): Promise<Listener>;
}

/** Creates an empty {@link MemoryNetwork}; connections are {@link createDuplexPair} pairs. */
export function createMemoryNetwork(): MemoryNetwork {
  const listeners = new Map<string, MemoryListener>();
  const connector: Connector = {
    async connect(address, options = {}) {
      if (address.scheme !== 'memory') {
        throw new TypeError(`The memory connector takes memory: addresses, not ${formatAddress(address)}`);
      }
      const text = formatAddress(address);
      if (options.signal?.aborted) throw abortedError(`Connecting to ${text}`, options.signal.reason);
      const listener = listeners.get(address.name);
      if (!listener) {
        throw new FerryError(
          Code.UNAVAILABLE,
          `Cannot connect to ${text}: nothing listens on it in this memory network`,
          {
            reason: 'CONNECTION_REFUSED',
          },
        );
      }
      const [client, server] = createDuplexPair();
      listener.accept(server);
      return client;
    },
  };
  return {
    connector,
    async listen(name, options) {
      if (typeof name !== 'string') throw new TypeError('MemoryNetwork.listen() expects a name string');
      if (typeof options?.onConnection !== 'function') {
        throw new TypeError('MemoryNetwork.listen() expects options.onConnection to be a function');
      }
      const text = formatAddress(parseAddress(`memory:${name}`));
      const { signal } = options;
      if (signal?.aborted) throw abortedError(`Listening on ${text}`, signal.reason);
      if (listeners.has(name)) {
        throw new FerryError(Code.FAILED_PRECONDITION, `Cannot listen on ${text}: it is in use`, {
          reason: 'ADDRESS_IN_USE',
        });
      }
      const listener = new MemoryListener(text, options.onConnection, () => {
        if (listeners.get(name) === listener) listeners.delete(name);
        signal?.removeEventListener('abort', onAbort);
      });
      const onAbort = (): void => void listener.close();
      listeners.set(name, listener);
      signal?.addEventListener('abort', onAbort, { once: true });
      return listener;
    },
  };
}

class MemoryListener implements Listener {
  readonly address: string;
  readonly #onConnection: ListenOptions['onConnection'];
  readonly #unregister: () => void;
  #closing: Promise<void> | undefined;
  #peers = 0;

  constructor(address: string, onConnection: ListenOptions['onConnection'], unregister: () => void) {
    this.address = address;
    this.#onConnection = onConnection;
    this.#unregister = unregister;
  }

  accept(socket: ReturnType<typeof createDuplexPair>[number]): void {
    this.#peers += 1;
    this.#onConnection(socket, { listener: this.address, remote: `${this.address}#${this.#peers}` });
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#unregister();
      this.#closing = Promise.resolve();
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
