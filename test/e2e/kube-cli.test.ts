import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createAgent } from '@ferry/agent';
import { createAdminServer } from '@ferry/agent/admin';
import { createNoopBackend } from '@ferry/backend-noop';
import { COMMANDS } from '@ferry/cli';
import { registryOf } from '@ferry/core/testing';
import { DEVICE_PLUGIN_DEFAULTS, POD_MUTATION_DEFAULTS, WEBHOOK_DEFAULTS } from '@ferry/kube';
import { startKubelet } from '@ferry/kube/testing';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../packages/cli/src/bin.ts', import.meta.url));

/** Starts `ferry <args>` and resolves with its first JSON line on stdout; killed after the test. */
interface FirstLine {
  readonly event: string;
  readonly url: string;
  readonly socket: string;
  readonly shares: number;
}

async function spawnFerry(t: TestContext, args: readonly string[]): Promise<{ child: ChildProcess; first: FirstLine }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', bin, ...args], { cwd: root });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
  });
  let stdout = '';
  const first = await new Promise<FirstLine>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      stdout += d;
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(JSON.parse(stdout.slice(0, end)));
    });
    child.once('close', (code) => reject(new Error(`ferry ${args[0]} exited with ${code}: ${stderr}`)));
  });
  return { child, first };
}

let openssl = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  openssl = false;
}

describe('ferry webhook', {
  skip: openssl ? false : 'openssl is not installed: no test certificate can be made',
}, () => {
  it('serves /mutate over HTTPS with the flags it was given, and stops on SIGTERM', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-webhook-cli-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
        ...['-keyout', key, '-out', cert, '-subj', '/CN=ferry-webhook', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ],
      { stdio: 'ignore' },
    );
    const { child, first } = await spawnFerry(t, [
      ...['webhook', '--host', '127.0.0.1', '--port', '0', '--tls-cert', cert, '--tls-key', key],
      ...['--runtime-class', 'kata-fc', '--device-plugin', '--seccomp-profile', 'profiles/ferry-vsock.json'],
    ]);
    assert.equal(first.event, 'listening');
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'c0ffee',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        operation: 'CREATE',
        object: {
          metadata: { name: 'p', labels: { 'ferry.dev/inject': 'true' } },
          spec: { containers: [{ name: 'f', image: 'ferry-serve' }] },
        },
      },
    };
    const ca = await readFile(cert);
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(new URL('/mutate', first.url), { method: 'POST', ca }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end(JSON.stringify(review));
    });
    const response = JSON.parse(text).response;
    assert.equal(response.uid, 'c0ffee');
    const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString());
    assert.deepEqual(
      patch.map((op: { path: string }) => op.path),
      ['/spec/runtimeClassName', '/spec/containers/0/env', '/spec/containers/0/resources', '/spec/securityContext'],
    );
    child.kill('SIGTERM');
    const [code] = await once(child, 'close');
    assert.equal(code, 0);
  });

  it('refuses a missing --tls-cert with a usage error', async (t) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', bin, 'webhook', '--port', '0'], {
      cwd: root,
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const [code] = await once(child, 'close');
    t.diagnostic(stderr.trim());
    assert.equal(code, 2);
    assert.match(stderr, /--tls-cert is required/);
  });
});

describe('ferry device-plugin', () => {
  it('registers with the kubelet, lists its shares healthy while the agent is ready, and cleans up on SIGTERM', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-dp-cli-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const agent = await createAgent({
      backends: registryOf(createNoopBackend()),
      builtinModels: false,
      listen: [`unix://${join(dir, 'tenant.sock')}`],
    });
    t.after(() => agent.destroy());
    const admin = await createAdminServer({ agent, host: '127.0.0.1', port: 0 });
    t.after(() => admin.destroy());
    const kubelet = await startKubelet(dir);
    t.after(() => kubelet.stop());
    const { child, first } = await spawnFerry(t, [
      ...['device-plugin', '--agent-admin', admin.address, '--plugin-dir', dir, '--shares', '3'],
      ...['--health-interval-ms', '100'],
    ]);
    assert.equal(first.event, 'serving');
    assert.equal(first.shares, 3);
    const registration = await kubelet.registrations.next();
    assert.equal(registration.resourceName, 'ferry.dev/accelerator');
    const list = await kubelet.lists.next();
    assert.deepEqual(
      list.devices.map((d) => d.health),
      ['Healthy', 'Healthy', 'Healthy'],
    );
    const allocated = await kubelet.allocate([['ferry-2']]);
    assert.equal(allocated.containerResponses[0]?.envs.FERRY_ADDRESS, 'vsock://2:2048');
    child.kill('SIGTERM');
    const [code] = await once(child, 'close');
    assert.equal(code, 0);
    assert.equal(existsSync(first.socket), false);
  });
});

describe('ferry webhook and ferry device-plugin flags', () => {
  it("default to the library's defaults", () => {
    const flags = (name: string) => {
      const command = COMMANDS.find((c) => c.name === name);
      assert.ok(command, name);
      return Object.fromEntries(Object.entries(command.flags).map(([flag, spec]) => [flag, spec.default]));
    };
    const webhook = flags('webhook');
    assert.equal(webhook.port, String(WEBHOOK_DEFAULTS.port));
    assert.equal(webhook.host, WEBHOOK_DEFAULTS.host);
    assert.equal(webhook['runtime-class'], POD_MUTATION_DEFAULTS.runtimeClassName);
    assert.equal(webhook['guest-address'], POD_MUTATION_DEFAULTS.address);
    const plugin = flags('device-plugin');
    assert.equal(plugin.shares, String(DEVICE_PLUGIN_DEFAULTS.shares));
    assert.equal(plugin['plugin-dir'], DEVICE_PLUGIN_DEFAULTS.pluginDir);
    assert.equal(plugin['resource-name'], DEVICE_PLUGIN_DEFAULTS.resourceName);
    assert.equal(plugin['health-interval-ms'], String(DEVICE_PLUGIN_DEFAULTS.healthIntervalMs));
    assert.equal(plugin['guest-address'], DEVICE_PLUGIN_DEFAULTS.env.FERRY_ADDRESS);
    const help = COMMANDS.find((c) => c.name === 'device-plugin')?.help() ?? '';
    assert.match(help, new RegExp(`at most ${DEVICE_PLUGIN_DEFAULTS.maxShares}`));
  });
});
