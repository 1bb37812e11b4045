import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startAgent, tempDir } from '../support/fixtures.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../packages/serve/src/bin.ts', import.meta.url));

function spawnServe(args: readonly string[]) {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', bin, ...args], { cwd: root });
}

describe('ferry-serve (the function image entry point)', () => {
  it('serves until SIGTERM, then closes gracefully and exits 0', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, { listen: [`unix://${join(dir, 'a.sock')}`] });
    const child = spawnServe([
      '--address',
      agent.listeners[0]?.address as string,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
    ]);
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const lines = createInterface({ input: child.stdout });
    const [first] = (await once(lines, 'line')) as [string];
    const listening = JSON.parse(first) as { event: string; url: string; agent: string };
    assert.equal(listening.event, 'listening', stderr);
    assert.equal(listening.agent, agent.listeners[0]?.address);

    const ready = await fetch(`${listening.url}/v2/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, stderr);
  });

  it('exits 2 with the usage on a bad flag', async () => {
    const child = spawnServe(['--port', 'eighty']);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(stderr, /--port must be 0\.\.65535/);
    assert.match(stderr, /Usage: ferry-serve/);
  });
});
