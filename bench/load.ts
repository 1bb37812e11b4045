// `npm run load -- [--tenants 32] [--calls 2000]`: starts `ferry agent` (compiled) with one unix listener per
// tenant and runs the mixed load of bench/load-agent.ts against it (the tests run a bounded form).
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderText } from '../test/support/images.js';
import { spawnAgent } from './agent-process.js';
import { loadAgent } from './load-agent.js';

const { values } = parseArgs({
  options: { tenants: { type: 'string', default: '32' }, calls: { type: 'string', default: '2000' } },
});
const tenants = Number(values.tenants);
const calls = Number(values.calls);
const dir = await mkdtemp(join(tmpdir(), 'ferry-load-'));
const addresses = Array.from({ length: tenants }, (_, i) => `unix://${join(dir, `t${i}.sock`)}`);
const agent = await spawnAgent([...addresses.flatMap((a) => ['--listen', a]), '--log-level', 'error']);
let exitCode = 1;
try {
  const images = await Promise.all(addresses.map((_, i) => renderText([`FERRY ${100 + i}`])));
  const report = await loadAgent({ pid: agent.child.pid as number, addresses, callsPerTenant: calls, images });
  const mib = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`;
  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
  console.log(`Command: npm run load -- --tenants ${tenants} --calls ${calls}`);
  console.log(`${report.calls} calls in ${report.seconds.toFixed(1)} s: ${JSON.stringify(report.byKind)}`);
  console.log(
    `Right: ${report.right}, wrong: ${report.wrong}${report.firstWrong ? ` (first: ${report.firstWrong})` : ''}`,
  );
  console.log(
    `Agent RSS: ${mib(report.rssBeforeBytes)} before, ${mib(report.rssAfterBytes)} after, peak ${mib(report.peakRssBytes)}`,
  );
  exitCode = report.wrong === 0 && report.calls === tenants * calls ? 0 : 1;
} finally {
  await agent.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exit(exitCode);
