import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import { type EncodableMessage, fromProtobufEs } from './encodable-message.js';
import {
  InferRequestSchema,
  InferResponseSchema,
  NoopRequestSchema,
  NoopResponseSchema,
} from './gen/ferry/v1/accelerator_pb.js';
import { inferRequestFromEntries } from './infer-request-message.js';
import { inferResponseFromEntries } from './infer-response-message.js';
import { entriesFromWire, hasUnknown } from './named-tensors.js';
import { noopMessage } from './noop-message.js';

const EMPTY = new Uint8Array(0);

type Init<Desc extends DescMessage> = MessageInitShape<Desc>;

/**
 * A protobuf-es message (or init object) of `schema`, as an {@link EncodableMessage} that writes the bytes
 * `toBinary(schema, create(schema, message))` would give. The hot messages — NoopRequest, NoopResponse,
 * InferRequest, InferResponse — are written by hand with no intermediate buffer; every other schema (and a
 * message carrying unknown fields) goes through {@link fromProtobufEs}. A drop-in for `toBinary` where the
 * result goes into a frame.
 */
export function toEncodable<Desc extends DescMessage>(schema: Desc, message: Init<Desc>): EncodableMessage {
  const fast = fastPath(schema as DescMessage, message as object | undefined);
  return fast ?? fromProtobufEs(schema, message);
}

function fastPath(schema: DescMessage, message: object | undefined): EncodableMessage | undefined {
  if (message !== undefined && hasUnknown(message)) return undefined;
  if (schema === NoopRequestSchema || schema === NoopResponseSchema) {
    return noopMessage((message as Init<typeof NoopRequestSchema> | undefined)?.payload ?? EMPTY);
  }
  if (schema === InferRequestSchema) {
    const init = (message ?? {}) as Init<typeof InferRequestSchema>;
    const entries = entriesFromWire(init.inputs);
    return entries && inferRequestFromEntries(init.modelId ?? 0, entries, init.outputNames ?? []);
  }
  if (schema === InferResponseSchema) {
    const entries = entriesFromWire((message as Init<typeof InferResponseSchema> | undefined)?.outputs);
    return entries && inferResponseFromEntries(entries);
  }
  return undefined;
}
