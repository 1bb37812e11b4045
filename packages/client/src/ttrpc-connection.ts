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
import { createOutbox, type Outbox } from '@ferry/transport';

export interface TtrpcConnectionOptions {
  /** Describes the peer in error messages. */
  readonly address: string;
  readonly maxFrameBytes: number;
  /** Calls sent and not yet answered, at most; the agent's own limit (see {@link TtrpcConnection.window}) caps it. */
  readonly maxInflight: number;
  /** Calls held here while the window is full; beyond it calls fail RESOURCE_EXHAUSTED `CLIENT_QUEUE_FULL`. */
  readonly maxQueued: number;
  /** Called once when the connection is gone. */
  readonly onClose: () => void;
  /** Called once, the first time a call has to wait for the window: a moment to learn the agent's limit. */
  readonly onFirstQueued?: () => void;
}

export interface UnaryCall {
  readonly service: string;
  readonly method: string;
  readonly body: EncodableMessage;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Sent at once even when the window is full, and never queued or retried (learning the limit). */
  readonly bypassWindow?: boolean;
}

interface Outgoing {
  readonly call: UnaryCall;
  /** `performance.now()` by which the call must be answered. */
  readonly deadline: number | undefined;
  readonly resolve: (payload: Uint8Array) => void;
  readonly reject: (error: FerryError) => void;
  state: 'new' | 'queued' | 'sent' | 'done';
  streamId: number;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
}

const MAX_STREAM_ID = 0x7fff_ffff;
/** Calls sent before the agent's limit is known: the agent's default `maxInflightPerConnection`. */
const INITIAL_WINDOW = 64;

/**
 * One ttrpc client connection: odd, increasing stream ids; many unary calls in flight; deadlines
 * sent as `timeout_nano` and enforced here too.
 *
 * At most {@link window} calls are sent and unanswered at once, like an HTTP/2 client under
 * `MAX_CONCURRENT_STREAMS`; further calls wait here, in order, in a bounded queue, each still under its
 * own deadline and signal (a call that times out or is aborted while queued is never sent). The window
 * starts at the agent's default limit; the client sets it from `ServerInfo`, and a call the agent
 * refuses with `TOO_MANY_INFLIGHT` (refused before it ran) narrows it and goes back to the queue's head.
 */
export class TtrpcConnection {
  readonly #socket: Duplex;
  readonly #outbox: Outbox;
  readonly #options: TtrpcConnectionOptions;
  readonly #pending = new Map<number, Outgoing>();
  readonly #frameLimit: { readonly maxFrameBytes: number };
  readonly #queue: (Outgoing | undefined)[] = [];
  #queueHead = 0;
  #queued = 0;
  #window: number;
  #askedLimit = false;
  #nextStreamId = 1;
  #closed = false;
  #closing = false;
  #drained: (() => void) | undefined;

  constructor(socket: Duplex, options: TtrpcConnectionOptions) {
    this.#socket = socket;
    this.#outbox = createOutbox(socket);
    this.#options = options;
    this.#window = Math.min(options.maxInflight, INITIAL_WINDOW);
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

  /** Calls sent and not yet answered. */
  get inflight(): number {
    return this.#pending.size;
  }

  /** Calls waiting for the window. */
  get queued(): number {
    return this.#queued;
  }

  /** Calls sent at once, at most: the client's `maxInflight` capped by the agent's limit. */
  get window(): number {
    return this.#window;
  }

  /** Sets the window from the agent's per-connection limit (`ServerInfo.maxInflight`). */
  set window(agentLimit: number) {
    if (!Number.isSafeInteger(agentLimit) || agentLimit < 1) return;
    this.#window = Math.min(this.#options.maxInflight, agentLimit);
    this.#pump();
  }

  call(call: UnaryCall): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(this.#unavailable());
    if (call.signal?.aborted) return Promise.reject(FerryError.from(call.signal.reason, Code.CANCELLED));
    return new Promise<Uint8Array>((resolve, reject) => {
      const entry: Outgoing = {
        call,
        deadline: call.timeoutMs === undefined ? undefined : performance.now() + call.timeoutMs,
        resolve,
        reject,
        state: 'new',
        streamId: 0,
        timer: undefined,
        onAbort: undefined,
      };
      if (call.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => this.#finish(entry, this.#deadlineExceeded(call)), call.timeoutMs);
      }
      if (call.signal) {
        const signal = call.signal;
        entry.onAbort = () => this.#finish(entry, FerryError.from(signal.reason, Code.CANCELLED));
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      if (call.bypassWindow || (this.#pending.size < this.#window && this.#queued === 0)) {
        this.#send(entry);
        return;
      }
      if (this.#queued >= this.#options.maxQueued) {
        this.#finish(
          entry,
          new FerryError(
            Code.RESOURCE_EXHAUSTED,
            `${this.#pending.size} calls in flight to ${this.#options.address} (its limit) and ${this.#queued} waiting (limit ${this.#options.maxQueued})`,
            { reason: this.#options.maxQueued === 0 ? 'TOO_MANY_INFLIGHT' : 'CLIENT_QUEUE_FULL' },
          ),
        );
        return;
      }
      this.#enqueue(entry, false);
    });
  }

  /** Waits for the calls in flight and queued, then ends the stream. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    if (this.#pending.size > 0 || this.#queued > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    this.#outbox.flush();
    this.#socket.end();
    this.#fail(this.#unavailable());
  }

  destroy(error?: FerryError): void {
    this.#fail(error ?? new FerryError(Code.CANCELLED, 'Client destroyed', { reason: 'CLIENT_DESTROYED' }));
  }

  #enqueue(entry: Outgoing, atHead: boolean): void {
    entry.state = 'queued';
    if (atHead && this.#queueHead > 0) this.#queue[--this.#queueHead] = entry;
    else if (atHead) this.#queue.unshift(entry);
    else this.#queue.push(entry);
    this.#queued++;
    if (!this.#askedLimit) {
      this.#askedLimit = true;
      this.#options.onFirstQueued?.();
    }
  }

  /** Sends queued calls while the window has room. */
  #pump(): void {
    while (!this.#closed && this.#queued > 0 && this.#pending.size < this.#window) {
      const entry = this.#queue[this.#queueHead];
      this.#queue[this.#queueHead++] = undefined;
      if (this.#queueHead === this.#queue.length || this.#queueHead > 1024) {
        this.#queue.splice(0, this.#queueHead);
        this.#queueHead = 0;
      }
      if (entry?.state !== 'queued') continue;
      this.#queued--;
      this.#send(entry);
    }
  }

  #send(entry: Outgoing): void {
    const { call } = entry;
    let timeoutNano: bigint | undefined;
    if (entry.deadline !== undefined) {
      const remainingMs = entry.deadline - performance.now();
      if (remainingMs <= 0) {
        this.#finish(entry, this.#deadlineExceeded(call));
        return;
      }
      timeoutNano = BigInt(Math.ceil(remainingMs * 1e6));
    }
    const streamId = this.#takeStreamId();
    let frame: Uint8Array;
    try {
      // Header, ttrpc envelope and message sized first, then written into one buffer.
      frame = encodeRequestFrame(
        streamId,
        { service: call.service, method: call.method, ...(timeoutNano === undefined ? {} : { timeoutNano }) },
        call.body,
        this.#frameLimit,
      );
    } catch (error) {
      this.#finish(entry, FerryError.from(error, Code.INVALID_ARGUMENT));
      return;
    }
    entry.state = 'sent';
    entry.streamId = streamId;
    this.#pending.set(streamId, entry);
    // Calls made in the same tick leave together: under pipelined load one syscall carries many.
    this.#outbox.add(frame);
  }

  /** Settles a call once, wherever it is (queued or sent), and lets the next queued call go. */
  #finish(entry: Outgoing, error: FerryError | undefined, payload?: Uint8Array): void {
    if (entry.state === 'done') return;
    if (entry.state === 'sent') this.#pending.delete(entry.streamId);
    else if (entry.state === 'queued') this.#queued--;
    entry.state = 'done';
    clearTimeout(entry.timer);
    if (entry.onAbort) entry.call.signal?.removeEventListener('abort', entry.onAbort);
    if (error) entry.reject(error);
    else entry.resolve(payload as Uint8Array);
    this.#pump();
    if (this.#pending.size === 0 && this.#queued === 0) this.#drained?.();
  }

  #deadlineExceeded(call: UnaryCall): FerryError {
    return new FerryError(Code.DEADLINE_EXCEEDED, `${call.method} did not finish within ${call.timeoutMs} ms`, {
      reason: 'DEADLINE_EXCEEDED',
    });
  }

  #takeStreamId(): number {
    let id = this.#nextStreamId;
    while (this.#pending.has(id)) id = id + 2 > MAX_STREAM_ID ? 1 : id + 2;
    this.#nextStreamId = id + 2 > MAX_STREAM_ID ? 1 : id + 2;
    return id;
  }

  #settle(streamId: number, payload: Uint8Array): void {
    const entry = this.#pending.get(streamId);
    if (!entry) return; // cancelled or timed out locally; the late answer is dropped
    let response: ReturnType<typeof decodeResponse>;
    try {
      response = decodeResponse(payload);
    } catch (error) {
      this.#finish(
        entry,
        new FerryError(Code.INTERNAL, `Malformed response from ${this.#options.address}`, {
          reason: 'MALFORMED_RESPONSE',
          cause: error,
        }),
      );
      return;
    }
    if (response.status.code === Code.OK) {
      this.#finish(entry, undefined, response.payload);
      return;
    }
    const error = errorFromStatus(response.status);
    if (
      error.reason === 'TOO_MANY_INFLIGHT' &&
      !entry.call.bypassWindow &&
      this.#options.maxQueued > 0 &&
      this.#pending.size > 1
    ) {
      // Refused before it ran: the agent's limit is below what is in flight. Narrow the window, go again.
      this.#pending.delete(streamId);
      this.#window = Math.max(1, Math.min(this.#window, this.#pending.size));
      this.#enqueue(entry, true);
      this.#pump();
      return;
    }
    this.#finish(entry, error);
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
    for (const entry of [...this.#pending.values()]) this.#finish(entry, error);
    for (const entry of this.#queue.splice(0)) if (entry && entry.state === 'queued') this.#finish(entry, error);
    this.#queueHead = 0;
    this.#drained?.();
    if (!this.#socket.destroyed) this.#socket.destroy();
  }
}
