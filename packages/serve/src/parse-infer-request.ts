import { Code, type DType, FerryError, type Tensor } from '@ferry/core';
import { dtypeFromOip } from './oip-datatype.js';
import { tensorFromBinary, tensorFromJson } from './tensor-from-oip.js';

export interface InferRequestInput {
  readonly name: string;
  readonly dtype: DType;
  readonly tensor: Tensor;
}

export interface InferRequestOutput {
  readonly name: string;
  /** Whether the output goes back as binary data (`parameters.binary_data`, else `binary_data_output`). */
  readonly binary: boolean;
}

export interface InferRequest {
  readonly id?: string;
  readonly inputs: readonly InferRequestInput[];
  /** The outputs asked for, in order; absent when the request names none (then all, as JSON unless `binaryOutputs`). */
  readonly outputs?: readonly InferRequestOutput[];
  /** The request's `parameters.binary_data_output`. */
  readonly binaryOutputs: boolean;
}

function invalid(message: string, reason = 'MALFORMED_REQUEST'): FerryError {
  return new FerryError(Code.INVALID_ARGUMENT, message, { reason });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function parametersOf(label: string, object: Record<string, unknown>): Record<string, unknown> {
  const parameters = field(object, 'parameters');
  if (parameters === undefined) return {};
  if (!isObject(parameters)) throw invalid(`${label}: "parameters" must be an object`);
  return parameters;
}

function booleanParameter(label: string, parameters: Record<string, unknown>, key: string): boolean | undefined {
  const value = field(parameters, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(`${label}: parameter "${key}" must be true or false`);
  return value;
}

/**
 * Parses the body of `POST /v2/models/{name}/infer`: a JSON inference request, or (binary tensor data
 * extension) a JSON header of `headerLength` bytes followed by the inputs' binary data in input order.
 * Throws INVALID_ARGUMENT for malformed JSON, unknown datatypes, data that does not fit its shape, and
 * binary sizes that do not add up to the body.
 */
export function parseInferRequest(body: Uint8Array, headerLength: number | undefined): InferRequest {
  if (headerLength !== undefined) {
    if (!Number.isSafeInteger(headerLength) || headerLength <= 0 || headerLength > body.byteLength) {
      throw invalid(
        `Inference-Header-Content-Length ${headerLength} does not fit the ${body.byteLength}-byte body`,
        'INVALID_HEADER_LENGTH',
      );
    }
  }
  const jsonEnd = headerLength ?? body.byteLength;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, jsonEnd).toString('utf8'));
  } catch (error) {
    const detail = jsonEnd === 0 ? 'the body is empty' : (error as Error).message;
    throw invalid(`The inference request is not valid JSON: ${detail}`, 'MALFORMED_JSON');
  }
  if (!isObject(parsed)) throw invalid('The inference request must be a JSON object');

  const id = field(parsed, 'id');
  if (id !== undefined && typeof id !== 'string') throw invalid('"id" must be a string');
  const binaryOutputs = booleanParameter('The request', parametersOf('The request', parsed), 'binary_data_output');

  const rawInputs = field(parsed, 'inputs');
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) throw invalid('"inputs" must be a non-empty array');

  let offset = jsonEnd;
  const names = new Set<string>();
  const inputs = rawInputs.map((raw, index): InferRequestInput => {
    if (!isObject(raw)) throw invalid(`inputs[${index}] must be an object`);
    const name = field(raw, 'name');
    if (typeof name !== 'string' || name === '') throw invalid(`inputs[${index}] needs a "name"`);
    const label = `Input "${name}"`;
    if (names.has(name)) throw invalid(`${label} appears twice`, 'DUPLICATE_TENSOR');
    names.add(name);
    const datatype = field(raw, 'datatype');
    if (typeof datatype !== 'string') throw invalid(`${label} needs a "datatype"`);
    const dtype = dtypeFromOip(datatype);
    const shape = field(raw, 'shape');
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw invalid(`${label}: "shape" must be an array of non-negative integers`, 'INVALID_SHAPE');
    }
    const dims = shape as number[];
    const parameters = parametersOf(label, raw);
    const size = field(parameters, 'binary_data_size');
    const data = field(raw, 'data');
    if (size === undefined) {
      if (data === undefined) throw invalid(`${label} has neither "data" nor parameters.binary_data_size`);
      return { name, dtype, tensor: tensorFromJson(name, dtype, dims, data) };
    }
    if (data !== undefined) throw invalid(`${label} has both "data" and parameters.binary_data_size`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw invalid(`${label}: binary_data_size must be a non-negative integer`, 'INVALID_BINARY_SIZE');
    }
    if (headerLength === undefined) {
      throw invalid(`${label} has binary data, so the request needs an Inference-Header-Content-Length header`);
    }
    if (offset + size > body.byteLength) {
      throw invalid(
        `${label} declares ${size} bytes of binary data but only ${body.byteLength - offset} remain in the body`,
        'INVALID_BINARY_SIZE',
      );
    }
    const bytes = body.subarray(offset, offset + size);
    offset += size;
    return { name, dtype, tensor: tensorFromBinary(name, dtype, dims, bytes) };
  });
  if (offset !== body.byteLength) {
    throw invalid(
      `The body holds ${body.byteLength - jsonEnd} bytes after the JSON header but the inputs' binary_data_size add up to ${offset - jsonEnd}`,
      'INVALID_BINARY_SIZE',
    );
  }

  const rawOutputs = field(parsed, 'outputs');
  let outputs: InferRequestOutput[] | undefined;
  if (rawOutputs !== undefined) {
    if (!Array.isArray(rawOutputs)) throw invalid('"outputs" must be an array');
    const seen = new Set<string>();
    outputs = rawOutputs.map((raw, index) => {
      if (!isObject(raw)) throw invalid(`outputs[${index}] must be an object`);
      const name = field(raw, 'name');
      if (typeof name !== 'string' || name === '') throw invalid(`outputs[${index}] needs a "name"`);
      if (seen.has(name)) throw invalid(`Output "${name}" is requested twice`, 'DUPLICATE_TENSOR');
      seen.add(name);
      const binary = booleanParameter(`Output "${name}"`, parametersOf(`Output "${name}"`, raw), 'binary_data');
      return { name, binary: binary ?? binaryOutputs ?? false };
    });
  }
  return {
    ...(id === undefined ? {} : { id }),
    inputs,
    ...(outputs === undefined ? {} : { outputs }),
    binaryOutputs: binaryOutputs ?? false,
  };
}
