/**
 * Frame encoding, old path against new, measured side by side in one run: `toBinary` + `encodeRequest`/
 * `encodeResponse` + `encodeFrame` (protobuf-es's BinaryWriter, three copies of the payload) against
 * `encodeRequestFrame`/`encodeResponseFrame` (exact size computed first, one allocation, one copy).
 *
 * `node --import tsx bench/encode.ts [--quick]` after `npx tsc -b`; `encodeBench()` for bench/run.ts.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { create, toBinary } from '@bufbuild/protobuf';
import type { TensorMap } from '@ferry/core';
import {
  encodeFrame,
  encodeFrameHeader,
  encodeRequest,
  encodeRequestFrame,
  encodeResponse,
  encodeResponseFrame,
  InferRequestSchema,
  InferResponseSchema,
  inferRequestMessage,
  inferResponseMessage,
  MessageType,
  NoopRequestSchema,
  NoopResponseSchema,
  tensorMapToWire,
  toEncodable,
} from '@ferry/protocol';
import { machine } from './stats.js';

export interface EncodeBenchOptions {
  /** Milliseconds per timed batch; five batches per variant, interleaved. */
  readonly batchMs?: number;
  readonly payloadBytes?: readonly number[];
}

export interface EncodeBenchRow {
  readonly message: string;
  readonly payloadBytes: number;
  /** Median nanoseconds per frame. */
  readonly oldNs: number;
  /** The old path without the final concat, as writeFrame sends frames of 16 KiB and more. */
  readonly oldNoConcatNs: number;
  readonly newNs: number;
  /** One allocation of the frame's size and one copy of the payload: what no encoder can beat. */
  readonly floorNs: number;
}

const SERVICE = 'ferry.v1.Accelerator';
const LIMIT = { maxFrameBytes: 64 * 1024 * 1024 };
const TIMEOUT_NANO = 30_000_000_000n;
let sink = 0;

interface Case {
  readonly message: string;
  readonly payload: Uint8Array;
  readonly old: () => Uint8Array;
  /** Header and envelope as two buffers, the envelope built the old way. */
  readonly oldNoConcat: () => Uint8Array;
  readonly new: () => Uint8Array;
}

function floor(payload: Uint8Array, frameBytes: number): () => Uint8Array {
  return () => {
    const buf = Buffer.allocUnsafe(frameBytes);
    buf.set(payload, frameBytes - payload.byteLength);
    return buf;
  };
}

function cases(size: number): Case[] {
  const payload = new Uint8Array(size).fill(7);
  const tensors: TensorMap = { input: { dtype: 'float32', shape: [1, size / 4], data: payload } };
  const noopRequest = () =>
    encodeRequest({
      service: SERVICE,
      method: 'Noop',
      payload: toBinary(NoopRequestSchema, create(NoopRequestSchema, { payload })),
      timeoutNano: TIMEOUT_NANO,
    });
  const noopResponse = () =>
    encodeResponse({ payload: toBinary(NoopResponseSchema, create(NoopResponseSchema, { payload })) });
  const inferRequest = () =>
    encodeRequest({
      service: SERVICE,
      method: 'Infer',
      payload: toBinary(
        InferRequestSchema,
        create(InferRequestSchema, { modelId: 1, inputs: tensorMapToWire(tensors), outputNames: [] }),
      ),
      timeoutNano: TIMEOUT_NANO,
    });
  const inferResponse = () =>
    encodeResponse({
      payload: toBinary(InferResponseSchema, create(InferResponseSchema, { outputs: tensorMapToWire(tensors) })),
    });
  const frame = (type: number, envelope: Uint8Array) =>
    encodeFrame({ streamId: 1, type, flags: 0, payload: envelope }, LIMIT);
  const split = (type: number, envelope: Uint8Array) => {
    sink += encodeFrameHeader(1, type, 0, envelope.byteLength, LIMIT).byteLength;
    return envelope;
  };
  const { REQUEST, RESPONSE } = MessageType;
  return [
    {
      message: 'Noop request',
      payload,
      old: () => frame(REQUEST, noopRequest()),
      oldNoConcat: () => split(REQUEST, noopRequest()),
      new: () =>
        encodeRequestFrame(
          1,
          { service: SERVICE, method: 'Noop', timeoutNano: TIMEOUT_NANO },
          toEncodable(NoopRequestSchema, { payload }),
          LIMIT,
        ),
    },
    {
      message: 'Noop response',
      payload,
      old: () => frame(RESPONSE, noopResponse()),
      oldNoConcat: () => split(RESPONSE, noopResponse()),
      new: () => encodeResponseFrame(1, {}, toEncodable(NoopResponseSchema, { payload }), LIMIT),
    },
    {
      message: 'Infer request (float32)',
      payload,
      old: () => frame(REQUEST, inferRequest()),
      oldNoConcat: () => split(REQUEST, inferRequest()),
      new: () =>
        encodeRequestFrame(
          1,
          { service: SERVICE, method: 'Infer', timeoutNano: TIMEOUT_NANO },
          inferRequestMessage(1, tensors),
          LIMIT,
        ),
    },
    {
      message: 'Infer response (float32)',
      payload,
      old: () => frame(RESPONSE, inferResponse()),
      oldNoConcat: () => split(RESPONSE, inferResponse()),
      new: () => encodeResponseFrame(1, {}, inferResponseMessage(tensors), LIMIT),
    },
  ];
}

/** Nanoseconds per call over a batch of about `batchMs`. */
function timeBatch(fn: () => Uint8Array, batchMs: number): number {
  let iterations = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(batchMs * 1e6));
  let elapsed = 0n;
  // Check the clock every 16 calls so that it does not dominate 64-byte frames.
  while (elapsed < budget) {
    for (let i = 0; i < 16; i++) sink += fn().byteLength;
    iterations += 16;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / iterations;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export function encodeBench(options: EncodeBenchOptions = {}): EncodeBenchRow[] {
  const batchMs = options.batchMs ?? 200;
  const sizes = options.payloadBytes ?? [64, 4096, 65536, 1 << 20];
  const rows: EncodeBenchRow[] = [];
  for (const size of sizes) {
    for (const c of cases(size)) {
      if (Buffer.compare(Buffer.from(c.old()), Buffer.from(c.new())) !== 0) {
        throw new Error(`${c.message} (${size} B): the new encoder's frame differs from the old one`);
      }
      const variants = {
        old: c.old,
        oldNoConcat: c.oldNoConcat,
        new: c.new,
        floor: floor(c.payload, c.new().byteLength),
      };
      const samples = { old: [] as number[], oldNoConcat: [] as number[], new: [] as number[], floor: [] as number[] };
      // Warm up, then interleave the variants so that machine noise and GC hit all alike.
      for (const fn of Object.values(variants)) timeBatch(fn, batchMs);
      for (let round = 0; round < 5; round++) {
        for (const key of ['old', 'oldNoConcat', 'new', 'floor'] as const) {
          samples[key].push(timeBatch(variants[key], batchMs));
        }
      }
      rows.push({
        message: c.message,
        payloadBytes: size,
        oldNs: median(samples.old),
        oldNoConcatNs: median(samples.oldNoConcat),
        newNs: median(samples.new),
        floorNs: median(samples.floor),
      });
    }
  }
  return rows;
}

function fmtNs(ns: number): string {
  if (ns < 1000) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

function fmtBytes(bytes: number): string {
  if (bytes >= 1 << 20) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

export function encodeBenchTable(rows: readonly EncodeBenchRow[]): string {
  const lines = [
    '| message | payload | old: toBinary + encodeRequest/Response + encodeFrame | old without the frame concat | new: encodeRequestFrame/ResponseFrame | old / new | floor: alloc + 1 copy |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.message} | ${fmtBytes(r.payloadBytes)} | ${fmtNs(r.oldNs)} | ${fmtNs(r.oldNoConcatNs)} | ${fmtNs(r.newNs)} | ${(r.oldNs / r.newNs).toFixed(2)}× | ${fmtNs(r.floorNs)} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' } } });
  const rows = encodeBench(values.quick ? { batchMs: 40 } : {});
  console.log(`Machine: ${machine()}; ${new Date().toISOString()}\n`);
  console.log('### Frame encoding (median per frame, 5 interleaved batches)\n');
  console.log(encodeBenchTable(rows));
  if (sink === 0) console.log('');
}
