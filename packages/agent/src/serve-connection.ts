import type { Duplex } from 'node:stream';
import { Code, FerryError } from '@ferry/core';
import {
  createFrameDecoder,
  decodeMessage,
  decodeRequest,
  encodeResponseFrame,
  encodeResponseFrameParts,
  FrameTooLargeError,
  MessageType,
  statusFromError,
  toEncodable,
} from '@ferry/protocol';
import { createOutbox } from '@ferry/transport';
import type { AgentServices, MethodHandler } from './accelerator-service.js';
import { agentChannels, type OpReport } from './diagnostics.js';
import type { AgentLimits } from './limits.js';
import type { Tenant } from './tenant.js';

const { callStart, callEnd, connectionClose, connectionStalled } = agentChannels;

export interface ServedConnection {
  readonly tenant: Tenant;
  readonly inflight: number;
  /** Resolves when the connection has closed and its sessions are released. */
  readonly closed: Promise<void>;
  /** Refuses new calls (UNAVAILABLE) and resolves once the calls in flight have answered. */
  drain(): Promise<void>;
  /** Ends the stream after what was written has been flushed; cuts it off if the peer lingers. */
  end(): void;
  destroy(): void;
}

export interface ServeOptions {
  readonly tenant: Tenant;
  readonly services: AgentServices;
  /** `service/method` → handler. */
  readonly handlers: ReadonlyMap<string, MethodHandler>;
}

/** Serves ttrpc calls on one accepted stream until it closes. */
export function serveConnection(socket: Duplex, options: ServeOptions): ServedConnection {
  const { tenant, services, handlers } = options;
  const byService = handlerIndex(handlers);
  const { limits } = services;
  const frameLimit = { maxFrameBytes: limits.maxFrameBytes };
  const decoder = createFrameDecoder(frameLimit);
  /** Per stream in flight: its abort controller, made only when a handler asks for the signal. */
  const inflight = new Map<number, { controller?: AbortController }>();
  let draining = false;
  let onDrained: (() => void) | undefined;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const owner = {};

  // Answers made in the same tick leave together: small frames copied into one buffer and written once (under
  // pipelined load one syscall carries many, with none of the stream's per-write bookkeeping), frames in
  // parts (scatter/gather: tensor data as buffers of their own) in one writev.
  const outbox = createOutbox(socket);
  const send = (frame: Uint8Array | readonly Uint8Array[]) => {
    if (socket.destroyed || socket.writableEnded) return;
    outbox.add(frame);
  };

  const errorFrame = (streamId: number, error: unknown) =>
    encodeResponseFrame(streamId, { status: statusFromError(error) }, undefined, frameLimit);
  const sendError = (streamId: number, error: unknown) => send(errorFrame(streamId, error));

  /** A peer that breaks the protocol loses its connection, nothing else. */
  let abandoned = false;
  const abandon = (streamId: number | undefined, error: FerryError) => {
    if (abandoned) return;
    abandoned = true;
    if (streamId !== undefined) sendError(streamId, error);
    outbox.flush();
    socket.end();
    // A peer that does not finish the close in time is cut off.
    setTimeout(() => socket.destroy(), limits.abandonLingerMs).unref();
  };

  const finish = (streamId: number) => {
    if (inflight.delete(streamId)) tenant.endCall();
    if (draining && inflight.size === 0) onDrained?.();
  };

  const dispatch = async (streamId: number, payload: Uint8Array) => {
    let request: ReturnType<typeof decodeRequest>;
    try {
      request = decodeRequest(payload);
    } catch (error) {
      abandon(undefined, FerryError.from(error));
      return;
    }
    const handler = byService.get(request.service)?.get(request.method);
    if (!handler) {
      const key = `${request.service}/${request.method}`;
      sendError(
        streamId,
        new FerryError(Code.UNIMPLEMENTED, `Method ${key} is not served here`, { reason: 'UNKNOWN_METHOD' }),
      );
      return;
    }
    if (draining) {
      sendError(streamId, new FerryError(Code.UNAVAILABLE, 'The agent is shutting down', { reason: 'AGENT_CLOSING' }));
      return;
    }
    if (inflight.size >= limits.maxInflightPerConnection) {
      sendError(
        streamId,
        new FerryError(
          Code.RESOURCE_EXHAUSTED,
          `${inflight.size} calls already in flight on this connection (limit ${limits.maxInflightPerConnection})`,
          { reason: 'TOO_MANY_INFLIGHT' },
        ),
      );
      return;
    }
    if (inflight.has(streamId)) {
      abandon(
        streamId,
        new FerryError(Code.INVALID_ARGUMENT, `Stream ${streamId} is already in use`, { reason: 'STREAM_IN_USE' }),
      );
      return;
    }
    const refusal = tenant.admitCall();
    if (refusal) {
      sendError(streamId, refusal);
      return;
    }
    // Creating an AbortSignal costs more than a whole Noop: only calls that wait on one get it.
    const call: { controller?: AbortController } = {};
    inflight.set(streamId, call);
    const abort = (reason: FerryError) => call.controller?.abort(reason);
    const report: OpReport = {};
    const context = {
      report,
      tenant,
      owner,
      services,
      get signal() {
        call.controller ??= new AbortController();
        return call.controller.signal;
      },
    };
    const started = performance.now();
    if (callStart.hasSubscribers) callStart.publish({ tenant: tenant.name, method: request.method, streamId });
    // Exactly one answer per stream: the handler's, or the deadline's if that comes first.
    let answered = false;
    const answer = (frame: Uint8Array | readonly Uint8Array[], code: number) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      send(frame);
      finish(streamId);
      if (callEnd.hasSubscribers) {
        callEnd.publish({
          tenant: tenant.name,
          method: request.method,
          streamId,
          code,
          durationMs: performance.now() - started,
          inference: handler.runsModel,
          ...report,
        });
      }
    };
    const fail = (error: unknown) => {
      const failure = toGuestError(error);
      const status = handler.status?.(failure) ?? statusFromError(failure);
      answer(encodeResponseFrame(streamId, { status }, undefined, frameLimit), failure.code);
    };
    const requestedMs = request.timeoutNano > 0n ? Number(request.timeoutNano / 1_000_000n) : Number.POSITIVE_INFINITY;
    const deadlineMs = Math.max(1, Math.min(requestedMs, limits.maxDeadlineMs));
    const timer = setTimeout(() => {
      const error = new FerryError(Code.DEADLINE_EXCEEDED, `${request.method} exceeded its ${deadlineMs} ms deadline`, {
        reason: 'DEADLINE_EXCEEDED',
      });
      abort(error);
      fail(error);
    }, deadlineMs);
    try {
      const input = decodeMessage(handler.method.input, request.payload);
      const output = await handler.handle(input, context);
      let frame: Uint8Array | Uint8Array[];
      try {
        frame = encodeResponseFrameParts(streamId, {}, toEncodable(handler.method.output, output as never), frameLimit);
      } catch (error) {
        if (!(error instanceof FrameTooLargeError)) throw error;
        throw new FerryError(
          Code.RESOURCE_EXHAUSTED,
          `The ${request.method} response of ${error.length} bytes exceeds the ${limits.maxFrameBytes}-byte frame limit`,
          { reason: 'RESPONSE_TOO_LARGE' },
        );
      }
      answer(frame, Code.OK);
    } catch (error) {
      fail(error);
    }
  };

  // Slowloris: a peer that stops in the middle of a frame holds a partial buffer (at most maxFrameBytes);
  // after maxFrameStallMs without a byte it loses the connection. Between frames it may idle for hours.
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  const watchStall = () => {
    if (decoder.buffered === 0) {
      clearTimeout(stallTimer);
      stallTimer = undefined;
    } else if (stallTimer) {
      stallTimer.refresh();
    } else {
      stallTimer = setTimeout(() => {
        if (connectionStalled.hasSubscribers) {
          connectionStalled.publish({ tenant: tenant.name, bufferedBytes: decoder.buffered });
        }
        socket.destroy();
      }, limits.maxFrameStallMs).unref();
    }
  };

  // A guest that does not read its answers stops being read: once more than one largest frame of answers
  // waits in the socket's buffer, the agent reads nothing more from it until the buffer drains. Without
  // this, Noops whose echoes nobody reads grew the agent's memory without bound.
  const resume = () => socket.resume();
  socket.on('data', (chunk: Buffer) => {
    if (abandoned) return;
    if (socket.writableLength > limits.maxFrameBytes) {
      socket.pause();
      socket.once('drain', resume);
    }
    let frames: ReturnType<typeof decoder.push>;
    try {
      // A plain Uint8Array view, so that payloads and tensor data are not Buffers (whose `slice` is a view).
      frames = decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (error) {
      abandon(error instanceof FrameTooLargeError ? error.streamId : undefined, FerryError.from(error));
      return;
    }
    watchStall();
    for (const frame of frames) {
      if (abandoned) return;
      if (frame.type !== MessageType.REQUEST || frame.streamId % 2 === 0) {
        abandon(
          undefined,
          new FerryError(Code.INVALID_ARGUMENT, 'Protocol violation', { reason: 'PROTOCOL_VIOLATION' }),
        );
        return;
      }
      void dispatch(frame.streamId, frame.payload);
    }
  });
  socket.on('end', () => {
    outbox.flush();
    socket.end();
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    clearTimeout(stallTimer);
    for (const call of inflight.values()) {
      call.controller?.abort(new FerryError(Code.CANCELLED, 'The connection closed', { reason: 'CONNECTION_CLOSED' }));
    }
    if (connectionClose.hasSubscribers) connectionClose.publish({ tenant: tenant.name });
    tenant
      .releaseOwner(owner)
      .catch(() => {})
      .finally(resolveClosed);
  });

  return {
    tenant,
    get inflight() {
      return inflight.size;
    },
    closed,
    drain() {
      draining = true;
      if (inflight.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => (onDrained = resolve));
    },
    end() {
      outbox.flush();
      socket.end();
      setTimeout(() => socket.destroy(), limits.closeLingerMs).unref();
    },
    destroy() {
      socket.destroy();
    },
  };
}

/** `service/method` keys split in two, so that a call looks its handler up without building a string. */
const handlerIndexes = new WeakMap<ReadonlyMap<string, MethodHandler>, Map<string, Map<string, MethodHandler>>>();

function handlerIndex(handlers: ReadonlyMap<string, MethodHandler>): Map<string, Map<string, MethodHandler>> {
  let index = handlerIndexes.get(handlers);
  if (!index) {
    index = new Map();
    for (const [key, handler] of handlers) {
      const slash = key.lastIndexOf('/');
      const service = key.slice(0, slash);
      const methods = index.get(service) ?? new Map<string, MethodHandler>();
      index.set(service, methods);
      methods.set(key.slice(slash + 1), handler);
    }
    handlerIndexes.set(handlers, index);
  }
  return index;
}

/**
 * What a guest may learn of a failure: FerryErrors as they are, anything else (a host file system
 * error, a bug) as a bare INTERNAL without host details.
 */
function toGuestError(error: unknown): FerryError {
  if (error instanceof FerryError) return error;
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))
    return FerryError.from(error);
  return new FerryError(Code.INTERNAL, 'Internal error in the agent', { reason: 'INTERNAL', cause: error });
}

/**
 * Answers the first request of a connection the agent will not serve (a limit) with `error`, then
 * closes it: the guest learns why instead of seeing the connection drop.
 */
export function refuseConnection(
  socket: Duplex,
  error: FerryError,
  limits: Pick<AgentLimits, 'maxFrameBytes' | 'refuseLingerMs'>,
): void {
  const decoder = createFrameDecoder({ maxFrameBytes: limits.maxFrameBytes });
  const cutOff = setTimeout(() => socket.destroy(), limits.refuseLingerMs).unref();
  socket.on('error', () => socket.destroy());
  socket.on('close', () => clearTimeout(cutOff));
  socket.on('data', (chunk: Buffer) => {
    let frames: ReturnType<typeof decoder.push>;
    try {
      frames = decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch {
      socket.destroy();
      return;
    }
    const first = frames[0];
    if (!first) return;
    socket.removeAllListeners('data');
    socket.end(
      encodeResponseFrame(first.streamId, { status: statusFromError(error) }, undefined, {
        maxFrameBytes: limits.maxFrameBytes,
      }),
    );
  });
}
