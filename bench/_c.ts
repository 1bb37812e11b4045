import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@ferry/client';
import { spawnAgent } from './agent-process.js';

const dir = await mkdtemp(join(tmpdir(), 'fy-b7-'));
const n = Number(process.argv[2]);
const listen = Array.from({ length: Number(process.argv[3]) }, (_, i) => [
  '--listen',
  `unix://${join(dir, `b7-${i}.sock`)}`,
]);
const agent = await spawnAgent(listen.flat());
agent.child.on('exit', (code, sig) => console.log('AGENT EXIT', code, sig));
const r = await Promise.allSettled(
  listen.slice(0, n).map(async ([, a]) => {
    const c = createClient({ address: a as string });
    await c.registerModel(await c.createSession(), { name: 'ppocr-cls' });
  }),
);
console.log(
  n,
  r.filter((x) => x.status === 'fulfilled').length,
  (r.find((x) => x.status === 'rejected') as any)?.reason?.message,
);
await new Promise((r) => setTimeout(r, 500));
await agent.stop();
