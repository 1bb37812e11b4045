import type { Duplex } from 'node:stream';
import { Code, FerryError } from '@ferry/core';
import {
  createFrameDecoder,
  decodeResponse,
  type EncodableMessage,
  encodeRequestFrame,
  errorFromStatus,
  MessageType,
} from '@ferry/protocol';

export interface TtrpcConnectionOptions {
  /** Describes the peer in error messages. */
  readonly address: string;
  readonly maxFrameBytes: number;
  readonly maxInflight: number;
  /** Called once when the connection is gone. */
  readonly onClose: () => void;
}

export interface UnaryCall {
  readonly service: string;
  readonly method: string;
  readonly body: EncodableMessage;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

interface Pending {
  resolve: (payload: Uint8Array) => void;
  reject: (error: FerryError) => void;
}

const MAX_STREAM_ID = 0x7fff_ffff;

/**
 * One ttrpc client connection: odd, increasing stream ids; many unary calls in flight; deadlines
 * sent as `timeout_nano` and enforced here too.
 */
export class TtrpcConnection {
  readonly #socket: Duplex;
  readonly #options: TtrpcConnectionOptions;
  readonly #pending = new Map<number, Pending>();
  readonly #frameLimit: { readonly maxFrameBytes: number };
  #nextStreamId = 1;
  #closed = false;
  #closing = false;
  #drained: (() => void) | undefined;

  constructor(socket: Duplex, options: TtrpcConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#frameLimit = { maxFrameBytes: options.maxFrameBytes };
    const decoder = createFrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    socket.on('data', (chunk: Buffer) => {
      let frames: ReturnType<typeof decoder.push>;
      try {
        frames = decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (error) {
        this.#fail(FerryError.from(error));
        return;
      }
      for (const frame of frames) {
        if (frame.type !== MessageType.RESPONSE) continue;
        this.#settle(frame.streamId, frame.payload);
      }
    });
    socket.on('error', (error) => this.#fail(this.#unavailable(error)));
    socket.on('close', () => this.#fail(this.#unavailable()));
    // The agent ended its side: no answer will come for what is pending.
    socket.on('end', () => this.#fail(this.#unavailable()));
  }

  get closed(): boolean {
    return this.#closed || this.#closing;
  }

  get inflight(): number {
    return this.#pending.size;
  }

  call(call: UnaryCall): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(this.#unavailable());
    if (this.#pending.size >= this.#options.maxInflight) {
      return Promise.reject(
        new FerryError(
          Code.RESOURCE_EXHAUSTED,
          `${this.#pending.size} calls already in flight to ${this.#options.address}`,
          {
            reason: 'TOO_MANY_INFLIGHT',
          },
        ),
      );
    }
    if (call.signal?.aborted) return Promise.reject(FerryError.from(call.signal.reason, Code.CANCELLED));
    const streamId = this.#takeStreamId();
    let frame: Uint8Array;
    try {
      // Header, ttrpc envelope and message sized first, then written into one buffer.
      frame = encodeRequestFrame(
        streamId,
        {
          service: call.service,
          method: call.method,
          ...(call.timeoutMs === undefined ? {} : { timeoutNano: BigInt(Math.ceil(call.timeoutMs * 1e6)) }),
        },
        call.body,
        this.#frameLimit,
      );
    } catch (error) {
      return Promise.reject(FerryError.from(error, Code.INVALID_ARGUMENT));
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => done(FerryError.from(call.signal?.reason, Code.CANCELLED));
      const done = (error: FerryError | undefined, payload?: Uint8Array) => {
        if (!this.#pending.delete(streamId)) return;
        clearTimeout(timer);
        call.signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(payload as Uint8Array);
        if (this.#pending.size === 0) this.#drained?.();
      };
      this.#pending.set(streamId, { resolve: (p) => done(undefined, p), reject: (e) => done(e) });
      if (call.timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            done(
              new FerryError(Code.DEADLINE_EXCEEDED, `${call.method} did not finish within ${call.timeoutMs} ms`, {
                reason: 'DEADLINE_EXCEEDED',
              }),
            ),
          call.timeoutMs,
        );
      }
      call.signal?.addEventListener('abort', onAbort, { once: true });
      this.#socket.write(frame);
    });
  }

  /** Waits for the calls in flight, then ends the stream. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    if (this.#pending.size > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    this.#socket.end();
    this.#fail(this.#unavailable());
  }

  destroy(error?: FerryError): void {
    this.#fail(error ?? new FerryError(Code.CANCELLED, 'Client destroyed', { reason: 'CLIENT_DESTROYED' }));
  }

  #takeStreamId(): number {
    let id = this.#nextStreamId;
    while (this.#pending.has(id)) id = id + 2 > MAX_STREAM_ID ? 1 : id + 2;
    this.#nextStreamId = id + 2 > MAX_STREAM_ID ? 1 : id + 2;
    return id;
  }

  #settle(streamId: number, payload: Uint8Array): void {
    const pending = this.#pending.get(streamId);
    if (!pending) return; // cancelled or timed out locally; the late answer is dropped
    let response: ReturnType<typeof decodeResponse>;
    try {
      response = decodeResponse(payload);
    } catch (error) {
      pending.reject(
        new FerryError(Code.INTERNAL, `Malformed response from ${this.#options.address}`, {
          reason: 'MALFORMED_RESPONSE',
          cause: error,
        }),
      );
      return;
    }
    if (response.status.code === Code.OK) {
      pending.resolve(response.payload);
      return;
    }
    pending.reject(errorFromStatus(response.status));
    // The agent closes a connection after an oversized frame: send nothing more on it.
    if (response.status.reason === 'FRAME_TOO_LARGE') this.#retire();
  }

  /** Takes no new calls; the next call of the client opens a new connection. */
  #retire(): void {
    if (this.#closing || this.#closed) return;
    this.#closing = true;
    this.#options.onClose();
  }

  #unavailable(cause?: Error): FerryError {
    const detail = cause ? `: ${cause.message}` : '';
    return new FerryError(Code.UNAVAILABLE, `Connection to ${this.#options.address} closed${detail}`, {
      reason: 'CONNECTION_CLOSED',
      cause,
    });
  }

  #fail(error: FerryError): void {
    if (!this.#closed) {
      this.#closed = true;
      if (!this.#closing) this.#options.onClose();
    }
    for (const pending of [...this.#pending.values()]) pending.reject(error);
    this.#drained?.();
    if (!this.#socket.destroyed) this.#socket.destroy();
  }
}
