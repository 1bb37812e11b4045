import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';

/** A client of a raw echo socket: one payload out, the same number of bytes back. */
export async function echoClient(path: string) {
  const socket: Socket = createConnection(path);
  socket.setNoDelay(true);
  await once(socket, 'connect');
  let waiting: { remaining: number; resolve: () => void } | undefined;
  let received = 0;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (!waiting) return;
    waiting.remaining -= chunk.length;
    if (waiting.remaining <= 0) {
      const w = waiting;
      waiting = undefined;
      w.resolve();
    }
  });
  return {
    roundTrip(payload: Uint8Array) {
      return new Promise<void>((resolve) => {
        waiting = { remaining: payload.length, resolve };
        socket.write(payload);
      });
    },
    /** Messages of `size` bytes echoed per second with `depth` outstanding, for `ms`. */
    async pipelined(size: number, depth: number, ms: number): Promise<number> {
      const payload = Buffer.alloc(size, 7);
      const start = received;
      const t0 = performance.now();
      let sent = 0;
      const pump = () => {
        while (sent - (received - start) / size < depth && performance.now() - t0 < ms) {
          socket.write(payload);
          sent++;
        }
      };
      const onData = () => pump();
      socket.on('data', onData);
      pump();
      while (performance.now() - t0 < ms) await new Promise((resolve) => setTimeout(resolve, 20));
      socket.off('data', onData);
      const done = (received - start) / size;
      const elapsed = performance.now() - t0;
      // Let the tail drain before the next use.
      while (received - start < sent * size) await new Promise((resolve) => setTimeout(resolve, 5));
      return (done / elapsed) * 1000;
    },
    close() {
      socket.destroy();
    },
  };
}
