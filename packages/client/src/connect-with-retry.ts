import type { Duplex } from 'node:stream';
import { Code, FerryError } from '@ferry/core';
import { type ConnectorMap, connect, parseAddress } from '@ferry/transport';

export interface ConnectRetryOptions {
  /** The pause after the first failed attempt; it doubles after each one. Default 25 ms. */
  readonly initialDelayMs?: number;
  /** The longest pause between attempts. Default 500 ms. */
  readonly maxDelayMs?: number;
}

export const CONNECT_RETRY_DEFAULTS = { initialDelayMs: 25, maxDelayMs: 500 } as const;

/**
 * Failures that mean "nothing listens there yet": in the first seconds of a microVM the host agent may not have
 * found its sandbox (no socket file: Firecracker resets the guest's connection), or an agent is restarting.
 */
const NOT_LISTENING_YET: ReadonlySet<string> = new Set(['NO_SUCH_SOCKET', 'CONNECTION_REFUSED', 'CONNECTION_RESET']);

export interface ConnectWithRetryOptions {
  /** The whole budget: attempts and pauses together. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly connectors?: ConnectorMap;
  /** `false`: one attempt, as `connect()`. */
  readonly retry?: ConnectRetryOptions | false;
}

/**
 * Connects to `address`, trying again with exponential backoff while nothing listens there yet, until
 * `timeoutMs` has passed or `signal` aborts. Other failures (no vsock device, a bad path…) are thrown at
 * once. When time runs out the error is UNAVAILABLE `AGENT_NOT_LISTENING`, naming the address and what to
 * check.
 */
export async function connectWithRetry(address: string, options: ConnectWithRetryOptions): Promise<Duplex> {
  const { timeoutMs, signal, connectors, retry } = options;
  const policy = retry === false ? undefined : retry;
  const initialDelayMs = policy?.initialDelayMs ?? CONNECT_RETRY_DEFAULTS.initialDelayMs;
  const maxDelayMs = policy?.maxDelayMs ?? CONNECT_RETRY_DEFAULTS.maxDelayMs;
  if (!(initialDelayMs > 0 && maxDelayMs >= initialDelayMs)) {
    throw new RangeError(
      `connectRetry needs 0 < initialDelayMs ≤ maxDelayMs, got ${initialDelayMs} and ${maxDelayMs} ms`,
    );
  }
  const deadline = performance.now() + timeoutMs;
  let delayMs = initialDelayMs;
  let attempts = 0;
  let last: FerryError;
  for (;;) {
    attempts++;
    try {
      return await connect(address, {
        timeoutMs: Math.max(1, deadline - performance.now()),
        ...(signal ? { signal } : {}),
        ...(connectors ? { connectors } : {}),
      });
    } catch (error) {
      last = FerryError.from(error, Code.UNAVAILABLE);
      if (retry === false || !NOT_LISTENING_YET.has(last.reason)) throw last;
    }
    const leftMs = deadline - performance.now();
    if (leftMs <= 0) break;
    await pause(Math.min(delayMs, leftMs), signal);
    delayMs = Math.min(delayMs * 2, maxDelayMs);
  }
  throw new FerryError(
    Code.UNAVAILABLE,
    `Cannot connect to ${address}: nothing listened there within ${timeoutMs} ms (${attempts} attempts; last: ${last.rawMessage}). ${whatToCheck(address)}`,
    { reason: 'AGENT_NOT_LISTENING', cause: last },
  );
}

function whatToCheck(address: string): string {
  const parsed = parseAddress(address);
  switch (parsed.scheme) {
    case 'vsock':
      return `Check that the node runs the Ferry agent (ferry agent, the DaemonSet) watching this sandbox's Kata runtime directory and serving guest port ${parsed.port} (--vsock-port); on the node, ferry status --admin <host:port> lists the sandboxes it serves and those it skipped, and why`;
    case 'unix':
      return `Check that ferry agent runs and listens on ${parsed.path} (ferry status lists its listeners)`;
    default:
      return 'Check that ferry agent runs, listens on that address, and is reachable from here';
  }
}

/** Waits `ms`; rejects with CANCELLED (or DEADLINE_EXCEEDED for a timeout signal) when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(FerryError.from(signal.reason));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(FerryError.from(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
