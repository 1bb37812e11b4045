import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The node_modules packages (fastify, prom-client) a fresh process has loaded after importing `specifier`. */
async function httpPackagesLoadedBy(specifier: string): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(specifier)});
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    const names = loaded.map((p) => /node_modules\\/(fastify|prom-client)\\//.exec(p)?.[1]).filter(Boolean);
    process.stdout.write(JSON.stringify([...new Set(names)].sort()));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: packageDir },
  );
  return JSON.parse(stdout) as string[];
}

describe('@ferry/agent entry points', () => {
  it('loads neither fastify nor prom-client for the agent itself', async () => {
    assert.deepEqual(await httpPackagesLoadedBy('@ferry/agent'), []);
  });

  it('loads them for @ferry/agent/admin (so the check above can see them)', async () => {
    assert.deepEqual(await httpPackagesLoadedBy('@ferry/agent/admin'), ['fastify', 'prom-client']);
  });
});
