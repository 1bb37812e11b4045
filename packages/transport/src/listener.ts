import type { Duplex } from 'node:stream';

export interface ConnectionInfo {
  /** The formatted address of the listener that accepted the connection. */
  readonly listener: string;
  /** The peer, for logs: `tcp://10.0.0.7:51234`, or a numbered peer where the transport has no address. */
  readonly remote: string;
}

export interface ListenOptions {
  /**
   * Receives each accepted connection; it owns the socket from then on. The socket is half-open capable: after
   * its `'end'` it may still write, until it ends or is destroyed. Must not throw.
   */
  readonly onConnection: (socket: Duplex, info: ConnectionInfo) => void;
  /** Aborting closes the listener. */
  readonly signal?: AbortSignal;
  /** Permission bits set on a unix socket file after bind; default `0o660`. */
  readonly unixSocketMode?: number;
}

export interface Listener extends AsyncDisposable {
  /** The formatted address, with the real port when tcp port 0 was asked for. */
  readonly address: string;
  /**
   * Stops accepting. Never touches accepted connections. Removes the unix socket file the listener created.
   * Idempotent: every call returns the same promise.
   */
  close(): Promise<void>;
}
