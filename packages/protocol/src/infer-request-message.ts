import type { TensorMap } from '@ferry/core';
import type { EncodableMessage } from './encodable-message.js';
import {
  entriesFromTensorMap,
  entriesSize,
  measureStrings,
  type NamedTensorEntry,
  writeEntries,
  writeStrings,
} from './named-tensors.js';
import { uint32Size, writeVarint } from './sized-writer.js';

const MODEL_ID_TAG = 0x08;
const INPUTS_TAG = 0x12;
const OUTPUT_NAMES_TAG = 0x1a;

export interface InferRequestMessageOptions {
  /** Outputs to compute; all of the model's outputs when empty or absent. */
  readonly outputNames?: readonly string[] | undefined;
}

/**
 * `ferry.v1.InferRequest` straight from core tensors: the same bytes as protobuf-es encodes for
 * `{ modelId, inputs: tensorMapToWire(inputs), outputNames }`, without building the wire messages. Tensor
 * bytes are referenced, not copied, until the message is written into a frame.
 */
export function inferRequestMessage(
  modelId: number,
  inputs: TensorMap,
  options: InferRequestMessageOptions = {},
): EncodableMessage {
  return inferRequestFromEntries(modelId, entriesFromTensorMap(inputs), options.outputNames ?? []);
}

/** Shared with {@link toEncodable}, which brings protobuf-es shaped tensors. */
export function inferRequestFromEntries(
  modelId: number,
  entries: readonly NamedTensorEntry[],
  outputNames: readonly string[],
): EncodableMessage {
  if (!Array.isArray(outputNames)) throw new TypeError('outputNames must be an array of strings');
  const outputs = measureStrings(outputNames);
  const byteLength = (modelId === 0 ? 0 : 1 + uint32Size(modelId)) + entriesSize(entries) + outputs.bytes;
  return {
    byteLength,
    writeTo(buf, offset) {
      let pos = offset;
      if (modelId !== 0) {
        buf[pos++] = MODEL_ID_TAG;
        pos = writeVarint(buf, pos, modelId);
      }
      pos = writeEntries(buf, pos, INPUTS_TAG, entries);
      return writeStrings(buf, pos, OUTPUT_NAMES_TAG, outputNames, outputs.sizes);
    },
  };
}
