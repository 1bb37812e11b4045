// `npm run fuzz -- --frames <n> --seconds <s> [--connections <n>]`: starts `ferry agent` (compiled) on two
// unix sockets in a temp dir, one tenant for the fuzzer and one for a well-behaved guest, runs the fuzzer
// and prints what happened. Exits 1 if the good tenant saw a wrong answer or an error, or the agent died.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnAgent } from './agent-process.js';
import { fuzzAgent } from './fuzz-agent.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '120' },
    connections: { type: 'string', default: '8' },
  },
});
const frames = Number(values.frames);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
for (const [name, n] of Object.entries({ frames, seconds, connections })) {
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name} must be a positive number`);
}

const dir = await mkdtemp(join(tmpdir(), 'ferry-fuzz-'));
const fuzzPath = join(dir, 'fuzz.sock');
const goodPath = join(dir, 'good.sock');
const stallMs = 2000;
const agent = await spawnAgent([
  '--listen',
  `unix://${fuzzPath}`,
  '--listen',
  `unix://${goodPath}`,
  '--limit',
  `maxFrameStallMs=${stallMs}`,
  '--log-level',
  'error',
]);
let exitCode = 1;
try {
  const report = await fuzzAgent({
    pid: agent.child.pid as number,
    fuzzPath,
    goodAddress: `unix://${goodPath}`,
    frames,
    seconds,
    connections,
  });
  const mib = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`;
  const goodShare = report.good.calls === 0 ? 0 : (100 * report.good.ok) / report.good.calls;
  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
  console.log(`Command: npm run fuzz -- --frames ${frames} --seconds ${seconds} --connections ${connections}`);
  console.log(`Ran ${report.seconds.toFixed(1)} s; agent --limit maxFrameStallMs=${stallMs}`);
  console.log(`Hostile frames sent: ${report.framesSent} over ${connections} connections at a time`);
  for (const [kind, n] of Object.entries(report.byKind).sort()) console.log(`  ${kind}: ${n}`);
  console.log(`Hostile connections the agent closed: ${report.connectionsClosed}`);
  console.log(
    `Good tenant: ${report.good.ok}/${report.good.calls} answered right (${goodShare.toFixed(2)} %), ` +
      `${report.good.wrong} wrong, ${report.good.errors} errors${report.firstGoodFailure ? ` (first: ${report.firstGoodFailure})` : ''}`,
  );
  console.log(
    `Agent RSS: ${mib(report.rssBeforeBytes)} before, ${mib(report.rssAfterBytes)} after, peak ${mib(report.peakRssBytes)}`,
  );
  console.log(`Agent alive after the run: ${report.agentAlive ? 'yes' : 'NO'}`);
  const ok = report.agentAlive && report.good.wrong === 0 && report.good.errors === 0 && report.good.calls > 0;
  exitCode = ok ? 0 : 1;
} finally {
  await agent.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exit(exitCode);
