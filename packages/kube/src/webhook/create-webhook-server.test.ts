import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { TLSSocket } from 'node:tls';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { kubeChannels, type TlsReloadMessage } from '../diagnostics.js';
import { createWebhookServer, type WebhookServerOptions } from './create-webhook-server.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const openssl = hasOpenssl();
const skip = openssl ? false : 'openssl is not installed: no test certificate can be made';

/** A self-signed certificate for 127.0.0.1, made by openssl. */
function makeCertificate(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`],
      ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:ferry-webhook.ferry-system.svc'],
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly fingerprint: string;
}

function call(url: string, ca: Buffer, method: string, path: string, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      { method, ca, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), fingerprint }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// biome-ignore lint/suspicious/noExplicitAny: pod JSON is walked freely in assertions
type Pod = Record<string, any>;

/** An AdmissionReview v1 as the API server sends it for `kubectl create` of a pod. */
function reviewOf(pod: Pod, uid = '705ab4f5-6393-11e8-b7cc-42010a800002') {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: pod.metadata?.name,
      namespace: 'demo',
      operation: 'CREATE',
      userInfo: { username: 'admin', uid: '014fbff9a07c', groups: ['system:authenticated'] },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

function podOf(spec: Pod = {}, labels: Record<string, string> = { 'ferry.dev/inject': 'true', app: 'classify' }): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'classify-7d9f', namespace: 'demo', labels },
    spec: {
      initContainers: [{ name: 'fetch', image: 'busybox', command: ['true'] }],
      containers: [
        {
          name: 'function',
          image: 'ferry-serve:0.1.0',
          env: [{ name: 'LOG_LEVEL', value: 'info' }],
          ports: [{ containerPort: 8080 }],
        },
        { name: 'sidecar', image: 'busybox', env: [{ name: 'FERRY_ADDRESS', value: 'tcp://10.0.0.5:7000' }] },
      ],
      ...spec,
    },
  };
}

async function start(t: TestContext, options: Partial<WebhookServerOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-webhook-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pair = makeCertificate(dir, 'webhook');
  const server = await createWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tlsCertFile: pair.cert,
    tlsKeyFile: pair.key,
    tlsCheckIntervalMs: 20,
    ...options,
  });
  t.after(() => server.destroy());
  const ca = await readFile(pair.cert);
  const post = async (body: unknown) => {
    const reply = await call(server.url, ca, 'POST', '/mutate', typeof body === 'string' ? body : JSON.stringify(body));
    return { ...reply, json: JSON.parse(reply.text) };
  };
  /** Sends the pod through the webhook; returns the response and the pod with its patch applied. */
  const mutate = async (pod: Pod) => {
    const reply = await post(reviewOf(pod));
    assert.equal(reply.status, 200);
    const response = reply.json.response;
    assert.equal(reply.json.apiVersion, 'admission.k8s.io/v1');
    assert.equal(reply.json.kind, 'AdmissionReview');
    assert.equal(response.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    const patch: Operation[] = response.patch ? JSON.parse(Buffer.from(response.patch, 'base64').toString()) : [];
    if (response.patch) assert.equal(response.patchType, 'JSONPatch');
    assert.ok(!patch.some((op) => op.op === 'remove'), 'never a remove');
    const patched = fastJsonPatch.applyPatch(fastJsonPatch.deepClone(pod), patch, true, false).newDocument as Pod;
    return { response, patch, patched };
  };
  return { server, dir, ca, post, mutate };
}

describe('createWebhookServer()', { skip }, () => {
  it('makes an opted-in pod a Ferry guest: runtimeClassName and FERRY_ADDRESS, existing values kept', async (t) => {
    const { mutate } = await start(t);
    const pod = podOf();
    const { response, patched } = await mutate(pod);
    assert.equal(response.allowed, true);
    const expected = structuredClone(pod);
    expected.spec.runtimeClassName = 'kata-fc';
    expected.spec.initContainers[0].env = [{ name: 'FERRY_ADDRESS', value: 'vsock://2:2048' }];
    expected.spec.containers[0].env.push({ name: 'FERRY_ADDRESS', value: 'vsock://2:2048' });
    assert.deepEqual(patched, expected);
    assert.equal(patched.spec.overhead, undefined);
    assert.equal(patched.spec.containers[1].env[0].value, 'tcp://10.0.0.5:7000');
  });

  it('is a no-op on a second pass (reinvocation)', async (t) => {
    const { mutate } = await start(t, { requestShare: true, seccompLocalhostProfile: 'profiles/ferry-vsock.json' });
    const first = await mutate(podOf());
    assert.ok(first.patch.length > 0);
    const second = await mutate(first.patched);
    assert.deepEqual(second.patch, []);
    assert.equal(second.response.patch, undefined);
    assert.equal(second.response.allowed, true);
  });

  it('leaves pods without the opt-in label untouched', async (t) => {
    const { post } = await start(t);
    for (const labels of [{}, { 'ferry.dev/inject': 'false' }, { app: 'web' }]) {
      const reply = await post(reviewOf(podOf({}, labels)));
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
    }
    const noLabels = podOf();
    delete noLabels.metadata.labels;
    const reply = await post(reviewOf(noLabels));
    assert.equal(reply.json.response.patch, undefined);
  });

  it('keeps a runtimeClassName the author chose, with a warning, and honours a configured one', async (t) => {
    const { mutate } = await start(t, { runtimeClassName: 'kata-firecracker' });
    const set = await mutate(podOf());
    assert.equal(set.patched.spec.runtimeClassName, 'kata-firecracker');
    const kept = await mutate(podOf({ runtimeClassName: 'kata-qemu' }));
    assert.equal(kept.patched.spec.runtimeClassName, 'kata-qemu');
    assert.match(kept.response.warnings[0], /kata-qemu/);
  });

  it('requests one ferry.dev/accelerator share when the device plugin is enabled', async (t) => {
    const { mutate } = await start(t, { requestShare: true });
    const { patched } = await mutate(podOf());
    assert.deepEqual(patched.spec.containers[0].resources, {
      limits: { 'ferry.dev/accelerator': '1' },
      requests: { 'ferry.dev/accelerator': '1' },
    });
    assert.equal(patched.spec.containers[1].resources, undefined);
    const withResources = podOf();
    withResources.spec.containers[0].resources = { requests: { cpu: '100m' }, limits: { memory: '256Mi' } };
    const merged = await mutate(withResources);
    assert.deepEqual(merged.patched.spec.containers[0].resources, {
      requests: { cpu: '100m', 'ferry.dev/accelerator': '1' },
      limits: { memory: '256Mi', 'ferry.dev/accelerator': '1' },
    });
    const already = podOf();
    already.spec.containers[1].resources = { limits: { 'ferry.dev/accelerator': '2' } };
    const untouched = await mutate(already);
    assert.equal(untouched.patched.spec.containers[0].resources, undefined);
    assert.deepEqual(untouched.patched.spec.containers[1].resources, { limits: { 'ferry.dev/accelerator': '2' } });
  });

  it('sets the vsock seccomp profile where none or RuntimeDefault is, never silently over another', async (t) => {
    const profile = 'profiles/ferry-vsock.json';
    const wanted = { type: 'Localhost', localhostProfile: profile };
    const { mutate } = await start(t, { seccompLocalhostProfile: profile });
    const none = await mutate(podOf());
    assert.deepEqual(none.patched.spec.securityContext, { seccompProfile: wanted });
    assert.equal(none.response.warnings, undefined);

    const restricted = podOf({ securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } });
    restricted.spec.containers[0].securityContext = { seccompProfile: { type: 'RuntimeDefault' } };
    const replaced = await mutate(restricted);
    assert.deepEqual(replaced.patched.spec.securityContext, { runAsNonRoot: true, seccompProfile: wanted });
    assert.deepEqual(replaced.patched.spec.containers[0].securityContext, { seccompProfile: wanted });
    assert.equal(replaced.response.warnings.length, 2);
    assert.match(replaced.response.warnings[0], /RuntimeDefault replaced by Localhost profiles\/ferry-vsock\.json/);

    const custom = { type: 'Localhost', localhostProfile: 'profiles/strict.json' };
    const stricter = await mutate(podOf({ securityContext: { seccompProfile: custom } }));
    assert.deepEqual(stricter.patched.spec.securityContext, { seccompProfile: custom });
    assert.match(stricter.response.warnings[0], /profiles\/strict\.json kept/);

    const unconfined = await mutate(podOf({ securityContext: { seccompProfile: { type: 'Unconfined' } } }));
    assert.deepEqual(unconfined.patched.spec.securityContext, { seccompProfile: { type: 'Unconfined' } });
  });

  it('refuses garbage cleanly and keeps serving', async (t) => {
    const { server, ca, post, mutate } = await start(t, { maxBodyBytes: 64 * 1024 });
    const notJson = await call(server.url, ca, 'POST', '/mutate', '{"apiVersion": ');
    assert.equal(notJson.status, 400);
    assert.match(notJson.text, /not JSON/);
    for (const body of [
      [],
      { kind: 'AdmissionReview' },
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } },
    ]) {
      const reply = await post(body);
      assert.equal(reply.status, 400);
      assert.match(reply.json.error, /AdmissionReview/);
    }
    const broken = reviewOf({ metadata: { labels: { 'ferry.dev/inject': 'true' } }, spec: { containers: 'nope' } });
    const refused = await post(broken);
    assert.equal(refused.status, 200);
    assert.equal(refused.json.response.allowed, false);
    assert.equal(refused.json.response.status.code, 400);
    assert.match(refused.json.response.status.message, /containers is not a list/);
    const huge = await call(server.url, ca, 'POST', '/mutate', Buffer.alloc(128 * 1024, 0x20));
    assert.equal(huge.status, 413);
    assert.equal((await call(server.url, ca, 'GET', '/mutate')).status, 405);
    assert.equal((await call(server.url, ca, 'GET', '/nothing')).status, 404);
    const health = await call(server.url, ca, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.text, 'ok\n');
    const { patched } = await mutate(podOf());
    assert.equal(patched.spec.runtimeClassName, 'kata-fc');
  });

  it('allows other kinds and operations unchanged', async (t) => {
    const { post } = await start(t);
    const update = reviewOf(podOf());
    update.request.operation = 'UPDATE';
    assert.deepEqual(Object.keys((await post(update)).json.response).sort(), ['allowed', 'uid']);
    const deployment = reviewOf(podOf());
    deployment.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    assert.equal((await post(deployment)).json.response.patch, undefined);
  });

  it('serves a new certificate once its files change', async (t) => {
    const { server, dir, ca } = await start(t);
    const before = await call(server.url, ca, 'GET', '/healthz');
    const first = new X509Certificate(ca).fingerprint256;
    assert.equal(before.fingerprint, first);
    const next = makeCertificate(dir, 'rotated');
    const reloaded = new Promise<{ ok: boolean }>((resolve) => {
      const onMessage = (message: TlsReloadMessage) => {
        if (message.ok) {
          kubeChannels.webhookTlsReload.unsubscribe(onMessage);
          resolve(message);
        }
      };
      kubeChannels.webhookTlsReload.subscribe(onMessage);
    });
    // The way a Secret volume updates: new files moved into place.
    await writeFile(join(dir, 'webhook.key.new'), await readFile(next.key));
    await writeFile(join(dir, 'webhook.crt.new'), await readFile(next.cert));
    await rename(join(dir, 'webhook.key.new'), join(dir, 'webhook.key'));
    await rename(join(dir, 'webhook.crt.new'), join(dir, 'webhook.crt'));
    await reloaded;
    const rotatedCa = await readFile(next.cert);
    const after = await call(server.url, rotatedCa, 'GET', '/healthz');
    assert.equal(after.status, 200);
    assert.equal(after.fingerprint, new X509Certificate(rotatedCa).fingerprint256);
    assert.notEqual(after.fingerprint, first);
  });
});
