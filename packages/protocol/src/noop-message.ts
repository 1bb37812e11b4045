import type { EncodableMessage } from './encodable-message.js';
import { delimitedSize, writeBytesField } from './sized-writer.js';

/** `bytes payload = 1`, tag (1 << 3) | 2. */
const PAYLOAD_TAG = 0x0a;

/**
 * `ferry.v1.NoopRequest` or `ferry.v1.NoopResponse` (the same wire shape: `bytes payload = 1`). The payload
 * is referenced, not copied, until the message is written into a frame.
 */
export function noopMessage(payload: Uint8Array): EncodableMessage {
  if (!(payload instanceof Uint8Array)) throw new TypeError('Noop payload must be a Uint8Array');
  const byteLength = payload.byteLength === 0 ? 0 : delimitedSize(payload.byteLength);
  return {
    byteLength,
    writeTo(buf, offset) {
      return payload.byteLength === 0 ? offset : writeBytesField(buf, offset, PAYLOAD_TAG, payload);
    },
  };
}
