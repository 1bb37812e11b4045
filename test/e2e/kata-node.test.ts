import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AdminServerStatus } from '@ferry/agent';
import { createClient } from '@ferry/client';
import { Code } from '@ferry/core';
import { runFerry } from '../support/cli.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../packages/cli/src/bin.ts', import.meta.url));

/** `ferry …` as a child process whose stdout lines a test can wait for. */
function spawnFerry(t: TestContext, args: readonly string[]) {
  const child: ChildProcess = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', bin, ...args], {
    cwd: repo,
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (d) => {
    stdout += d;
    for (const w of waiters) w();
  });
  child.stderr?.on('data', (d) => (stderr += d));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
  });
  return {
    child,
    stderr: () => stderr,
    /** Resolves with the first stdout line matching `pattern`; rejects if the process exits first. */
    line(pattern: RegExp): Promise<string> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = stdout.split('\n').find((l) => pattern.test(l));
          if (!line) return false;
          waiters.delete(check);
          resolve(line);
          return true;
        };
        if (check()) return;
        waiters.add(check);
        child.once('close', (code) => reject(new Error(`ferry exited with ${code} before ${pattern}: ${stderr}`)));
      });
    },
  };
}

async function shortTemp(t: TestContext): Promise<string> {
  const dir = await mkdtemp('/tmp/k');
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Firecracker booting a Kata sandbox: `<root>/<id>/root/kata.hvsock` appears. */
async function bootSandbox(t: TestContext, root: string, id: string): Promise<void> {
  await mkdir(join(root, id, 'root'), { recursive: true });
  const vm = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => vm.listen(join(root, id, 'root', 'kata.hvsock'), resolve));
  t.after(() => new Promise<void>((resolve) => vm.close(() => resolve())));
}

describe('ferry agent --kata-root and ferry status', () => {
  it('serves each sandbox that boots on the node, and `ferry status` shows it (text and --json)', async (t) => {
    const dir = await shortTemp(t);
    const root = join(dir, 'fc');
    await mkdir(root);
    const agent = spawnFerry(t, [
      'agent',
      '--kata-root',
      root,
      '--socket-mode',
      '0600',
      '--admin',
      '127.0.0.1:0',
      '--workers',
      '1',
    ]);
    const url = JSON.parse(await agent.line(/"event":"admin"/)).url as string;
    const readyz = await fetch(`${url}/readyz`);
    assert.equal(readyz.status, 200, 'ready with no sandbox');
    const empty = await runFerry(['status', '--admin', url.replace('http://', '')]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /^agent: ready, 0 listeners, 0 tenants/);
    assert.match(empty.stdout, /tenants: none/);

    const id = randomBytes(32).toString('hex');
    await bootSandbox(t, root, id);
    const listening = JSON.parse(await agent.line(new RegExp(`"event":"listening","tenant":"${id}"`)));
    const socket = join(root, id, 'root', 'kata.hvsock_2048');
    assert.equal(listening.address, `unix://${socket}`);
    assert.equal((await lstat(socket)).mode & 0o777, 0o600);
    const guest = createClient({ address: listening.address });
    t.after(() => guest.close());
    assert.equal((await guest.serverInfo()).tenant, id);
    await guest.createSession();
    await assert.rejects(guest.destroySession(4242), { code: Code.NOT_FOUND });

    const text = await runFerry(['status', '--admin', url.replace('http://', '')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^agent: ready, 1 listeners, 1 tenants/);
    const row = text.stdout.split('\n').find((l) => l.startsWith(id));
    assert.ok(row, text.stdout);
    // sandbox id, pod (unknown without --cri-socket), connections, sessions, models, in flight, last error
    assert.match(row, new RegExp(`^${id}\\s+-\\s+1\\s+1\\s+0\\s+0\\s+DestroySession NOT_FOUND at \\S+$`));

    const json = await runFerry(['status', '--admin', url.replace('http://', ''), '--json']);
    assert.equal(json.code, 0, json.stderr);
    const status = JSON.parse(json.stdout) as AdminServerStatus;
    const tenant = status.tenants.find((x) => x.name === id);
    assert.equal(tenant?.sandboxId, id);
    assert.equal(tenant?.sessions, 1);
    assert.deepEqual([tenant?.lastError?.method, tenant?.lastError?.code], ['DestroySession', 'NOT_FOUND']);
    assert.deepEqual(status.skipped, []);

    agent.child.kill('SIGTERM');
    const [code] = await once(agent.child, 'close');
    assert.equal(code, 0, agent.stderr());
  });

  it('per-sandbox mode: serves one --listen address as --tenant and stops cleanly on SIGTERM', async (t) => {
    const dir = await shortTemp(t);
    await mkdir(join(dir, 'sbx', 'root'), { recursive: true });
    const address = `unix://${join(dir, 'sbx', 'root', 'kata.hvsock_2048')}`;
    const agent = spawnFerry(t, ['agent', '--listen', address, '--tenant', 'sbx-7', '--workers', '1']);
    await agent.line(/"event":"listening"/);
    const guest = createClient({ address });
    t.after(() => guest.destroy());
    assert.equal((await guest.serverInfo()).tenant, 'sbx-7');
    const stopping = performance.now();
    agent.child.kill('SIGTERM');
    const [code] = await once(agent.child, 'close');
    t.diagnostic(`exited ${Math.round(performance.now() - stopping)} ms after SIGTERM, a guest connected`);
    assert.equal(code, 0, agent.stderr());
    assert.match(agent.stderr(), /"msg":"closed"/);
    assert.doesNotMatch(agent.stderr(), /watching Kata sandboxes/, 'only --listen: no watcher');
  });

  it('`ferry status` names the admin address and what to check when no agent answers', async () => {
    const result = await runFerry(['status', '--admin', '127.0.0.1:1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[unavailable\] Cannot read http:\/\/127\.0\.0\.1:1\/api\/status/);
    assert.match(result.stderr, /Check that the agent runs with --admin 127\.0\.0\.1:1/);
    const usage = await runFerry(['status']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--admin is required/);
  });
});
