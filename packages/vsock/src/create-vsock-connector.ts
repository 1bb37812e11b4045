import { Code, FerryError, fromSystemError } from '@ferry/core';
import { type Address, type Connector, formatAddress } from '@ferry/transport';
import { loadAddon } from './load-addon.js';
import { VsockStream } from './vsock-stream.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Whether this process can open AF_VSOCK connections: the addon built and loaded. */
export function vsockAvailable(): { readonly ok: boolean; readonly reason?: string } {
  const { error } = loadAddon();
  return error ? { ok: false, reason: error.message } : { ok: true };
}

/**
 * The `vsock` connector for a guest: `createClient({ address: 'vsock://2:2048', connectors: { vsock:
 * createVsockConnector() } })`. Under Firecracker the host side of CID 2 is the hybrid-vsock unix socket
 * `<uds>_<port>` the agent listens on.
 */
export function createVsockConnector(): Connector {
  return {
    async connect(address: Address, options = {}) {
      if (address.scheme !== 'vsock') {
        throw new TypeError(`The vsock connector cannot reach ${formatAddress(address)}`);
      }
      const text = formatAddress(address);
      const { addon, error } = loadAddon();
      if (!addon) {
        throw new FerryError(
          Code.UNAVAILABLE,
          `Cannot connect to ${text}: the @ferry/vsock addon is not built (${error?.message}); run npm install with a C compiler`,
          { reason: 'VSOCK_UNSUPPORTED', cause: error },
        );
      }
      options.signal?.throwIfAborted();
      const timeoutMs = Math.max(1, Math.min(options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 0x7fff_ffff));
      let fd: number;
      try {
        fd = await addon.connect(address.cid, address.port, timeoutMs);
      } catch (cause) {
        throw connectError(cause, text, timeoutMs);
      }
      const stream = new VsockStream(fd, addon);
      if (options.signal?.aborted) {
        stream.destroy();
        options.signal.throwIfAborted();
      }
      return stream;
    },
  };
}

/** The FerryError for a failed AF_VSOCK connect, from the errno the addon reports. */
export function connectError(cause: unknown, text: string, timeoutMs: number): FerryError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'ENODEV' || code === 'EAFNOSUPPORT') {
    return new FerryError(Code.UNAVAILABLE, `Cannot connect to ${text}: this machine has no vsock device (${code})`, {
      reason: 'NO_VSOCK_DEVICE',
      cause,
    });
  }
  if (code === 'EPERM') {
    // The runtime default seccomp profile refuses socket(AF_VSOCK) with EPERM; under Kata with guest
    // seccomp enabled it applies inside the microVM.
    return new FerryError(
      Code.PERMISSION_DENIED,
      `Cannot connect to ${text}: socket(AF_VSOCK) was refused with EPERM. The container's seccomp profile blocks address family 40 (AF_VSOCK): RuntimeDefault does, and Kata applies it inside the guest when disable_guest_seccomp = false. Use the Localhost profile that adds AF_VSOCK (ferry webhook --seccomp-profile; see docs/deployment.md)`,
      { reason: 'VSOCK_BLOCKED_BY_SECCOMP', cause },
    );
  }
  // Nothing listens on that port: the vsock transports (virtio, loopback, Firecracker's hybrid vsock) answer the
  // connection request with a reset, so connect(2) fails ECONNRESET where TCP would say ECONNREFUSED. It is the
  // same condition for a caller (retry later), so it gets the same reason. Seen in a real guest: test/vm.
  if (code === 'ECONNRESET' || code === 'ECONNREFUSED') {
    return new FerryError(Code.UNAVAILABLE, `Cannot connect to ${text}: nothing listens there (${code})`, {
      reason: 'CONNECTION_REFUSED',
      cause,
    });
  }
  if (code === 'ETIMEDOUT') {
    return new FerryError(Code.DEADLINE_EXCEEDED, `Cannot connect to ${text} within ${timeoutMs} ms`, {
      reason: 'CONNECT_TIMEOUT',
      cause,
    });
  }
  return (
    fromSystemError(cause as Error, `Cannot connect to ${text}`) ??
    new FerryError(Code.UNAVAILABLE, `Cannot connect to ${text}: ${(cause as Error).message}`, {
      reason: 'CONNECT_FAILED',
      cause,
    })
  );
}
