import { createRequire } from 'node:module';

export interface VsockAddon {
  /** Connects a blocking AF_VSOCK stream socket; resolves with its fd. Errors carry `code` (ECONNREFUSED…). */
  connect(cid: number, port: number, timeoutMs: number): Promise<number>;
  /** shutdown(SHUT_RDWR), which wakes a read blocked on the socket; shutdown(SHUT_WR) when `writeOnly`. */
  shutdown(fd: number, writeOnly?: boolean): void;
}

let loaded: { addon?: VsockAddon; error?: Error } | undefined;

/** The native addon (built by `npm install` with node-gyp), or why it is not there. */
export function loadAddon(): { addon?: VsockAddon; error?: Error } {
  if (!loaded) {
    try {
      // dist/ and src/ both sit beside build/.
      const require = createRequire(import.meta.url);
      loaded = { addon: require('../build/Release/ferry_vsock.node') as VsockAddon };
    } catch (error) {
      loaded = { error: error as Error };
    }
  }
  return loaded;
}
