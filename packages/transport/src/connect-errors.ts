import { Code, FerryError, fromSystemError } from '@ferry/core';

/** The error of a connect or listen that was aborted: CANCELLED, or DEADLINE_EXCEEDED for a TimeoutError reason. */
export function abortedError(what: string, reason: unknown): FerryError {
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new FerryError(Code.DEADLINE_EXCEEDED, `${what} timed out (the signal's deadline passed)`, {
      reason: 'CONNECT_TIMEOUT',
      cause: reason,
    });
  }
  return new FerryError(Code.CANCELLED, `${what} was cancelled`, { reason: 'CANCELLED', cause: reason });
}

/** Any failure of a connector as a FerryError whose message names the address (`text`). */
export function connectError(text: string, error: unknown): FerryError {
  const context = `Cannot connect to ${text}`;
  if (error instanceof FerryError || (error instanceof Error && error.name === 'FerryError')) {
    const ferry = FerryError.from(error);
    if (ferry.rawMessage.includes(text)) return ferry;
    return new FerryError(ferry.code, `${context}: ${ferry.rawMessage}`, { reason: ferry.reason, cause: error });
  }
  if (error instanceof Error) {
    const system = fromSystemError(error, context);
    if (system) return system;
    const sys = (error as NodeJS.ErrnoException).code;
    if (sys === 'ENOTFOUND' || sys === 'EAI_AGAIN') {
      return new FerryError(Code.UNAVAILABLE, `${context}: ${error.message}`, {
        reason: 'HOST_NOT_FOUND',
        cause: error,
      });
    }
    return new FerryError(Code.UNAVAILABLE, `${context}: ${error.message}`, { reason: 'CONNECT_FAILED', cause: error });
  }
  return new FerryError(Code.UNAVAILABLE, `${context}: ${String(error)}`, { reason: 'CONNECT_FAILED', cause: error });
}

/** Any failure to bind as a FerryError with `context` (`Cannot listen on …`) in front. */
export function listenError(context: string, error: unknown): FerryError {
  if (error instanceof FerryError) return error;
  if (error instanceof Error) {
    return (
      fromSystemError(error, context) ??
      new FerryError(Code.UNAVAILABLE, `${context}: ${error.message}`, { reason: 'LISTEN_FAILED', cause: error })
    );
  }
  return new FerryError(Code.UNAVAILABLE, `${context}: ${String(error)}`, { reason: 'LISTEN_FAILED', cause: error });
}
