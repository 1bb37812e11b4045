import { Code, codeName, toCode } from './code.js';

export interface FerryErrorOptions {
  /** Stable UPPER_SNAKE identifier of the failure, listed in docs/errors.md. */
  reason?: string;
  cause?: unknown;
}

/**
 * The one error type of Ferry. `code` is gRPC-numbered and travels in ttrpc `Status`; `reason` is a
 * stable UPPER_SNAKE identifier. Match on `code`/`reason`, not `instanceof`: guest and agent may run
 * different versions.
 */
export class FerryError extends Error {
  readonly code: Code;
  readonly reason: string;
  /** The message without the `[code]` prefix, as sent on the wire. */
  readonly rawMessage: string;

  constructor(code: Code, message: string, options: FerryErrorOptions = {}) {
    super(`[${codeName(code).toLowerCase()}] ${message}`, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.reason = options.reason ?? codeName(code);
    this.rawMessage = message;
  }

  /** Converts anything thrown into a FerryError; Node system errors map through {@link fromSystemError}. */
  static from(error: unknown, fallback: Code = Code.INTERNAL): FerryError {
    if (error instanceof FerryError) return error;
    if (isFerryErrorLike(error)) {
      return new FerryError(toCode(error.code), error.rawMessage ?? error.message, {
        reason: error.reason,
        cause: error,
      });
    }
    if (error instanceof Error) {
      if (error.name === 'AbortError' || error.name === 'TimeoutError') {
        const timeout = error.name === 'TimeoutError';
        return new FerryError(timeout ? Code.DEADLINE_EXCEEDED : Code.CANCELLED, error.message, {
          reason: timeout ? 'DEADLINE_EXCEEDED' : 'CANCELLED',
          cause: error,
        });
      }
      const system = fromSystemError(error);
      if (system) return system;
      return new FerryError(fallback, error.message, { reason: codeName(fallback), cause: error });
    }
    return new FerryError(fallback, String(error), { reason: codeName(fallback) });
  }
}

interface FerryErrorLike {
  name: string;
  code: number;
  reason: string;
  message: string;
  rawMessage?: string;
}

function isFerryErrorLike(value: unknown): value is FerryErrorLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.name === 'FerryError' && typeof v.code === 'number' && typeof v.reason === 'string';
}

const systemCodes: Record<string, { code: Code; reason: string }> = {
  ECONNREFUSED: { code: Code.UNAVAILABLE, reason: 'CONNECTION_REFUSED' },
  ECONNRESET: { code: Code.UNAVAILABLE, reason: 'CONNECTION_RESET' },
  ENOENT: { code: Code.UNAVAILABLE, reason: 'NO_SUCH_SOCKET' },
  EPIPE: { code: Code.UNAVAILABLE, reason: 'CONNECTION_CLOSED' },
  ETIMEDOUT: { code: Code.UNAVAILABLE, reason: 'CONNECT_TIMEOUT' },
  EHOSTUNREACH: { code: Code.UNAVAILABLE, reason: 'HOST_UNREACHABLE' },
  ENETUNREACH: { code: Code.UNAVAILABLE, reason: 'NETWORK_UNREACHABLE' },
  EADDRINUSE: { code: Code.FAILED_PRECONDITION, reason: 'ADDRESS_IN_USE' },
  EACCES: { code: Code.PERMISSION_DENIED, reason: 'ACCESS_DENIED' },
  EPERM: { code: Code.PERMISSION_DENIED, reason: 'ACCESS_DENIED' },
  ENOTSOCK: { code: Code.UNAVAILABLE, reason: 'NOT_A_SOCKET' },
  ENAMETOOLONG: { code: Code.INVALID_ARGUMENT, reason: 'PATH_TOO_LONG' },
  EAFNOSUPPORT: { code: Code.UNAVAILABLE, reason: 'ADDRESS_FAMILY_UNSUPPORTED' },
};

/** Maps a Node system error (`err.code === 'ECONNREFUSED'`, …) to a FerryError, or undefined. */
export function fromSystemError(error: Error, context?: string): FerryError | undefined {
  const sys = (error as NodeJS.ErrnoException).code;
  if (typeof sys !== 'string') return undefined;
  const mapped = systemCodes[sys];
  if (!mapped) return undefined;
  const message = context ? `${context}: ${error.message}` : error.message;
  return new FerryError(mapped.code, message, { reason: mapped.reason, cause: error });
}
