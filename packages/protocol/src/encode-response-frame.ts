import { allocFrame, checkBody, checkFrameEnd, writeBody } from './alloc-frame.js';
import type { EncodableMessage } from './encodable-message.js';
import { type FrameCodecOptions, HEADER_BYTES, MessageType } from './frame.js';
import { Gather } from './gather.js';
import {
  delimitedSize,
  int32Size,
  utf8Size,
  writeBytesField,
  writeInt32,
  writeStringField,
  writeVarint,
} from './sized-writer.js';
import type { TtrpcStatus } from './ttrpc.js';

const STATUS_TAG = 0x0a;
const PAYLOAD_TAG = 0x12;
const CODE_TAG = 0x08;
const MESSAGE_TAG = 0x12;
const DETAILS_TAG = 0x1a;
const TYPE_URL_TAG = 0x0a;
const VALUE_TAG = 0x12;
const REASON_TAG = 0x0a;
/** What `anyPack(ErrorInfoSchema, …)` puts in `Any.type_url`. */
const ERROR_INFO_TYPE_URL = 'type.googleapis.com/ferry.errors.v1.ErrorInfo';
const ERROR_INFO_TYPE_URL_BYTES = utf8Size(ERROR_INFO_TYPE_URL);

interface DetailSizes {
  readonly typeUrlBytes: number;
  readonly anyBytes: number;
}
/** Shared by every response without details (most), so that none allocates a list. */
const NO_DETAILS: readonly DetailSizes[] = [];

/** The envelope fields of a RESPONSE frame, as {@link TtrpcResponseInit} has them less the payload. */
export interface ResponseFrameInit {
  /** Absent means OK. */
  readonly status?: TtrpcStatus | undefined;
}

/**
 * Encodes a whole RESPONSE frame — header, `ttrpc.Response` envelope (with the status's reason packed into
 * `details` as a `ferry.errors.v1.ErrorInfo`, after any other `status.details`) and the method's response message, if any — into one buffer,
 * with no intermediate copy. The bytes equal `encodeFrame({ streamId, type: RESPONSE, flags: 0, payload:
 * encodeResponse({ status, payload: toBinary(schema, message) }) })`.
 *
 * Throws {@link FrameTooLargeError} (RESOURCE_EXHAUSTED, reason `FRAME_TOO_LARGE`) before allocating
 * anything when the frame's payload would exceed `maxFrameBytes`; TypeError/RangeError as `encodeResponse`.
 * Three positional arguments against the house rule of two: this is every call's hot path.
 */
export function encodeResponseFrame(
  streamId: number,
  response: ResponseFrameInit,
  body?: EncodableMessage,
  options?: FrameCodecOptions,
): Uint8Array {
  return encode(streamId, response, body, options, undefined) as Uint8Array;
}

/**
 * The frame of {@link encodeResponseFrame}, as one buffer or, when `body` has large tensor data (see
 * {@link Gather}), as the buffers of one `writev` (scatter/gather): that data is referenced, not copied,
 * between the encoded bytes around it. The buffers concatenated equal `encodeResponseFrame`'s bytes. The
 * caller must not change the tensor data until the buffers are written.
 */
export function encodeResponseFrameParts(
  streamId: number,
  response: ResponseFrameInit,
  body?: EncodableMessage,
  options?: FrameCodecOptions,
): Uint8Array | Uint8Array[] {
  return encode(streamId, response, body, options, body?.gatherBytes ? new Gather() : undefined);
}

function encode(
  streamId: number,
  response: ResponseFrameInit,
  body: EncodableMessage | undefined,
  options: FrameCodecOptions | undefined,
  gather: Gather | undefined,
): Uint8Array | Uint8Array[] {
  if (body !== undefined) checkBody(body);
  const bodyBytes = body === undefined ? 0 : body.byteLength;
  const status = response.status;
  let length = bodyBytes > 0 ? delimitedSize(bodyBytes) : 0;
  let messageBytes = 0;
  let reasonBytes = 0;
  let errorInfoBytes = 0;
  let anyBytes = 0;
  let statusBytes = 0;
  /** Per extra detail: its type URL's and Any's byte lengths. */
  let extra: readonly DetailSizes[] = NO_DETAILS;
  if (status !== undefined) {
    const { code, message, reason } = status;
    if (!Number.isInteger(code) || code < -0x8000_0000 || code > 0x7fff_ffff) {
      throw new RangeError(`Status code must be an int32, got ${code}`);
    }
    if (typeof message !== 'string') throw new TypeError('Status message must be a string');
    if (reason !== undefined && typeof reason !== 'string') throw new TypeError('Status reason must be a string');
    if (code !== 0) statusBytes += 1 + int32Size(code);
    messageBytes = utf8Size(message);
    if (messageBytes > 0) statusBytes += delimitedSize(messageBytes);
    extra = (status.details ?? []).map((detail) => {
      if (typeof detail.typeUrl !== 'string' || !(detail.value instanceof Uint8Array)) {
        throw new TypeError('Status details must be { typeUrl: string, value: Uint8Array }');
      }
      const typeUrlBytes = utf8Size(detail.typeUrl);
      const anyBytes =
        (typeUrlBytes > 0 ? delimitedSize(typeUrlBytes) : 0) +
        (detail.value.byteLength > 0 ? delimitedSize(detail.value.byteLength) : 0);
      statusBytes += delimitedSize(anyBytes);
      return { typeUrlBytes, anyBytes };
    });
    if (reason !== undefined && reason !== '') {
      reasonBytes = utf8Size(reason);
      errorInfoBytes = delimitedSize(reasonBytes);
      anyBytes = delimitedSize(ERROR_INFO_TYPE_URL_BYTES) + delimitedSize(errorInfoBytes);
      statusBytes += delimitedSize(anyBytes);
    }
    length += delimitedSize(statusBytes);
  }

  const buf = allocFrame(streamId, MessageType.RESPONSE, length, options, gather ? (body?.gatherBytes ?? 0) : 0);
  let pos = HEADER_BYTES;
  if (status !== undefined) {
    buf[pos++] = STATUS_TAG;
    pos = writeVarint(buf, pos, statusBytes);
    if (status.code !== 0) {
      buf[pos++] = CODE_TAG;
      pos = writeInt32(buf, pos, status.code);
    }
    if (messageBytes > 0) pos = writeStringField(buf, pos, MESSAGE_TAG, status.message, messageBytes);
    status.details?.forEach((detail, k) => {
      const { typeUrlBytes, anyBytes } = extra[k] as DetailSizes;
      buf[pos++] = DETAILS_TAG;
      pos = writeVarint(buf, pos, anyBytes);
      if (typeUrlBytes > 0) pos = writeStringField(buf, pos, TYPE_URL_TAG, detail.typeUrl, typeUrlBytes);
      if (detail.value.byteLength > 0) pos = writeBytesField(buf, pos, VALUE_TAG, detail.value);
    });
    if (reasonBytes > 0) {
      buf[pos++] = DETAILS_TAG;
      pos = writeVarint(buf, pos, anyBytes);
      pos = writeStringField(buf, pos, TYPE_URL_TAG, ERROR_INFO_TYPE_URL, ERROR_INFO_TYPE_URL_BYTES);
      buf[pos++] = VALUE_TAG;
      pos = writeVarint(buf, pos, errorInfoBytes);
      pos = writeStringField(buf, pos, REASON_TAG, status.reason as string, reasonBytes);
    }
  }
  if (body !== undefined && bodyBytes > 0) {
    buf[pos++] = PAYLOAD_TAG;
    pos = writeVarint(buf, pos, bodyBytes);
    pos = writeBody(buf, pos, body, bodyBytes, gather);
  }
  checkFrameEnd(buf, pos);
  return gather ? gather.parts(buf, pos) : buf;
}
