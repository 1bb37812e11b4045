import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TensorMap } from '@ferry/core';
import { tensorFromProto, tensorToProto } from '@ferry/onnx';
import {
  ADDRESS_FLAG,
  addressFlag,
  defineCommand,
  JSON_FLAG,
  positiveInt,
  required,
  TIMEOUT_FLAG,
} from '../command.js';
import type { Io } from '../io.js';
import { describeTensor, tensorToJsonValues } from '../tensor-format.js';
import { connectClient } from '../wiring.js';

export interface InferArgs {
  readonly address: string;
  readonly model: string;
  readonly inputs: readonly string[];
  readonly out?: string;
  readonly json: boolean;
  readonly timeoutMs?: number;
  readonly modelDir?: string;
}

/** A model argument is a file when one exists at that path, else a name in the agent's model directory. */
export async function readModelArg(model: string): Promise<{ bytes: Uint8Array } | { name: string }> {
  const info = await stat(model).catch(() => undefined);
  if (info?.isFile()) return { bytes: new Uint8Array(await readFile(model)) };
  return { name: model };
}

/** `name=file.pb` or `file.pb` (the TensorProto's own name), in the order the model lists its inputs. */
export async function readInputs(specs: readonly string[], inputNames: readonly string[]): Promise<TensorMap> {
  const inputs: TensorMap = {};
  for (const [index, spec] of specs.entries()) {
    const eq = spec.indexOf('=');
    const path = eq > 0 ? spec.slice(eq + 1) : spec;
    const { name: protoName, tensor } = tensorFromProto(new Uint8Array(await readFile(path)));
    const name = eq > 0 ? spec.slice(0, eq) : protoName || inputNames[index];
    if (!name) throw new Error(`Cannot tell which input ${path} is for: use name=${path}`);
    inputs[name] = tensor;
  }
  return inputs;
}

export async function runInfer(args: InferArgs, io: Io): Promise<number> {
  const handle = connectClient(args.address, args.modelDir ? { modelDir: args.modelDir } : {});
  try {
    const { client } = handle;
    const call = args.timeoutMs ? { timeoutMs: args.timeoutMs } : {};
    const session = await client.createSession(call);
    const model = await client.registerModel(session, await readModelArg(args.model), call);
    const inputs = await readInputs(
      args.inputs,
      model.inputs.map((i) => i.name),
    );
    const outputs = await client.infer(model.modelId, inputs, call);
    if (args.out) {
      await mkdir(args.out, { recursive: true });
      for (const [index, info] of model.outputs.entries()) {
        const tensor = outputs[info.name];
        if (tensor) await writeFile(join(args.out, `output_${index}.pb`), tensorToProto(info.name, tensor));
      }
    }
    if (args.json) {
      const list = Object.entries(outputs).map(([name, t]) => ({
        name,
        dtype: t.dtype,
        shape: t.shape,
        values: tensorToJsonValues(t),
      }));
      io.out(JSON.stringify({ model: { sha256: model.sha256, reused: model.reused }, outputs: list }));
    } else {
      for (const [name, tensor] of Object.entries(outputs)) io.out(describeTensor(name, tensor));
    }
    await client.destroySession(session, call);
    return 0;
  } finally {
    await handle.close();
  }
}

export const inferCommand = defineCommand({
  name: 'infer',
  summary: 'run one inference: inputs and outputs are ONNX TensorProto files',
  synopsis: '--address <address> --model <file.onnx|name> --input [<name>=]<tensor.pb> … [options]',
  details: 'Writes output_<i>.pb to --out, or describes the outputs (--json: their values).',
  flags: {
    address: ADDRESS_FLAG,
    model: { type: 'string', value: '<file.onnx|name>', help: 'an ONNX file (uploaded) or a repository model name' },
    input: { type: 'string', multiple: true, value: '[<name>=]<tensor.pb>', help: 'an input TensorProto' },
    out: { type: 'string', value: '<dir>', help: 'where to write output_<i>.pb' },
    json: JSON_FLAG,
    'timeout-ms': TIMEOUT_FLAG,
    'model-dir': { type: 'string', value: '<dir>', help: 'model repository for --address local:' },
  },
  run({ values }, { io, env }) {
    const timeoutMs = positiveInt(values['timeout-ms'], 'timeout-ms');
    return runInfer(
      {
        address: addressFlag(values.address, env),
        model: required(values.model, 'model'),
        inputs: values.input ?? [],
        json: values.json,
        ...(values.out ? { out: values.out } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
        ...(values['model-dir'] ? { modelDir: values['model-dir'] } : {}),
      },
      io,
    );
  },
});
