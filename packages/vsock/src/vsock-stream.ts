import { close, read, write } from 'node:fs';
import { Duplex } from 'node:stream';
import type { VsockAddon } from './load-addon.js';

const READ_BYTES = 64 * 1024;

/**
 * A Duplex over a connected AF_VSOCK fd. libuv cannot wrap an AF_VSOCK socket as a net.Socket, so reads
 * and writes go through the threadpool as plain fd I/O; a guest holds one or two of these connections.
 */
export class VsockStream extends Duplex {
  readonly #fd: number;
  readonly #addon: VsockAddon;
  #reading: Promise<void> | undefined;

  constructor(fd: number, addon: VsockAddon) {
    super({ allowHalfOpen: false });
    this.#fd = fd;
    this.#addon = addon;
  }

  override _read(): void {
    if (this.#reading) return;
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    this.#reading = new Promise<void>((resolve) => {
      read(this.#fd, buffer, 0, READ_BYTES, null, (error, bytesRead) => {
        this.#reading = undefined;
        resolve();
        if (this.destroyed) return;
        if (error) this.destroy(error);
        else if (bytesRead === 0) this.push(null);
        else if (this.push(buffer.subarray(0, bytesRead))) this._read();
      });
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const writeFrom = (offset: number) => {
      write(this.#fd, chunk, offset, chunk.length - offset, null, (error, written) => {
        if (error) callback(error);
        else if (offset + written < chunk.length) writeFrom(offset + written);
        else callback();
      });
    };
    writeFrom(0);
  }

  /** end(): the peer reads EOF while this side keeps reading (a half-close, as a TCP or unix socket does). */
  override _final(callback: (error?: Error | null) => void): void {
    try {
      this.#addon.shutdown(this.#fd, true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#addon.shutdown(this.#fd);
    const pending = this.#reading ?? Promise.resolve();
    void pending.then(() => close(this.#fd, () => callback(error)));
  }
}
