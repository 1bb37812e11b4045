import { type NumericTensor, type Tensor, tensorValues } from '@ferry/core';
import { fromBfloat16Bits, fromFloat16Bits } from './half-float.js';
import { oipDatatype } from './oip-datatype.js';

export interface InferResponseOutput {
  readonly name: string;
  readonly tensor: Tensor;
  /** Send the data as binary after the JSON header (binary tensor data extension). */
  readonly binary: boolean;
}

export interface InferResponse {
  readonly modelName: string;
  readonly modelVersion?: string;
  readonly id?: string;
  readonly outputs: readonly InferResponseOutput[];
}

export interface EncodedInferResponse {
  readonly body: Buffer;
  /** `application/json`, or `application/octet-stream` when binary outputs follow the JSON header. */
  readonly contentType: string;
  /** The JSON header's length, for `Inference-Header-Content-Length`; absent for plain JSON. */
  readonly headerLength?: number;
}

function jsonNumber(value: number): string {
  if (Number.isFinite(value)) return Object.is(value, -0) ? '-0' : String(value);
  return Number.isNaN(value) ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"';
}

/** The JSON `data` array of a tensor, flat and row-major. INT64/UINT64 are written exactly, as digits. */
export function tensorDataJson(tensor: Tensor): string {
  if (tensor.dtype === 'string') return JSON.stringify(tensor.data);
  const values = tensorValues(tensor as NumericTensor);
  const parts = new Array<string>(values.length);
  switch (tensor.dtype) {
    case 'bool':
      for (let i = 0; i < values.length; i++) parts[i] = values[i] ? 'true' : 'false';
      break;
    case 'float16':
      for (let i = 0; i < values.length; i++) parts[i] = jsonNumber(fromFloat16Bits(values[i] as number));
      break;
    case 'bfloat16':
      for (let i = 0; i < values.length; i++) parts[i] = jsonNumber(fromBfloat16Bits(values[i] as number));
      break;
    case 'float32':
    case 'float64':
      for (let i = 0; i < values.length; i++) parts[i] = jsonNumber(values[i] as number);
      break;
    default:
      for (let i = 0; i < values.length; i++) parts[i] = String(values[i]);
  }
  return `[${parts.join(',')}]`;
}

const encoder = new TextEncoder();

/** The binary form of a tensor: its raw bytes; BYTES as 4-byte little-endian lengths and UTF-8 bytes. */
export function tensorBinary(tensor: Tensor): Uint8Array {
  if (tensor.dtype !== 'string') return tensor.data;
  const encoded = tensor.data.map((s) => encoder.encode(s));
  const out = new Uint8Array(encoded.reduce((n, e) => n + 4 + e.byteLength, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of encoded) {
    view.setUint32(at, e.byteLength, true);
    out.set(e, at + 4);
    at += 4 + e.byteLength;
  }
  return out;
}

/**
 * Encodes an OIP inference response: JSON, or (when some output is binary) the JSON header followed by the
 * binary outputs in output order, each announced by `parameters.binary_data_size`.
 */
export function encodeInferResponse(response: InferResponse): EncodedInferResponse {
  const binaries: Uint8Array[] = [];
  const outputs = response.outputs.map(({ name, tensor, binary }) => {
    const head = `{"name":${JSON.stringify(name)},"datatype":"${oipDatatype(tensor.dtype)}","shape":${JSON.stringify(tensor.shape)}`;
    if (!binary) return `${head},"data":${tensorDataJson(tensor)}}`;
    const bytes = tensorBinary(tensor);
    binaries.push(bytes);
    return `${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
  });
  const fields = [`"model_name":${JSON.stringify(response.modelName)}`];
  if (response.modelVersion !== undefined) fields.push(`"model_version":${JSON.stringify(response.modelVersion)}`);
  if (response.id !== undefined) fields.push(`"id":${JSON.stringify(response.id)}`);
  fields.push(`"outputs":[${outputs.join(',')}]`);
  const header = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  if (binaries.length === 0) return { body: header, contentType: 'application/json; charset=utf-8' };
  return {
    body: Buffer.concat([header, ...binaries]),
    contentType: 'application/octet-stream',
    headerLength: header.byteLength,
  };
}
