import { Code, codeName, FerryError, httpStatusFor } from '@ferry/core';

export interface HttpError {
  readonly status: number;
  readonly error: FerryError;
  /** The JSON body: `{"error": "..."}` as the protocol wants, plus Ferry's code name and reason. */
  readonly body: { readonly error: string; readonly code: string; readonly reason: string };
}

/** Reasons whose HTTP status is more specific than their code's. */
const statusByReason: Record<string, number> = {
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REQUEST_TIMEOUT: 408,
};

/** Fastify's and @fastify/multipart's own errors, in Ferry's terms. */
const fastifyErrors: Record<string, { readonly code: Code; readonly reason: string; readonly message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: Code.RESOURCE_EXHAUSTED, reason: 'BODY_TOO_LARGE' },
  FST_REQ_FILE_TOO_LARGE: { code: Code.RESOURCE_EXHAUSTED, reason: 'BODY_TOO_LARGE' },
  FST_FILES_LIMIT: { code: Code.RESOURCE_EXHAUSTED, reason: 'BODY_TOO_LARGE' },
  FST_PARTS_LIMIT: { code: Code.RESOURCE_EXHAUSTED, reason: 'BODY_TOO_LARGE' },
  FST_FIELDS_LIMIT: { code: Code.RESOURCE_EXHAUSTED, reason: 'BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: Code.INVALID_ARGUMENT, reason: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: Code.INVALID_ARGUMENT, reason: 'MALFORMED_REQUEST' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: Code.INVALID_ARGUMENT, reason: 'MALFORMED_REQUEST' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { code: Code.INVALID_ARGUMENT, reason: 'UNSUPPORTED_MEDIA_TYPE' },
};

function fromFastify(error: Error & { code?: unknown; statusCode?: unknown }): FerryError | undefined {
  if (typeof error.code !== 'string' || !error.code.startsWith('FST_')) return undefined;
  const known = fastifyErrors[error.code];
  if (known) return new FerryError(known.code, error.message, { reason: known.reason, cause: error });
  const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
  return new FerryError(status < 500 ? Code.INVALID_ARGUMENT : Code.INTERNAL, error.message, {
    reason: status < 500 ? 'MALFORMED_REQUEST' : 'INTERNAL',
    cause: error,
  });
}

/**
 * The HTTP answer for anything a handler threw: FerryErrors by `httpStatusFor(code)` (a few reasons more
 * precisely: 413 for bodies over the limit, 415 for bodies of the wrong media type), HTTP framework
 * errors by their meaning, anything else 500.
 */
export function toHttpError(thrown: unknown): HttpError {
  const error =
    (thrown instanceof Error && fromFastify(thrown as Error & { code?: unknown })) ||
    FerryError.from(thrown, Code.INTERNAL);
  const status = statusByReason[error.reason] ?? httpStatusFor(error.code);
  return { status, error, body: { error: error.rawMessage, code: codeName(error.code), reason: error.reason } };
}
