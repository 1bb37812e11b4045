import { allocFrame, checkBody, checkFrameEnd, writeBody } from './alloc-frame.js';
import type { EncodableMessage } from './encodable-message.js';
import { type FrameCodecOptions, HEADER_BYTES, MessageType } from './frame.js';
import { delimitedSize, int64Size, utf8Size, writeInt64, writeStringField, writeVarint } from './sized-writer.js';

const SERVICE_TAG = 0x0a;
const METHOD_TAG = 0x12;
const PAYLOAD_TAG = 0x1a;
const TIMEOUT_TAG = 0x20;
const METADATA_TAG = 0x2a;
const KEY_TAG = 0x0a;
const VALUE_TAG = 0x12;
const MAX_INT64 = 0x7fff_ffff_ffff_ffffn;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The envelope fields of a REQUEST frame, as {@link TtrpcRequestInit} has them less the payload. */
export interface RequestFrameInit {
  readonly service: string;
  readonly method: string;
  /** Relative deadline in nanoseconds, from 0 (none, the default) to 2^63-1. */
  readonly timeoutNano?: bigint | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/**
 * Encodes a whole REQUEST frame — header, `ttrpc.Request` envelope and the method's request message — into
 * one buffer, with no intermediate copy. The bytes equal `encodeFrame({ streamId, type: REQUEST, flags: 0,
 * payload: encodeRequest({ ...request, payload: toBinary(schema, message) }) })`.
 *
 * Throws {@link FrameTooLargeError} (RESOURCE_EXHAUSTED, reason `FRAME_TOO_LARGE`) before allocating
 * anything when the frame's payload would exceed `maxFrameBytes`; TypeError/RangeError as `encodeRequest`.
 * Three positional arguments against the house rule of two: this is every call's hot path.
 */
export function encodeRequestFrame(
  streamId: number,
  request: RequestFrameInit,
  body: EncodableMessage,
  options?: FrameCodecOptions,
): Uint8Array {
  const { service, method } = request;
  if (typeof service !== 'string') throw new TypeError('Request service must be a string');
  if (typeof method !== 'string') throw new TypeError('Request method must be a string');
  checkBody(body);
  const timeoutNano = request.timeoutNano ?? 0n;
  if (typeof timeoutNano !== 'bigint' || timeoutNano < 0n || timeoutNano > MAX_INT64) {
    throw new RangeError(`Request timeoutNano must be a bigint from 0 to 2^63-1, got ${String(timeoutNano)}`);
  }
  // One bigint → number conversion (it costs tens of ns) serves both the size and the write.
  const timeout: bigint | number = timeoutNano <= MAX_SAFE ? Number(timeoutNano) : timeoutNano;
  const serviceBytes = utf8Size(service);
  const methodBytes = utf8Size(method);
  const bodyBytes = body.byteLength;
  let length = 0;
  if (serviceBytes > 0) length += delimitedSize(serviceBytes);
  if (methodBytes > 0) length += delimitedSize(methodBytes);
  if (bodyBytes > 0) length += delimitedSize(bodyBytes);
  if (timeout !== 0) length += 1 + int64Size(timeout);
  let metadata: Measured[] | undefined;
  if (request.metadata !== undefined) {
    metadata = measureMetadata(request.metadata);
    for (const kv of metadata) length += delimitedSize(kv.bytes);
  }

  const buf = allocFrame(streamId, MessageType.REQUEST, length, options);
  let pos = HEADER_BYTES;
  if (serviceBytes > 0) pos = writeStringField(buf, pos, SERVICE_TAG, service, serviceBytes);
  if (methodBytes > 0) pos = writeStringField(buf, pos, METHOD_TAG, method, methodBytes);
  if (bodyBytes > 0) {
    buf[pos++] = PAYLOAD_TAG;
    pos = writeVarint(buf, pos, bodyBytes);
    pos = writeBody(buf, pos, body, bodyBytes);
  }
  if (timeout !== 0) {
    buf[pos++] = TIMEOUT_TAG;
    pos = writeInt64(buf, pos, timeout);
  }
  if (metadata !== undefined) {
    for (const kv of metadata) {
      buf[pos++] = METADATA_TAG;
      pos = writeVarint(buf, pos, kv.bytes);
      if (kv.keyBytes > 0) pos = writeStringField(buf, pos, KEY_TAG, kv.key, kv.keyBytes);
      if (kv.valueBytes > 0) pos = writeStringField(buf, pos, VALUE_TAG, kv.value, kv.valueBytes);
    }
  }
  return checkFrameEnd(buf, pos);
}

interface Measured {
  readonly key: string;
  readonly value: string;
  readonly keyBytes: number;
  readonly valueBytes: number;
  /** Length of the KeyValue message. */
  readonly bytes: number;
}

function measureMetadata(metadata: Readonly<Record<string, string>>): Measured[] {
  const measured: Measured[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new TypeError(`Request metadata "${key}" must be a string`);
    const keyBytes = utf8Size(key);
    const valueBytes = utf8Size(value);
    const bytes = (keyBytes > 0 ? delimitedSize(keyBytes) : 0) + (valueBytes > 0 ? delimitedSize(valueBytes) : 0);
    measured.push({ key, value, keyBytes, valueBytes, bytes });
  }
  return measured;
}
