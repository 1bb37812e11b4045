import type { TensorMap } from '@ferry/core';
import type { EncodableMessage } from './encodable-message.js';
import {
  entriesFromTensorMap,
  entriesGatherBytes,
  entriesSize,
  type NamedTensorEntry,
  writeEntries,
} from './named-tensors.js';

const OUTPUTS_TAG = 0x0a;

/**
 * `ferry.v1.InferResponse` straight from core tensors: the same bytes as protobuf-es encodes for
 * `{ outputs: tensorMapToWire(outputs) }`, without building the wire messages. Tensor bytes are referenced,
 * not copied, until the message is written into a frame.
 */
export function inferResponseMessage(outputs: TensorMap): EncodableMessage {
  return inferResponseFromEntries(entriesFromTensorMap(outputs));
}

/** Shared with {@link toEncodable}, which brings protobuf-es shaped tensors. */
export function inferResponseFromEntries(entries: readonly NamedTensorEntry[]): EncodableMessage {
  return {
    byteLength: entriesSize(entries),
    gatherBytes: entriesGatherBytes(entries),
    writeTo: (buf, offset, gather) => writeEntries(buf, offset, OUTPUTS_TAG, entries, gather),
  };
}
