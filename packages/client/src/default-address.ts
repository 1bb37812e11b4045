/** The Kata guest default: the host (CID 2), port 2048, reached through Firecracker's hybrid vsock. */
export const DEFAULT_ADDRESS = 'vsock://2:2048';

/**
 * The agent address when none is given: `FERRY_ADDRESS`, then vAccel's `VACCEL_RPC_ADDRESS` and
 * `VACCEL_VSOCK` (so vAccel guests' configuration keeps working), else {@link DEFAULT_ADDRESS}.
 * The one place outside the CLI that reads the environment.
 */
export function defaultAddress(env: Readonly<Record<string, string | undefined>> = process.env): string {
  for (const name of ['FERRY_ADDRESS', 'VACCEL_RPC_ADDRESS', 'VACCEL_VSOCK']) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return DEFAULT_ADDRESS;
}
