import { Code, checkTensor, FerryError, type NumericDType, type NumericTensor, type TensorMap } from '@ferry/core';
import { VaccelTfDataType, VaccelTfliteDataType, VaccelTorchDataType } from '@ferry/protocol';
import type { CallContext } from './accelerator-service.js';
import { vaccelId } from './vaccel-handler.js';

/** A framework's element-type numbers for the dtypes Ferry can carry; the others are refused. */
export type DTypeTable = ReadonlyMap<number, NumericDType>;

export const TF_DTYPES: DTypeTable = new Map<number, NumericDType>([
  [VaccelTfDataType.FLOAT, 'float32'],
  [VaccelTfDataType.DOUBLE, 'float64'],
  [VaccelTfDataType.INT32, 'int32'],
  [VaccelTfDataType.UINT8, 'uint8'],
  [VaccelTfDataType.INT16, 'int16'],
  [VaccelTfDataType.INT8, 'int8'],
  [VaccelTfDataType.INT64, 'int64'],
  [VaccelTfDataType.BOOL, 'bool'],
  [VaccelTfDataType.BFLOAT16, 'bfloat16'],
  [VaccelTfDataType.UINT16, 'uint16'],
  [VaccelTfDataType.HALF, 'float16'],
  [VaccelTfDataType.UINT32, 'uint32'],
  [VaccelTfDataType.UINT64, 'uint64'],
]);

export const TFLITE_DTYPES: DTypeTable = new Map<number, NumericDType>([
  [VaccelTfliteDataType.FLOAT32, 'float32'],
  [VaccelTfliteDataType.INT32, 'int32'],
  [VaccelTfliteDataType.UINT8, 'uint8'],
  [VaccelTfliteDataType.INT64, 'int64'],
  [VaccelTfliteDataType.BOOL, 'bool'],
  [VaccelTfliteDataType.INT16, 'int16'],
  [VaccelTfliteDataType.INT8, 'int8'],
  [VaccelTfliteDataType.FLOAT16, 'float16'],
  [VaccelTfliteDataType.FLOAT64, 'float64'],
  [VaccelTfliteDataType.UINT64, 'uint64'],
  [VaccelTfliteDataType.UINT32, 'uint32'],
  [VaccelTfliteDataType.UINT16, 'uint16'],
]);

export const TORCH_DTYPES: DTypeTable = new Map<number, NumericDType>([
  [VaccelTorchDataType.UINT8, 'uint8'],
  [VaccelTorchDataType.INT8, 'int8'],
  [VaccelTorchDataType.INT16, 'int16'],
  [VaccelTorchDataType.INT32, 'int32'],
  [VaccelTorchDataType.INT64, 'int64'],
  [VaccelTorchDataType.HALF, 'float16'],
  [VaccelTorchDataType.FLOAT, 'float32'],
]);

/** A tensor as the framework RPCs carry it: element-type number, dims, raw little-endian bytes. */
export interface VaccelTensor {
  readonly type: number;
  readonly dims: readonly (bigint | number)[];
  readonly data: Uint8Array;
}

export interface TensorRun {
  readonly sessionId: bigint;
  readonly modelId: bigint;
  readonly inputs: readonly VaccelTensor[];
  /** TensorFlow's input node names; mapped by name when every one names a model input, else by position. */
  readonly inputNames?: readonly string[];
  /** TensorFlow's output node names (same rule), or how many outputs the guest wants (0: all). */
  readonly outputs: readonly string[] | number;
  readonly table: DTypeTable;
}

/**
 * Runs a TensorFlow/TFLite/Torch-style tensor call on an ONNX resource through Ferry's `infer` path
 * (scheduler, cache hold, metrics), when the request maps cleanly onto the model: known element types,
 * inputs by name or by position, outputs by name, position or count.
 */
export async function runVaccelTensors(
  run: TensorRun,
  { tenant, services, signal, report }: CallContext,
): Promise<{ type: number; dims: number[]; data: Uint8Array }[]> {
  tenant.checkSession(vaccelId(run.sessionId, 'Session', tenant.name));
  const model = tenant.model(vaccelId(run.modelId, 'Resource', tenant.name));
  const signature = model.cached.model;
  const limit = services.limits.maxTensorsPerCall;
  const wantsOutputs = typeof run.outputs === 'number' ? run.outputs : run.outputs.length;
  if (run.inputs.length > limit || wantsOutputs > limit) {
    throw new FerryError(Code.RESOURCE_EXHAUSTED, `More than ${limit} tensors in one call`, {
      reason: 'TOO_MANY_TENSORS',
    });
  }
  const inputNames = pickNames(
    run.inputNames ?? [],
    run.inputs.length,
    signature.inputs.map((i) => i.name),
    'inputs',
  );
  const inputs: TensorMap = {};
  run.inputs.forEach((wire, k) => {
    const name = inputNames[k] as string;
    const dtype = run.table.get(wire.type);
    if (dtype === undefined) {
      throw new FerryError(Code.INVALID_ARGUMENT, `Input ${k} has an element type (${wire.type}) Ferry cannot run`, {
        reason: 'VACCEL_TENSOR_MISMATCH',
      });
    }
    const shape = wire.dims.map((d) => {
      const n = Number(d);
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new FerryError(Code.INVALID_ARGUMENT, `Invalid dimension ${d}`, { reason: 'INVALID_SHAPE' });
      }
      return n;
    });
    const tensor: NumericTensor = { dtype, shape, data: wire.data };
    checkTensor(name, tensor);
    inputs[name] = tensor;
  });
  const allOutputs = signature.outputs.map((o) => o.name);
  const outputNames =
    typeof run.outputs === 'number'
      ? allOutputs.slice(0, run.outputs > 0 ? run.outputs : allOutputs.length)
      : run.outputs.length === 0
        ? allOutputs
        : pickNames(run.outputs, run.outputs.length, allOutputs, 'outputs');
  if (outputNames.length < wantsOutputs) {
    throw new FerryError(
      Code.INVALID_ARGUMENT,
      `The guest asks for ${wantsOutputs} outputs; the model has ${allOutputs.length}`,
      { reason: 'VACCEL_TENSOR_MISMATCH' },
    );
  }
  report.model = model.name;
  const outputs = await services.runner.run(model.cached, inputs, { signal, report, outputNames });
  return outputNames.map((name) => {
    const out = outputs[name];
    const type = out && out.dtype !== 'string' ? typeOf(run.table, out.dtype) : undefined;
    if (!out || out.dtype === 'string' || type === undefined) {
      throw new FerryError(
        Code.FAILED_PRECONDITION,
        `Output "${name}" is ${out?.dtype ?? 'missing'}, which this framework's tensors cannot carry`,
        { reason: 'VACCEL_TENSOR_MISMATCH' },
      );
    }
    return { type, dims: [...out.shape], data: out.data };
  });
}

/** The model names the guest's names stand for: all by name when every one matches, else by position. */
function pickNames(given: readonly string[], count: number, model: readonly string[], what: string): string[] {
  if (given.length === count && count > 0 && given.every((n) => model.includes(n))) return [...given];
  if (count > model.length || (what === 'inputs' && count !== model.length)) {
    throw new FerryError(
      Code.INVALID_ARGUMENT,
      `The guest sent ${count} ${what}; the model has ${model.length} (${model.join(', ')})`,
      { reason: 'VACCEL_TENSOR_MISMATCH' },
    );
  }
  return model.slice(0, count);
}

function typeOf(table: DTypeTable, dtype: NumericDType): number | undefined {
  for (const [type, d] of table) if (d === dtype) return type;
  return undefined;
}
