import { create, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import { type Any, AnySchema, anyPack, anyUnpack } from '@bufbuild/protobuf/wkt';
import { Code, FerryError, toCode } from '@ferry/core';
import { ErrorInfoSchema } from './gen/ferry/errors/v1/error_info_pb.js';
import { StatusSchema } from './gen/google/rpc/status_pb.js';
import { RequestSchema, ResponseSchema } from './gen/ttrpc/ttrpc_pb.js';

/**
 * Helpers for the payloads of ttrpc REQUEST and RESPONSE frames (`ttrpc.Request`, `ttrpc.Response`), and
 * the mapping between FerryError and `google.rpc.Status`. A FerryError's reason travels in
 * `Status.details` as a packed `ferry.errors.v1.ErrorInfo`; details of other types are ignored.
 */

const MAX_INT64 = 0x7fff_ffff_ffff_ffffn;
/** ASCII only reaches it (asciiString checks), where every single-byte decoder agrees. */
const latin1 = new TextDecoder('latin1');
const MIN_INT32 = -0x8000_0000;
const MAX_INT32 = 0x7fff_ffff;

/** What {@link encodeRequest} takes. */
export interface TtrpcRequestInit {
  readonly service: string;
  readonly method: string;
  /** The serialized request message of the method. */
  readonly payload: Uint8Array;
  /** Relative deadline in nanoseconds, from 0 (none, the default) to 2^63-1. */
  readonly timeoutNano?: bigint;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A decoded `ttrpc.Request`. */
export interface TtrpcRequest {
  readonly service: string;
  readonly method: string;
  /** A view into the decoded bytes. */
  readonly payload: Uint8Array;
  /** As sent: 0 means no deadline; a peer may send any int64, negative included. */
  readonly timeoutNano: bigint;
  /** A key sent more than once keeps its last value. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A `google.protobuf.Any` in `Status.details`: a type URL and the serialized message. */
export interface StatusDetail {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

/** A `google.rpc.Status`, with the FerryError reason carried in its details. */
export interface TtrpcStatus {
  /** gRPC status code; 0 is OK. */
  readonly code: number;
  /** The message without FerryError's `[code]` prefix. */
  readonly message: string;
  /** Stable UPPER_SNAKE reason, when the sender gave one. */
  readonly reason?: string;
  /**
   * Further details, sent before the reason's `ErrorInfo` (a protocol's own error shape, such as vAccel's
   * `vaccel.Error`). Not filled in by the decoders, which read only the reason.
   */
  readonly details?: readonly StatusDetail[];
}

/** What {@link encodeResponse} takes. */
export interface TtrpcResponseInit {
  /** Absent means OK. */
  readonly status?: TtrpcStatus;
  /** The serialized response message of the method; empty by default. */
  readonly payload?: Uint8Array;
}

/** A decoded `ttrpc.Response`. */
export interface TtrpcResponse {
  /** `{ code: 0, message: '' }` when the peer sent none. */
  readonly status: TtrpcStatus;
  /** A view into the decoded bytes. */
  readonly payload: Uint8Array;
}

/** Encodes the payload of a REQUEST frame. */
export function encodeRequest(request: TtrpcRequestInit): Uint8Array {
  if (typeof request.service !== 'string') throw new TypeError('Request service must be a string');
  if (typeof request.method !== 'string') throw new TypeError('Request method must be a string');
  if (!(request.payload instanceof Uint8Array)) throw new TypeError('Request payload must be a Uint8Array');
  const timeoutNano = request.timeoutNano ?? 0n;
  if (typeof timeoutNano !== 'bigint' || timeoutNano < 0n || timeoutNano > MAX_INT64) {
    throw new RangeError(`Request timeoutNano must be a bigint from 0 to 2^63-1, got ${String(timeoutNano)}`);
  }
  const metadata = Object.entries(request.metadata ?? {}).map(([key, value]) => {
    if (typeof value !== 'string') throw new TypeError(`Request metadata "${key}" must be a string`);
    return { key, value };
  });
  return toBinary(
    RequestSchema,
    create(RequestSchema, {
      service: request.service,
      method: request.method,
      payload: request.payload,
      timeoutNano,
      metadata,
    }),
  );
}

/** Decodes the payload of a REQUEST frame; INVALID_ARGUMENT (reason `MALFORMED_REQUEST`) if it is not one. */
export function decodeRequest(bytes: Uint8Array): TtrpcRequest {
  const fast = scanRequest(bytes);
  if (fast) return fast;
  let message: MessageShape<typeof RequestSchema>;
  try {
    message = fromBinary(RequestSchema, bytes);
  } catch (error) {
    throw new FerryError(Code.INVALID_ARGUMENT, `Malformed ttrpc request: ${messageOf(error)}`, {
      reason: 'MALFORMED_REQUEST',
      cause: error,
    });
  }
  return {
    service: message.service,
    method: message.method,
    payload: message.payload,
    timeoutNano: message.timeoutNano,
    // Object.fromEntries defines own properties, so a "__proto__" key stays an ordinary key.
    metadata: Object.fromEntries(message.metadata.map((kv) => [kv.key, kv.value])),
  };
}

/** Encodes the payload of a RESPONSE frame. */
export function encodeResponse(response: TtrpcResponseInit): Uint8Array {
  const payload = response.payload ?? new Uint8Array(0);
  if (!(payload instanceof Uint8Array)) throw new TypeError('Response payload must be a Uint8Array');
  const status = response.status;
  if (status === undefined) return toBinary(ResponseSchema, create(ResponseSchema, { payload }));
  if (!Number.isInteger(status.code) || status.code < MIN_INT32 || status.code > MAX_INT32) {
    throw new RangeError(`Status code must be an int32, got ${status.code}`);
  }
  if (typeof status.message !== 'string') throw new TypeError('Status message must be a string');
  const details: Any[] = (status.details ?? []).map((d) => {
    if (typeof d.typeUrl !== 'string' || !(d.value instanceof Uint8Array)) {
      throw new TypeError('Status details must be { typeUrl: string, value: Uint8Array }');
    }
    return create(AnySchema, { typeUrl: d.typeUrl, value: d.value });
  });
  if (status.reason !== undefined && status.reason !== '') {
    details.push(anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { reason: status.reason })));
  }
  return toBinary(
    ResponseSchema,
    create(ResponseSchema, {
      status: create(StatusSchema, { code: status.code, message: status.message, details }),
      payload,
    }),
  );
}

/** Decodes the payload of a RESPONSE frame; INTERNAL (reason `MALFORMED_RESPONSE`) if it is not one. */
export function decodeResponse(bytes: Uint8Array): TtrpcResponse {
  const payload = scanOkResponse(bytes);
  if (payload) return { status: OK_STATUS, payload };
  let message: MessageShape<typeof ResponseSchema>;
  try {
    message = fromBinary(ResponseSchema, bytes);
  } catch (error) {
    throw new FerryError(Code.INTERNAL, `Malformed ttrpc response: ${messageOf(error)}`, {
      reason: 'MALFORMED_RESPONSE',
      cause: error,
    });
  }
  const status = message.status;
  if (status === undefined) return { status: { code: Code.OK, message: '' }, payload: message.payload };
  const reason = reasonOf(status.details);
  return {
    status:
      reason === undefined
        ? { code: status.code, message: status.message }
        : { code: status.code, message: status.message, reason },
    payload: message.payload,
  };
}

/**
 * The status that reports `error` to a peer, through `FerryError.from` (anything not a FerryError becomes
 * INTERNAL with its message; callers that must not leak internal messages should wrap errors first).
 */
export function statusFromError(error: unknown): TtrpcStatus {
  const ferry = FerryError.from(error);
  return { code: ferry.code, message: ferry.rawMessage, reason: ferry.reason };
}

/**
 * The FerryError a non-OK status reports. Codes Ferry does not know read as UNKNOWN; a missing reason
 * defaults to the code's name. Throws RangeError for an OK status, which reports no error.
 */
export function errorFromStatus(status: TtrpcStatus): FerryError {
  if (status.code === Code.OK) throw new RangeError('errorFromStatus() needs a non-OK status');
  const reason = status.reason === '' ? undefined : status.reason;
  return new FerryError(toCode(status.code), status.message, reason === undefined ? {} : { reason });
}

function reasonOf(details: readonly Any[]): string | undefined {
  for (const any of details) {
    try {
      const info = anyUnpack(any, ErrorInfoSchema);
      if (info !== undefined && info.reason !== '') return info.reason;
    } catch {
      // A malformed detail is ignored like an unknown one.
    }
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const OK_STATUS: TtrpcStatus = Object.freeze({ code: Code.OK, message: '' });
const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Reads a length-delimited field's length at `pos` (a varint of at most 4 bytes) and checks it fits;
 * returns the position after the length and the length, or undefined to fall back.
 */
function readLength(bytes: Uint8Array, pos: number): [number, number] | undefined {
  let length = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const b = bytes[pos++];
    if (b === undefined) return undefined;
    length |= (b & 0x7f) << shift;
    if (b < 0x80) return pos + length <= bytes.byteLength ? [pos, length] : undefined;
  }
  return undefined;
}

/**
 * Service and method names decoded lately. A connection sends the same few names on every call; returning
 * the string already made (hashed, and interned by the Map lookups it went through) instead of building a
 * new one each time takes the allocations off every call. Bounded, so names a peer makes up only cost misses.
 */
const recentNames: string[] = [];
const RECENT_NAMES = 32;
const MAX_RECENT_NAME = 128;
let nextRecent = 0;

/** An all-ASCII string from `bytes[start, end)`, or undefined (protobuf-es then decodes and checks the UTF-8). */
function asciiString(bytes: Uint8Array, start: number, end: number): string | undefined {
  const length = end - start;
  for (let k = 0; k < recentNames.length; k++) {
    const name = recentNames[k] as string;
    if (name.length !== length) continue;
    let i = 0;
    while (i < length && name.charCodeAt(i) === bytes[start + i]) i++;
    if (i === length) return name;
  }
  for (let i = start; i < end; i++) if ((bytes[i] as number) >= 0x80) return undefined;
  const name = latin1.decode(bytes.subarray(start, end));
  if (length <= MAX_RECENT_NAME) {
    recentNames[nextRecent] = name;
    nextRecent = (nextRecent + 1) % RECENT_NAMES;
  }
  return name;
}

/**
 * The hot path of {@link decodeRequest}: the request as every Ferry client sends it (ASCII names, payload,
 * a deadline below 2^49 ns, no metadata), read without protobuf-es's reflection and allocations. Anything
 * else — metadata, another field, non-ASCII text, an odd encoding — returns undefined, and protobuf-es
 * decodes (and validates) it, so both paths give the same answer (property-tested).
 */
function scanRequest(bytes: Uint8Array): TtrpcRequest | undefined {
  let service = '';
  let method = '';
  let payload: Uint8Array = EMPTY;
  let timeoutNano = 0n;
  let pos = 0;
  const end = bytes.byteLength;
  while (pos < end) {
    const tag = bytes[pos++];
    if (tag === 0x20) {
      let value = 0;
      let scale = 1;
      for (let i = 0; ; i++) {
        if (i === 7) return undefined;
        const b = bytes[pos++];
        if (b === undefined) return undefined;
        value += (b & 0x7f) * scale;
        scale *= 128;
        if (b < 0x80) break;
      }
      timeoutNano = value === 0 ? 0n : BigInt(value);
      continue;
    }
    if (tag !== 0x0a && tag !== 0x12 && tag !== 0x1a) return undefined;
    const field = readLength(bytes, pos);
    if (!field) return undefined;
    const [start, length] = field;
    pos = start + length;
    if (tag === 0x1a) {
      payload = bytes.subarray(start, pos);
      continue;
    }
    const text = asciiString(bytes, start, pos);
    if (text === undefined) return undefined;
    if (tag === 0x0a) service = text;
    else method = text;
  }
  return { service, method, payload, timeoutNano, metadata: NO_METADATA };
}

/** The hot path of {@link decodeResponse}: an OK response (no status, only the payload), or undefined. */
function scanOkResponse(bytes: Uint8Array): Uint8Array | undefined {
  let payload: Uint8Array = EMPTY;
  let pos = 0;
  const end = bytes.byteLength;
  while (pos < end) {
    if (bytes[pos++] !== 0x12) return undefined;
    const field = readLength(bytes, pos);
    if (!field) return undefined;
    const [start, length] = field;
    pos = start + length;
    payload = bytes.subarray(start, pos);
  }
  return payload;
}
