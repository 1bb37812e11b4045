import { checkUnixPath } from './unix-path.js';

/**
 * The host unix socket a Firecracker guest reaches when it connects to host CID 2, port `port` over hybrid
 * vsock: `${udsPath}_${port}`. Under Kata, udsPath is `/run/vc/firecracker/<sandbox-id>/root/kata.hvsock`.
 * Throws INVALID_ARGUMENT `PATH_TOO_LONG` when the result does not fit `sun_path`.
 */
export function hybridVsockPath(udsPath: string, port: number): string {
  if (typeof udsPath !== 'string' || udsPath === '') {
    throw new TypeError('hybridVsockPath() expects the Firecracker vsock uds_path as a non-empty string');
  }
  if (!Number.isInteger(port) || port < 0 || port > 0xffff_ffff) {
    throw new RangeError(`hybridVsockPath() expects a vsock port, an integer from 0 to 4294967295; got ${port}`);
  }
  const path = `${udsPath}_${port}`;
  checkUnixPath(path, `Hybrid vsock port ${port} of ${udsPath} does not fit a unix socket`);
  return path;
}
