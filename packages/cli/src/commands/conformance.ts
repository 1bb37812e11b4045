import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FerryError, type Tensor } from '@ferry/core';
import { tensorFromProto } from '@ferry/onnx';
import {
  ADDRESS_FLAG,
  addressFlag,
  defineCommand,
  JSON_FLAG,
  positiveInt,
  TIMEOUT_FLAG,
  UsageError,
} from '../command.js';
import type { Io } from '../io.js';
import { tensorToJsonValues } from '../tensor-format.js';
import { connectClient } from '../wiring.js';

export interface ConformanceArgs {
  readonly address: string;
  readonly dirs: readonly string[];
  readonly json: boolean;
  readonly timeoutMs?: number;
}

export interface CaseResult {
  readonly dir: string;
  readonly dataSet: string;
  readonly ok: boolean;
  readonly error?: string;
}

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-5 };

/**
 * Tolerances a test directory sets in `config.txt` (`per_sample_tolerance` is the absolute one,
 * `relative_per_sample_tolerance` the relative one, as onnxruntime's test runner reads them).
 */
export async function readTolerance(dir: string): Promise<Tolerance> {
  const text = await readFile(join(dir, 'config.txt'), 'utf8').catch(() => '');
  let { rtol, atol } = DEFAULT_TOLERANCE;
  for (const line of text.split('\n')) {
    const match = /^\s*([a-z_]+)\s*[:=]\s*([-+0-9.eE]+)\s*$/.exec(line);
    if (!match) continue;
    const value = Number(match[2]);
    if (!Number.isFinite(value)) continue;
    if (match[1] === 'per_sample_tolerance') atol = value;
    if (match[1] === 'relative_per_sample_tolerance') rtol = value;
  }
  return { rtol, atol };
}

/** Why `actual` differs from `expected`, or undefined when they match (floats within tolerance, the rest exactly). */
export function compareTensors(name: string, expected: Tensor, actual: Tensor, tol: Tolerance): string | undefined {
  if (expected.dtype !== actual.dtype) return `${name}: dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (expected.shape.join(',') !== actual.shape.join(',')) {
    return `${name}: shape [${actual.shape.join(', ')}], expected [${expected.shape.join(', ')}]`;
  }
  const floating = ['float32', 'float64', 'float16', 'bfloat16'].includes(expected.dtype);
  const want = tensorToJsonValues(expected);
  const got = tensorToJsonValues(actual);
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (floating && typeof w === 'number' && typeof g === 'number') {
      if (Number.isNaN(w) && Number.isNaN(g)) continue;
      if (w === g) continue;
      if (Math.abs(g - w) <= tol.atol + tol.rtol * Math.abs(w)) continue;
      return `${name}[${i}]: ${g}, expected ${w} (rtol ${tol.rtol}, atol ${tol.atol})`;
    }
    if (w !== g) return `${name}[${i}]: ${String(g)}, expected ${String(w)}`;
  }
  return undefined;
}

async function loadTensors(dir: string, prefix: string): Promise<{ name: string; tensor: Tensor }[]> {
  const files = (await readdir(dir)).filter((f) => f.startsWith(prefix) && f.endsWith('.pb'));
  files.sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)));
  return Promise.all(files.map(async (f) => tensorFromProto(new Uint8Array(await readFile(join(dir, f))))));
}

/** Runs every `test_data_set_*` of each directory through the agent; exit 0 only if all pass. */
export async function runConformance(args: ConformanceArgs, io: Io): Promise<number> {
  const handle = connectClient(args.address);
  const results: CaseResult[] = [];
  const call = args.timeoutMs ? { timeoutMs: args.timeoutMs } : {};
  try {
    const { client } = handle;
    const session = await client.createSession(call);
    for (const dir of args.dirs) {
      const record = (dataSet: string, error?: string) => {
        const result: CaseResult = { dir, dataSet, ok: error === undefined, ...(error === undefined ? {} : { error }) };
        results.push(result);
        if (!args.json) io.out(`${result.ok ? 'PASS' : 'FAIL'} ${dir} ${dataSet}${error ? `: ${error}` : ''}`);
      };
      let model: Awaited<ReturnType<typeof client.registerModel>>;
      let dataSets: string[];
      try {
        const bytes = new Uint8Array(await readFile(join(dir, 'model.onnx')));
        model = await client.registerModel(session, { bytes }, call);
        dataSets = (await readdir(dir)).filter((d) => d.startsWith('test_data_set_')).sort();
        if (dataSets.length === 0) throw new Error('no test_data_set_* directories');
      } catch (error) {
        record('model', messageOf(error));
        continue;
      }
      const tolerance = await readTolerance(dir);
      for (const dataSet of dataSets) {
        try {
          const path = join(dir, dataSet);
          const inputs = await loadTensors(path, 'input_');
          const expected = await loadTensors(path, 'output_');
          const feeds = Object.fromEntries(
            inputs.map(({ name, tensor }, i) => [name || model.inputs[i]?.name || `input_${i}`, tensor]),
          );
          const outputs = await client.infer(model.modelId, feeds, call);
          let failure: string | undefined;
          for (const [i, { name, tensor }] of expected.entries()) {
            const outName = name || model.outputs[i]?.name || '';
            const actual = outputs[outName];
            failure = actual ? compareTensors(outName, tensor, actual, tolerance) : `missing output "${outName}"`;
            if (failure) break;
          }
          record(basename(path), failure);
        } catch (error) {
          record(dataSet, messageOf(error));
        }
      }
      await client.unregisterModel(model.modelId, call).catch(() => {});
    }
  } catch (error) {
    results.push({ dir: args.dirs.join(','), dataSet: '-', ok: false, error: messageOf(error) });
  } finally {
    await handle.close();
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (args.json) io.out(JSON.stringify({ passed, failed, cases: results }));
  else io.out(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

function messageOf(error: unknown): string {
  return FerryError.from(error).message;
}

export const conformanceCommand = defineCommand({
  name: 'conformance',
  summary: 'run ONNX backend-test directories through the agent and compare the outputs',
  synopsis: '--address <address> <dir> … [--json] [--timeout-ms <n>]',
  details: 'Each <dir> holds model.onnx and test_data_set_*/input_*.pb, output_*.pb (ONNX backend-test layout).',
  positionals: true,
  flags: { address: ADDRESS_FLAG, json: JSON_FLAG, 'timeout-ms': TIMEOUT_FLAG },
  run({ values, positionals }, { io, env }) {
    if (positionals.length === 0) throw new UsageError('conformance needs at least one test directory');
    const timeoutMs = positiveInt(values['timeout-ms'], 'timeout-ms');
    return runConformance(
      {
        address: addressFlag(values.address, env),
        dirs: positionals,
        json: values.json,
        ...(timeoutMs ? { timeoutMs } : {}),
      },
      io,
    );
  },
});
