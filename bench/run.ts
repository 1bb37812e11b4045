/**
 * `npm run bench [-- <name> …] [--quick]`: runs the benchmarks and prints Markdown tables ready for
 * docs/benchmarks.md. Every figure is a ratio against a baseline measured in the same run.
 */
import { parseArgs } from 'node:util';
import { encodeBench, encodeBenchTable } from './encode.js';
import { noopLatency, noopLatencyTable } from './noop-latency.js';
import { ocrBench } from './ocr.js';
import { machine } from './stats.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean' } } });
const quick = values.quick ?? false;
const benches: Record<string, () => Promise<string>> = {
  noop: async () =>
    `### Noop round trip over a unix socket\n\n${noopLatencyTable(
      await noopLatency(quick ? { iterations: 500, warmup: 50 } : {}),
    )}`,
};

benches.encode = async () =>
  `### Frame encoding: protobuf-es path vs Ferry's one-pass encoders\n\n${encodeBenchTable(encodeBench(quick ? { batchMs: 40 } : {}))}`;
benches.ocr = () =>
  ocrBench(
    quick
      ? { iterations: 30, noopSamples: 300, minOcrImages: 5 }
      : { iterations: 200, noopSamples: 3000, minOcrImages: 50 },
  );

const names = positionals.length > 0 ? positionals : Object.keys(benches);
console.log(`Machine: ${machine()}; ${new Date().toISOString()}\n`);
for (const name of names) {
  const bench = benches[name];
  if (!bench) {
    console.error(`Unknown benchmark "${name}" (have: ${Object.keys(benches).join(', ')})`);
    process.exitCode = 2;
    continue;
  }
  console.log(`${await bench()}\n`);
}
