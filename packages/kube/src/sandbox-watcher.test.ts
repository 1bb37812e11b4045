import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { type AdminServerStatus, type Agent, createAgent } from '@ferry/agent';
import { createAdminServer } from '@ferry/agent/admin';
import { createNoopBackend } from '@ferry/backend-noop';
import { createClient } from '@ferry/client';
import { Code } from '@ferry/core';
import { registryOf } from '@ferry/core/testing';
import { connect } from '@ferry/transport';
import { createSandboxWatcher, type SandboxEvent, type SandboxWatcherOptions } from './sandbox-watcher.js';

/** A short temp dir: a 64-hex sandbox id must still fit sun_path under it (`/tmp/kXXXXXX/fc/<id>/root/…_2048`). */
async function tempRoot(t: TestContext): Promise<string> {
  const dir = await mkdtemp('/tmp/k');
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const sandboxId = () => randomBytes(32).toString('hex');

/** What Firecracker does when a Kata sandbox boots: binds `<dir>/<id>/root/kata.hvsock`. */
async function bootSandbox(t: TestContext, root: string, id: string): Promise<{ hvsock: string; vm: Server }> {
  await mkdir(join(root, id, 'root'), { recursive: true });
  const hvsock = join(root, id, 'root', 'kata.hvsock');
  const vm = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    vm.once('error', reject);
    vm.listen(hvsock, resolve);
  });
  t.after(() => new Promise<void>((resolve) => vm.close(() => resolve())));
  return { hvsock, vm };
}

/** Collects a watcher's events and lets a test wait for one, bounded so that a missing event fails the test. */
function eventLog() {
  const events: SandboxEvent[] = [];
  const waiters = new Set<{ match: (e: SandboxEvent) => boolean; resolve: (e: SandboxEvent) => void }>();
  return {
    events,
    onEvent(event: SandboxEvent) {
      events.push(event);
      for (const w of waiters) {
        if (w.match(event)) {
          waiters.delete(w);
          w.resolve(event);
        }
      }
    },
    next<T extends SandboxEvent['type']>(
      type: T,
      sandboxId?: string,
      timeoutMs = 10_000,
    ): Promise<Extract<SandboxEvent, { type: T }>> {
      const match = (e: SandboxEvent) =>
        e.type === type && (sandboxId === undefined || ('sandboxId' in e && e.sandboxId === sandboxId));
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen as Extract<SandboxEvent, { type: T }>);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: resolve as (e: SandboxEvent) => void };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter))
            reject(new Error(`no ${type} event for ${sandboxId ?? 'any sandbox'} in ${timeoutMs} ms`));
        }, timeoutMs).unref();
      });
    },
  };
}

async function startNode(
  t: TestContext,
  roots: string[],
  options: Partial<SandboxWatcherOptions> = {},
): Promise<{
  agent: Agent;
  log: ReturnType<typeof eventLog>;
  admin: string;
  watcher: Awaited<ReturnType<typeof createSandboxWatcher>>;
}> {
  const agent = await createAgent({ backends: registryOf(createNoopBackend()), builtinModels: false, warmUp: false });
  t.after(() => agent.destroy());
  const log = eventLog();
  const watcher = await createSandboxWatcher({ agent, roots, onEvent: log.onEvent, ...options });
  t.after(() => watcher.close());
  const admin = await createAdminServer({ agent, source: watcher });
  t.after(() => admin.destroy());
  return { agent, log, admin: admin.address, watcher };
}

async function status(admin: string): Promise<AdminServerStatus> {
  return (await (await fetch(`${admin}/api/status`)).json()) as AdminServerStatus;
}

const socketOf = (root: string, id: string) => join(root, id, 'root', 'kata.hvsock_2048');

describe('createSandboxWatcher()', () => {
  it('is Ready with no sandbox, even when a root does not exist yet', async (t) => {
    const dir = await tempRoot(t);
    await mkdir(join(dir, 'fc'));
    const { admin, agent } = await startNode(t, [join(dir, 'fc'), join(dir, 'absent')]);
    const readyz = await fetch(`${admin}/readyz`);
    assert.equal(readyz.status, 200);
    assert.equal(await readyz.text(), 'ready\n');
    assert.equal(agent.listeners.length, 0);
    const s = await status(admin);
    assert.equal(s.ready, true);
    assert.deepEqual(s.tenants, []);
    assert.deepEqual(s.skipped, []);
  });

  it('listens on kata.hvsock_2048 when a sandbox boots, and serves a guest there as that sandbox', async (t) => {
    const dir = await tempRoot(t);
    const root = join(dir, 'fc');
    await mkdir(root);
    // The rescan and the polling are far away: only file-system events can find the sandbox in time.
    const { log, admin } = await startNode(t, [root], { rescanIntervalMs: 600_000, pendingPollMs: 600_000 });
    const id = sandboxId();
    const booted = performance.now();
    await bootSandbox(t, root, id);
    const listening = await log.next('listening', id);
    t.diagnostic(`listening ${(performance.now() - booted).toFixed(1)} ms after kata.hvsock appeared`);
    assert.equal(listening.address, `unix://${socketOf(root, id)}`);
    assert.equal((await lstat(socketOf(root, id))).mode & 0o777, 0o660);
    // The guest's connection to CID 2 port 2048, as Firecracker forwards it: a plain unix stream.
    const guest = createClient({ address: listening.address });
    t.after(() => guest.close());
    assert.equal((await guest.serverInfo()).tenant, id);
    const tenant = (await status(admin)).tenants.find((x) => x.name === id);
    assert.equal(tenant?.sandboxId, id);
    assert.equal(tenant?.connections, 1);
  });

  it('opens the sandbox root directory when it appears after the agent started', async (t) => {
    const dir = await tempRoot(t);
    const root = join(dir, 'fc');
    const { log } = await startNode(t, [root], { rescanIntervalMs: 600_000 });
    const id = sandboxId();
    await bootSandbox(t, root, id);
    const listening = await log.next('listening', id);
    const guest = createClient({ address: listening.address });
    t.after(() => guest.close());
    assert.equal((await guest.serverInfo()).tenant, id);
  });

  it('serves a guest that started connecting before its sandbox was served (the client retries)', async (t) => {
    const dir = await tempRoot(t);
    const root = join(dir, 'fc');
    await mkdir(root);
    const { log } = await startNode(t, [root]);
    const id = sandboxId();
    let attempts = 0;
    let booted: Promise<unknown> | undefined;
    const guest = createClient({
      address: `unix://${socketOf(root, id)}`,
      connectors: {
        // The guest's first attempt finds nothing: only then does Firecracker bring the sandbox's vsock up.
        unix: {
          async connect(address, options) {
            attempts++;
            try {
              return await connect(address, options?.signal ? { signal: options.signal } : {});
            } catch (error) {
              booted ??= bootSandbox(t, root, id);
              throw error;
            }
          },
        },
      },
    });
    t.after(() => guest.close());
    assert.equal((await guest.serverInfo()).tenant, id);
    await booted;
    await log.next('listening', id);
    assert.ok(attempts >= 2, `${attempts} attempts`);
  });

  it('keeps two sandboxes apart: one cannot see the sessions of the other', async (t) => {
    const dir = await tempRoot(t);
    const root = join(dir, 'fc');
    await mkdir(root);
    const { log } = await startNode(t, [root]);
    const [a, b] = [sandboxId(), sandboxId()];
    await Promise.all([bootSandbox(t, root, a), bootSandbox(t, root, b)]);
    const [la, lb] = await Promise.all([log.next('listening', a), log.next('listening', b)]);
    const guestA = createClient({ address: la.address });
    const guestB = createClient({ address: lb.address });
    t.after(() => Promise.all([guestA.close(), guestB.close()]));
    assert.equal((await guestA.serverInfo()).tenant, a);
    assert.equal((await guestB.serverInfo()).tenant, b);
    const session = await guestA.createSession();
    await assert.rejects(guestB.destroySession(session), (e: { code: number }) => e.code === Code.NOT_FOUND);
    await guestA.destroySession(session);
  });

  it("closes the listener and frees the tenant's state when the sandbox directory goes", async (t) => {
    const dir = await tempRoot(t);
    const root = join(dir, 'fc');
    await mkdir(root);
    const { log, admin, agent } = await startNode(t, [root]);
    const [gone, stays] = [sandboxId(), sandboxId()];
    const { vm } = await bootSandbox(t, root, gone);
    await bootSandbox(t, root, stays);
    const listening = await log.next('listening', gone);
    await log.next('listening', stays);
    const guest = createClient({ address: listening.address });
    t.after(() => guest.destroy());
    await guest.createSession();
    await guest.createSession();
    const before = (await status(admin)).tenants.find((x) => x.name === gone);
    assert.equal(before?.sessions, 2);
    assert.equal(before?.connections, 1);

    // Kata stops the sandbox: Firecracker exits, the directory is removed.
    vm.close();
    await rm(join(root, gone), { recursive: true, force: true });
    const removed = await log.next('removed', gone);
    assert.equal(removed.address, listening.address);

    assert.deepEqual(
      agent.listeners.map((l) => l.tenant),
      [stays],
    );
    assert.equal(
      agent.stats().tenants.find((x) => x.name === gone),
      undefined,
    );
    const after = (await status(admin)).tenants.find((x) => x.name === gone);
    if (after) assert.deepEqual([after.active, after.sessions, after.connections], [false, 0, 0]);
    await assert.rejects(guest.serverInfo(), (e: { code: number }) => e.code === Code.UNAVAILABLE);
  });

  it('picks up every sandbox at start after a restart, replacing stale sockets', async (t) => {
    const dir = await tempRoot(t);
    const root = join(dir, 'fc');
    await mkdir(root);
    const [a, b] = [sandboxId(), sandboxId()];
    await Promise.all([bootSandbox(t, root, a), bootSandbox(t, root, b)]);
    // A crashed agent left a socket file nobody listens on: bind it, keep a second name, close, put it back.
    const stale = socketOf(root, a);
    const crashed = createServer();
    await new Promise<void>((resolve) => crashed.listen(stale, resolve));
    await link(stale, `${stale}.keep`);
    await new Promise<void>((resolve) => crashed.close(() => resolve()));
    await rename(`${stale}.keep`, stale);
    assert.ok((await lstat(stale)).isSocket(), 'a stale socket is in place');

    const { agent, log } = await startNode(t, [root]);
    // Present at start: served before createSandboxWatcher() resolved.
    assert.deepEqual(agent.listeners.map((l) => l.tenant).sort(), [a, b].sort());
    assert.equal(log.events.filter((e) => e.type === 'listening').length, 2);
    for (const id of [a, b]) {
      const guest = createClient({ address: `unix://${socketOf(root, id)}` });
      t.after(() => guest.close());
      assert.equal((await guest.serverInfo()).tenant, id);
    }
  });

  it('skips a sandbox whose socket path does not fit sun_path, with a reason and a metric', async (t) => {
    const dir = await tempRoot(t);
    const root = join(dir, 'fc');
    // kata.hvsock fits (106 bytes with a 64-hex id) but kata.hvsock_2048 does not (111).
    const longRoot = join(dir, 'longer-root');
    await Promise.all([mkdir(root), mkdir(longRoot)]);
    const [fits, tooLong] = [sandboxId(), sandboxId()];
    const { log, admin, agent, watcher } = await startNode(t, [root, longRoot]);
    await bootSandbox(t, longRoot, tooLong);
    await bootSandbox(t, root, fits);
    const skipped = await log.next('skipped', tooLong);
    assert.equal(skipped.reason, 'path_too_long');
    assert.match(skipped.message, /111 bytes, longer than the 107 bytes of sun_path/);
    await log.next('listening', fits);
    assert.deepEqual(
      agent.listeners.map((l) => l.tenant),
      [fits],
    );
    const s = await status(admin);
    assert.equal(s.ready, true, 'a skipped sandbox does not make the node unready');
    assert.deepEqual(
      s.skipped.map((x) => [x.sandboxId, x.reason, x.path]),
      [[tooLong, 'path_too_long', socketOf(longRoot, tooLong)]],
    );
    // Looking again does not count it again.
    await watcher.rescan();
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /^ferry_sandboxes_skipped_total\{reason="path_too_long"\} 1$/m);
  });

  it('skips a sandbox whose socket another process serves, and serves it once that one is gone', async (t) => {
    const dir = await tempRoot(t);
    const root = join(dir, 'fc');
    await mkdir(root);
    const id = sandboxId();
    await bootSandbox(t, root, id);
    // A per-sandbox agent already listens there.
    const other = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => other.listen(socketOf(root, id), resolve));
    const { log, watcher, agent } = await startNode(t, [root], { rescanIntervalMs: 600_000 });
    const skipped = await log.next('skipped', id);
    assert.equal(skipped.reason, 'address_in_use');
    assert.equal(agent.listeners.length, 0);
    await new Promise<void>((resolve) => other.close(() => resolve()));
    await watcher.rescan();
    await log.next('listening', id);
    assert.deepEqual(watcher.skipped(), []);
    assert.deepEqual([...watcher.skipCounts()], [['address_in_use', 1]]);
  });

  it('is not ready while a root cannot be read, and says why', async (t) => {
    const dir = await tempRoot(t);
    const notADir = join(dir, 'file');
    await writeFile(notADir, '');
    const { admin } = await startNode(t, [notADir]);
    const readyz = await fetch(`${admin}/readyz`);
    assert.equal(readyz.status, 503);
    assert.equal(await readyz.text(), `not ready: cannot read ${notADir}: ENOTDIR\n`);
    const s = await status(admin);
    assert.equal(s.ready, false);
    assert.equal(s.notReadyReason, `cannot read ${notADir}: ENOTDIR`);
  });

  it('lists the sandboxes it serves, and is not ready once closed', async (t) => {
    const dir = await tempRoot(t);
    const root = join(dir, 'fc');
    await mkdir(root);
    const { log, watcher } = await startNode(t, [root], { rescanIntervalMs: 600_000 });
    const id = sandboxId();
    await bootSandbox(t, root, id);
    await watcher.rescan();
    const listening = await log.next('listening', id);
    assert.equal(listening.sandboxId, id);
    assert.equal(watcher.sandboxes().length, 1);
    await watcher.close();
    assert.equal(watcher.readiness().ready, false);
  });
});
