import { Duplex } from 'node:stream';

type WriteCallback = (error?: Error | null) => void;

/**
 * Two connected in-process Duplex streams that behave like the two ends of a socket: bytes written to one are
 * read from the other; `end()` is a half-close (the peer reads EOF and may keep writing); `destroy()` makes the
 * peer read EOF and fail later writes with EPIPE; a writer waits (backpressure) until the peer reads.
 */
export function createDuplexPair(): [Duplex, Duplex] {
  return DuplexPairEnd.pair();
}

class DuplexPairEnd extends Duplex {
  #peer: DuplexPairEnd | undefined;
  /** Callback of this end's last write, held while the peer's read buffer is full. */
  #pendingWrite: WriteCallback | undefined;
  #sentEof = false;

  static pair(): [DuplexPairEnd, DuplexPairEnd] {
    const a = new DuplexPairEnd({ allowHalfOpen: true });
    const b = new DuplexPairEnd({ allowHalfOpen: true });
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    const peer = this.#peer;
    if (!peer || peer.destroyed) {
      callback(epipe());
      return;
    }
    // Copied: once the callback runs the writer may reuse its buffer, as it may with a socket.
    if (peer.push(Buffer.from(chunk))) callback();
    else this.#pendingWrite = callback;
  }

  override _final(callback: WriteCallback): void {
    this.#sendEof();
    callback();
  }

  override _read(): void {
    const peer = this.#peer;
    const callback = peer === undefined ? undefined : peer.#pendingWrite;
    if (peer && callback) {
      peer.#pendingWrite = undefined;
      callback();
    }
  }

  override _destroy(error: Error | null, callback: WriteCallback): void {
    this.#pendingWrite = undefined;
    this.#sendEof();
    const peer = this.#peer;
    const peerWrite = peer === undefined ? undefined : peer.#pendingWrite;
    if (peer && peerWrite) {
      // The peer's data can no longer be read: its write fails as it would on a reset socket.
      peer.#pendingWrite = undefined;
      peerWrite(epipe());
    }
    callback(error);
  }

  #sendEof(): void {
    const peer = this.#peer;
    if (this.#sentEof || !peer || peer.destroyed) return;
    this.#sentEof = true;
    peer.push(null);
  }
}

function epipe(): Error {
  return Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
}
