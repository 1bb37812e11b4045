import { readFile } from 'node:fs/promises';
import type { Client, RepositoryModel } from '@ferry/client';
import type { Io } from '../io.js';
import { connectClient } from '../wiring.js';

export interface VisionArgs {
  readonly address: string;
  readonly images: readonly string[];
  readonly json: boolean;
  readonly timeoutMs?: number;
  readonly model?: string;
  readonly topK?: number;
}

type Op = 'classify' | 'detect' | 'ocr';

/** Runs an op on each image; one line (or one JSON object per line) per image. Exit 1 if any failed. */
export async function runVision(op: Op, args: VisionArgs, io: Io): Promise<number> {
  const handle = connectClient(args.address);
  let failed = 0;
  try {
    const call = args.timeoutMs ? { timeoutMs: args.timeoutMs } : {};
    for (const path of args.images) {
      try {
        const image = new Uint8Array(await readFile(path));
        const result = await runOp(handle.client, op, image, args, call);
        if (args.json) io.out(JSON.stringify({ image: path, ...result }));
        else io.out(formatResult(path, result));
      } catch (error) {
        failed++;
        const message = error instanceof Error ? error.message : String(error);
        if (args.json) io.out(JSON.stringify({ image: path, error: message }));
        else io.err(`${path}: ${message}`);
      }
    }
  } finally {
    await handle.close();
  }
  return failed === 0 ? 0 : 1;
}

type OpResult =
  | { results: Awaited<ReturnType<Client['classify']>> }
  | { detections: Awaited<ReturnType<Client['detect']>> }
  | { lines: Awaited<ReturnType<Client['ocr']>> };

async function runOp(client: Client, op: Op, image: Uint8Array, args: VisionArgs, call: object): Promise<OpResult> {
  switch (op) {
    case 'classify':
      return {
        results: await client.classify(image, {
          model: args.model ?? '',
          ...(args.topK ? { topK: args.topK } : {}),
          ...call,
        }),
      };
    case 'detect':
      return { detections: await client.detect(image, { ...(args.model ? { model: args.model } : {}), ...call }) };
    case 'ocr':
      return { lines: await client.ocr(image, call) };
  }
}

function formatResult(path: string, result: OpResult): string {
  if ('results' in result) {
    return `${path}: ${result.results.map((r) => `${r.label} ${r.score.toFixed(4)}`).join(', ') || '(nothing)'}`;
  }
  if ('detections' in result) {
    const boxes = result.detections.map(
      (d) =>
        `  ${d.label} ${d.score.toFixed(3)} ${d.box.map((p) => `${Math.round(p.x)},${Math.round(p.y)}`).join(' ')}`,
    );
    return [`${path}: ${result.detections.length} boxes`, ...boxes].join('\n');
  }
  return [`${path}:`, ...result.lines.map((l) => `  ${l.text}${l.angle === 180 ? '  (rotated 180°)' : ''}`)].join('\n');
}

export interface ModelsArgs {
  readonly address: string;
  readonly action: 'list' | 'load' | 'unload' | 'describe';
  readonly name?: string;
  readonly json: boolean;
}

/** `ferry models list|describe|load|unload`. */
export async function runModels(args: ModelsArgs, io: Io): Promise<number> {
  const handle = connectClient(args.address);
  try {
    const { client } = handle;
    const name = args.name ?? '';
    switch (args.action) {
      case 'list': {
        const models = await client.listModels();
        if (args.json) io.out(JSON.stringify(models.map(summary)));
        else for (const m of models) io.out(modelLine(m));
        return 0;
      }
      case 'describe':
      case 'load': {
        const model = args.action === 'load' ? await client.loadModel(name) : await client.describeModel(name);
        if (args.json) io.out(JSON.stringify(model));
        else {
          io.out(modelLine(model));
          for (const i of model.inputs)
            io.out(`  input  ${i.name}: ${i.dtype}[${i.shape.map((d) => d ?? '?').join(', ')}]`);
          for (const o of model.outputs)
            io.out(`  output ${o.name}: ${o.dtype}[${o.shape.map((d) => d ?? '?').join(', ')}]`);
        }
        return 0;
      }
      case 'unload':
        await client.unloadModel(name);
        if (!args.json) io.out(`unloaded ${name}`);
        else io.out(JSON.stringify({ unloaded: name }));
        return 0;
    }
  } finally {
    await handle.close();
  }
}

function summary(m: RepositoryModel) {
  return { name: m.name, task: m.task, builtin: m.builtin, loaded: m.loaded, sha256: m.sha256, labels: m.labels };
}

function modelLine(m: RepositoryModel): string {
  const flags = [m.builtin ? 'built-in' : 'directory', m.loaded ? `loaded ${m.sha256.slice(0, 12)}` : 'not loaded'];
  return `${m.name.padEnd(20)} ${m.task.padEnd(9)} ${flags.join(', ')}`;
}
