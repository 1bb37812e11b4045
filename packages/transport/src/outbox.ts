import type { Duplex } from 'node:stream';

/**
 * What a ttrpc peer writes: frames made in the same tick leave together on the next one. Small frames are
 * copied into one buffer and written once (under pipelined load one syscall carries many, with none of the
 * stream's per-write bookkeeping); when a frame comes in parts (scatter/gather: tensor data as buffers of
 * their own), everything goes in one writev. Call {@link Outbox.flush} before ending the stream.
 */
export interface Outbox {
  /** Queues a frame, whole or in parts (written in order, never copied). */
  add(frame: Uint8Array | readonly Uint8Array[]): void;
  /** Writes what waits now (before the stream is ended). */
  flush(): void;
}

export function createOutbox(socket: Duplex): Outbox {
  let parts: Uint8Array[] = [];
  let bytes = 0;
  let gathered = false;
  const flush = () => {
    if (parts.length === 0) return;
    const out = parts;
    parts = [];
    const total = bytes;
    bytes = 0;
    const many = gathered;
    gathered = false;
    if (socket.destroyed || socket.writableEnded) return;
    if (out.length === 1) {
      socket.write(out[0] as Uint8Array);
    } else if (!many) {
      socket.write(Buffer.concat(out, total));
    } else {
      socket.cork();
      for (const part of out) socket.write(part);
      socket.uncork();
    }
  };
  return {
    add(frame) {
      if (parts.length === 0) process.nextTick(flush);
      if (frame instanceof Uint8Array) {
        parts.push(frame);
        bytes += frame.byteLength;
      } else {
        for (const part of frame) parts.push(part);
        gathered = true;
      }
    },
    flush,
  };
}
