/**
 * Noop round trip over a unix socket through the whole Ferry path (client → ttrpc → agent → back),
 * next to a raw Node unix-socket echo of the same payload measured in the same run.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '@ferry/agent';
import { createNoopBackend } from '@ferry/backend-noop';
import { createClient } from '@ferry/client';
import { registryOf } from '@ferry/core/testing';
import * as grpc from '@grpc/grpc-js';
import { echoClient } from './echo-client.js';
import { bytesMethod } from './grpc-bytes.js';
import { fmt, percentiles, timeSequential } from './stats.js';

export interface NoopLatencyOptions {
  readonly iterations?: number;
  readonly warmup?: number;
  readonly payloadBytes?: readonly number[];
}

export interface NoopLatencyRow {
  readonly payloadBytes: number;
  readonly rawP50: number;
  readonly rawP99: number;
  readonly grpcP50: number;
  readonly grpcP99: number;
  readonly ferryP50: number;
  readonly ferryP99: number;
}

/** A @grpc/grpc-js unary echo over a unix socket: what a gRPC agent would cost for the same call. */
async function grpcEcho(path: string): Promise<{ roundTrip(payload: Buffer): Promise<void>; close(): Promise<void> }> {
  const method = bytesMethod('/bench.Echo/Echo');
  const server = new grpc.Server();
  server.addService({ echo: method } as grpc.ServiceDefinition, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, call.request),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  const client = new grpc.Client(`unix://${path}`, grpc.credentials.createInsecure());
  return {
    roundTrip(payload) {
      return new Promise<void>((resolve, reject) =>
        client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, payload, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
    },
    async close() {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

async function rawEcho(path: string): Promise<{ roundTrip(payload: Buffer): Promise<void>; close(): Promise<void> }> {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = await echoClient(path);
  return {
    roundTrip: (payload) => client.roundTrip(payload),
    async close() {
      client.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function noopLatency(options: NoopLatencyOptions = {}): Promise<NoopLatencyRow[]> {
  const iterations = options.iterations ?? 5000;
  const warmup = options.warmup ?? 500;
  const sizes = options.payloadBytes ?? [64, 4096, 65536];
  const dir = await mkdtemp(join(tmpdir(), 'fy-bench-'));
  const raw = await rawEcho(join(dir, 'raw.sock'));
  const grpcPeer = await grpcEcho(join(dir, 'grpc.sock'));
  const agent = await createAgent({
    backends: registryOf(createNoopBackend()),
    listen: [`unix://${join(dir, 'agent.sock')}`],
  });
  const client = createClient({ address: `unix://${join(dir, 'agent.sock')}` });
  const rows: NoopLatencyRow[] = [];
  try {
    for (const size of sizes) {
      const payload = Buffer.alloc(size, 7);
      // Interleave the two so that machine noise hits both alike.
      const rawSamples: number[] = [];
      const grpcSamples: number[] = [];
      const ferrySamples: number[] = [];
      for (let round = 0; round < 5; round++) {
        rawSamples.push(...(await timeSequential(() => raw.roundTrip(payload), iterations / 5, warmup / 5)));
        grpcSamples.push(...(await timeSequential(() => grpcPeer.roundTrip(payload), iterations / 5, warmup / 5)));
        ferrySamples.push(...(await timeSequential(() => client.noop(payload), iterations / 5, warmup / 5)));
      }
      const r = percentiles(rawSamples);
      const g = percentiles(grpcSamples);
      const f = percentiles(ferrySamples);
      rows.push({
        payloadBytes: size,
        rawP50: r.p50,
        rawP99: r.p99,
        grpcP50: g.p50,
        grpcP99: g.p99,
        ferryP50: f.p50,
        ferryP99: f.p99,
      });
    }
  } finally {
    await client.close();
    await agent.close();
    await raw.close();
    await grpcPeer.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

export function noopLatencyTable(rows: readonly NoopLatencyRow[]): string {
  const lines = [
    '| payload | raw echo p50 / p99 | grpc-js echo p50 / p99 | Ferry Noop p50 / p99 | Ferry ÷ raw (p50) | Ferry ÷ gRPC (p50) |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.payloadBytes} B | ${fmt(r.rawP50)} / ${fmt(r.rawP99)} | ${fmt(r.grpcP50)} / ${fmt(r.grpcP99)} | ${fmt(r.ferryP50)} / ${fmt(r.ferryP99)} | ${(r.ferryP50 / r.rawP50).toFixed(2)}× | ${(r.ferryP50 / r.grpcP50).toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}
