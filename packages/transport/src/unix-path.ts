import { Code, FerryError } from '@ferry/core';

/** The longest unix socket path the kernel takes: `sun_path` holds 108 bytes, the last one the NUL. */
export const MAX_UNIX_PATH_BYTES = 107;

/** Throws INVALID_ARGUMENT `PATH_TOO_LONG` when `path`, as bytes the kernel sees, does not fit `sun_path`. */
export function checkUnixPath(path: string, context: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_UNIX_PATH_BYTES) {
    throw new FerryError(
      Code.INVALID_ARGUMENT,
      `${context}: the socket path ${JSON.stringify(path)} is ${bytes} bytes, longer than the ${MAX_UNIX_PATH_BYTES} bytes sun_path holds (108 with the terminating NUL); use a shorter path`,
      { reason: 'PATH_TOO_LONG' },
    );
  }
}
