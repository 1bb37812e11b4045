/**
 * `npm run bench [-- --quick] [--json] [--only B1,B5]`: the benchmark table (bench/table.ts), every row a
 * ratio against a baseline measured in the same run; `--json` prints one object
 * `{ machine, rows: [{ id, name, value, baseline, ratio, target, meets }] }` instead.
 * `npm run bench -- noop|encode|ocr`: the older detailed tables (Markdown).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeBench, encodeBenchTable } from './encode.js';
import { noopLatency, noopLatencyTable } from './noop-latency.js';
import { ocrBench } from './ocr.js';
import { machine } from './stats.js';
import { benchTable, formatTable } from './table.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean' }, json: { type: 'boolean' }, only: { type: 'string' } },
});
const quick = values.quick ?? false;
const details: Record<string, () => Promise<string>> = {
  noop: async () =>
    `### Noop round trip over a unix socket\n\n${noopLatencyTable(
      await noopLatency(quick ? { iterations: 500, warmup: 50 } : {}),
    )}`,
  encode: async () =>
    `### Frame encoding: protobuf-es path vs Ferry's one-pass encoders\n\n${encodeBenchTable(encodeBench(quick ? { batchMs: 40 } : {}))}`,
  ocr: () =>
    ocrBench(
      quick
        ? { iterations: 30, noopSamples: 300, minOcrImages: 5 }
        : { iterations: 200, noopSamples: 3000, minOcrImages: 50 },
    ),
};

if (positionals.length > 0) {
  console.log(`Machine: ${machine()}; ${new Date().toISOString()}\n`);
  for (const name of positionals) {
    const bench = details[name];
    if (!bench) {
      console.error(`Unknown benchmark "${name}" (have: ${Object.keys(details).join(', ')})`);
      process.exitCode = 2;
      continue;
    }
    console.log(`${await bench()}\n`);
  }
} else {
  const dir = await mkdtemp(join(tmpdir(), 'fy-bench-'));
  try {
    const table = await benchTable({
      quick,
      dir,
      ...(values.only ? { only: values.only.split(',').map((s) => s.trim()) } : {}),
    });
    console.log(values.json ? JSON.stringify(table) : formatTable(table));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
