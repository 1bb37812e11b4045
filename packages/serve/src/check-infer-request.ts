import { Code, type Dim, FerryError, type ModelSignature, type TensorInfo, type TensorMap } from '@ferry/core';
import { oipDatatype } from './oip-datatype.js';
import type { InferRequest, InferRequestOutput } from './parse-infer-request.js';

/** A model's declared shape as OIP writes it: -1 for every dynamic dimension. */
export function oipShape(shape: readonly Dim[]): number[] {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

function describe(info: TensorInfo): string {
  return `${info.name}: ${oipDatatype(info.dtype)}[${oipShape(info.shape).join(', ')}]`;
}

export interface CheckedInferRequest {
  readonly inputs: TensorMap;
  /** The outputs to return, in response order. */
  readonly outputs: readonly InferRequestOutput[];
}

/**
 * Checks a parsed request against the model's signature, in the protocol's terms: input names,
 * datatypes and fixed dimensions; requested output names. Throws INVALID_ARGUMENT naming what the
 * model expects.
 */
export function checkInferRequest(
  modelName: string,
  request: InferRequest,
  signature: ModelSignature,
): CheckedInferRequest {
  const fail = (message: string, reason: string) =>
    new FerryError(
      Code.INVALID_ARGUMENT,
      `${message}; model "${modelName}" expects inputs (${signature.inputs.map(describe).join(', ')})`,
      { reason },
    );
  const expected = new Map(signature.inputs.map((i) => [i.name, i]));
  const inputs: TensorMap = {};
  for (const { name, tensor } of request.inputs) {
    const info = expected.get(name);
    if (!info) throw fail(`Unknown input "${name}"`, 'UNKNOWN_INPUT');
    if (tensor.dtype !== info.dtype) {
      throw fail(
        `Input "${name}" has datatype ${oipDatatype(tensor.dtype)} but the model declares ${oipDatatype(info.dtype)}`,
        'DATATYPE_MISMATCH',
      );
    }
    const dimsOk =
      tensor.shape.length === info.shape.length &&
      info.shape.every((d, k) => typeof d !== 'number' || d < 0 || d === tensor.shape[k]);
    if (!dimsOk) {
      throw fail(
        `Input "${name}" has shape [${tensor.shape.join(', ')}] but the model declares [${oipShape(info.shape).join(', ')}]`,
        'SHAPE_MISMATCH',
      );
    }
    inputs[name] = tensor;
  }
  for (const info of signature.inputs) {
    if (!Object.hasOwn(inputs, info.name)) throw fail(`Missing input "${info.name}"`, 'MISSING_INPUT');
  }
  let outputs: readonly InferRequestOutput[];
  if (request.outputs && request.outputs.length > 0) {
    const known = new Set(signature.outputs.map((o) => o.name));
    for (const o of request.outputs) {
      if (!known.has(o.name)) {
        throw new FerryError(
          Code.INVALID_ARGUMENT,
          `Unknown output "${o.name}"; model "${modelName}" has outputs (${signature.outputs.map(describe).join(', ')})`,
          { reason: 'UNKNOWN_OUTPUT' },
        );
      }
    }
    outputs = request.outputs;
  } else {
    outputs = signature.outputs.map((o) => ({ name: o.name, binary: request.binaryOutputs }));
  }
  return { inputs, outputs };
}
