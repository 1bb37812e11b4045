import { readFile } from 'node:fs/promises';
import type { Client } from '@ferry/client';
import {
  ADDRESS_FLAG,
  addressFlag,
  type Command,
  defineCommand,
  JSON_FLAG,
  positiveInt,
  TIMEOUT_FLAG,
  UsageError,
} from '../command.js';
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

const SUMMARIES: Record<Op, string> = {
  classify: 'classify images (JPEG, PNG, WebP) with a classifier of the repository',
  detect: 'find text boxes in images (the built-in PP-OCR detector, or --model)',
  ocr: 'read the text of images (PP-OCR: detection, direction, recognition)',
};

function visionCommand(op: Op): Command {
  return defineCommand({
    name: op,
    summary: SUMMARIES[op],
    synopsis: `--address <address>${op === 'classify' ? ' --model <name> [--top-k <n>]' : op === 'detect' ? ' [--model <name>]' : ''} <image> … [--json]`,
    details: 'One line per image, or with --json one object per image; exit 1 if any image failed.',
    positionals: true,
    flags: {
      address: ADDRESS_FLAG,
      model: { type: 'string', value: '<name>', help: 'a repository model' },
      'top-k': { type: 'string', value: '<n>', help: 'classify: how many labels (default 5)' },
      json: JSON_FLAG,
      'timeout-ms': TIMEOUT_FLAG,
    },
    run({ values, positionals }, { io, env }) {
      if (positionals.length === 0) throw new UsageError(`${op} needs at least one image`);
      if (op === 'classify' && !values.model) throw new UsageError('classify needs --model');
      const topK = positiveInt(values['top-k'], 'top-k');
      const timeoutMs = positiveInt(values['timeout-ms'], 'timeout-ms');
      return runVision(
        op,
        {
          address: addressFlag(values.address, env),
          images: positionals,
          json: values.json,
          ...(values.model ? { model: values.model } : {}),
          ...(topK ? { topK } : {}),
          ...(timeoutMs ? { timeoutMs } : {}),
        },
        io,
      );
    },
  });
}

export const classifyCommand = visionCommand('classify');
export const detectCommand = visionCommand('detect');
export const ocrCommand = visionCommand('ocr');
