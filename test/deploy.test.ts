// deploy/: every YAML parses; every overlay builds with kubectl kustomize (v5); every object validates
// against the Kubernetes schemas (kubernetes-models); names, labels, ports, volumes, the webhook's three
// objects and every container's arguments agree with each other and with the CLI. Also the Dockerfiles'
// ENTRYPOINT/CMD against the CLI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COMMANDS } from '@ferry/cli';
import { SERVE_FLAGS } from '@ferry/serve';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const deployDir = join(root, 'deploy');
const OVERLAYS = ['cpu', 'gpu', 'demo', 'monitoring', 'demo/load'];
/** Objects the manifests name but an operator creates: the webhook's TLS Secret (deploy/webhook-certificate.sh). */
const EXTERNAL = new Set(['Secret/ferry-system/ferry-webhook-tls']);

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are walked freely in the checks
type K8sObject = Record<string, any>;

function* yamlFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* yamlFiles(path);
    else if (name.endsWith('.yaml') || name.endsWith('.yml')) yield path;
  }
}

function parseYaml(text: string, where: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    assert.deepEqual(doc.errors, [], `${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS();
    return value === null ? [] : [value as K8sObject];
  });
}

const isKustomization = (o: K8sObject) => o.apiVersion?.startsWith('kustomize.config.k8s.io/');

/** The kubernetes-models class for an object's apiVersion and kind. */
async function modelOf(object: K8sObject) {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const modulePath =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/${group}/${version}`
      : `kubernetes-models/${group ? `${group}/` : ''}${version}`;
  const module = (await import(modulePath)) as Record<string, { new (data: unknown): { validate(): void } }>;
  const Model = module[object.kind];
  assert.ok(Model, `no schema for ${object.apiVersion} ${object.kind}`);
  return Model;
}

async function validate(object: K8sObject, where: string): Promise<void> {
  const Model = await modelOf(object);
  // kustomize folds binaryData's base64 over lines; the API server's decoder skips the newlines, the
  // schema's "byte" format does not.
  const data = object.binaryData
    ? {
        ...object,
        binaryData: Object.fromEntries(
          Object.entries(object.binaryData as Record<string, string>).map(([k, v]) => [k, v.replace(/\s/g, '')]),
        ),
      }
    : object;
  try {
    new Model(data).validate();
  } catch (error) {
    assert.fail(`${where}: ${object.kind}/${object.metadata?.name} does not validate: ${(error as Error).message}`);
  }
}

/** kubectl with kustomize v5, or why not. */
function kustomizeAvailable(): string | undefined {
  try {
    const out = execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
    const version = (JSON.parse(out) as { kustomizeVersion?: string }).kustomizeVersion ?? '';
    const major = Number(/^v?(\d+)/.exec(version)?.[1]);
    return major >= 5 ? undefined : `kubectl's kustomize is ${version || 'unknown'}; deploy/ needs v5 (kubectl 1.27+)`;
  } catch {
    return 'kubectl is not installed: the overlays cannot be built here';
  }
}
const noKustomize = kustomizeAvailable();

function build(overlay: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', join(deployDir, 'overlays', overlay)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseYaml(out, `kustomize ${overlay}`);
}

const key = (o: K8sObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
const podSpecOf = (o: K8sObject): K8sObject | undefined =>
  o.kind === 'Pod'
    ? o.spec
    : ['Deployment', 'DaemonSet', 'Job', 'StatefulSet'].includes(o.kind)
      ? o.spec?.template?.spec
      : undefined;
const allContainers = (spec: K8sObject): K8sObject[] => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
const flagValue = (args: readonly string[], flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Checks a `ferry …` or `ferry-serve …` command line against the flags the code defines. */
function checkCommandLine(image: string, args: readonly string[], where: string): void {
  if (image === 'ferry') {
    const [name, ...rest] = args;
    const command = COMMANDS.find((c) => c.name === name);
    assert.ok(command, `${where}: "ferry ${name}" is not a command`);
    try {
      command.parse(rest);
    } catch (error) {
      assert.fail(`${where}: ferry ${args.join(' ')}: ${(error as Error).message}`);
    }
  } else if (image === 'ferry-serve') {
    try {
      parseArgs({ args: [...args], options: SERVE_FLAGS, strict: true, allowPositionals: false });
    } catch (error) {
      assert.fail(`${where}: ferry-serve ${args.join(' ')}: ${(error as Error).message}`);
    }
  }
}

const imageName = (image: string) =>
  image
    .replace(/:[^/:]+$/, '')
    .split('/')
    .pop() as string;

describe('deploy/', () => {
  const files = [...yamlFiles(deployDir)];

  it('parses every YAML file, and every kustomization names files that exist', async () => {
    assert.ok(files.length >= 20, `found ${files.length} YAML files`);
    let objects = 0;
    for (const file of files) {
      const where = relative(root, file);
      for (const object of parseYaml(readFileSync(file, 'utf8'), where)) {
        assert.equal(typeof object.apiVersion, 'string', `${where}: apiVersion`);
        assert.equal(typeof object.kind, 'string', `${where}: kind`);
        if (!isKustomization(object)) continue;
        objects++;
        const dir = dirname(file);
        const named = [
          ...(object.resources ?? []),
          ...(object.components ?? []),
          ...(object.patches ?? []).flatMap((p: K8sObject) => (p.path ? [p.path] : [])),
          ...(object.configMapGenerator ?? []).flatMap((g: K8sObject) => g.files ?? []),
        ] as string[];
        for (const path of named) assert.ok(existsSync(join(dir, path)), `${where} names ${path}, which is missing`);
      }
    }
    assert.ok(objects >= 7, `found ${objects} kustomizations`);
  });

  it('validates every Kubernetes object in the files against the schemas', async () => {
    // Strategic-merge patches are partial objects: they are checked in the built overlays.
    const patchFiles = new Set<string>();
    for (const file of files) {
      for (const object of parseYaml(readFileSync(file, 'utf8'), file)) {
        if (!isKustomization(object)) continue;
        for (const patch of object.patches ?? []) if (patch.path) patchFiles.add(join(dirname(file), patch.path));
      }
    }
    assert.ok(patchFiles.size > 0);
    let count = 0;
    for (const file of files) {
      if (patchFiles.has(file)) continue;
      const where = relative(root, file);
      for (const object of parseYaml(readFileSync(file, 'utf8'), where)) {
        if (isKustomization(object)) continue;
        await validate(object, where);
        count++;
      }
    }
    assert.ok(count >= 15, `validated ${count} objects`);
  });

  for (const overlay of OVERLAYS) {
    describe(`overlay ${overlay}`, { skip: noKustomize ?? false }, () => {
      const objects = noKustomize ? [] : build(overlay);
      const byKey = new Map(objects.map((o) => [key(o), o]));
      const workloads = objects.filter((o) => podSpecOf(o));

      it('builds, and every object validates against the schemas', async () => {
        assert.ok(objects.length > 0);
        for (const object of objects) await validate(object, `kustomize ${overlay}`);
      });

      it('has selectors that match their pod labels, and mounts only volumes that exist', () => {
        for (const o of workloads) {
          const spec = podSpecOf(o) as K8sObject;
          const where = key(o);
          if (o.kind !== 'Job') {
            assert.ok(selects(o.spec.selector.matchLabels, o.spec.template.metadata.labels), `${where}: selector`);
          }
          const volumes = new Set((spec.volumes ?? []).map((v: K8sObject) => v.name));
          const used = new Set<string>();
          for (const c of allContainers(spec)) {
            for (const m of c.volumeMounts ?? []) {
              assert.ok(volumes.has(m.name), `${where}: ${c.name} mounts unknown volume ${m.name}`);
              used.add(m.name);
            }
            const ports = new Set((c.ports ?? []).map((p: K8sObject) => p.name));
            for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
              const port = probe?.httpGet?.port;
              if (typeof port === 'string')
                assert.ok(ports.has(port), `${where}: ${c.name} probes unknown port ${port}`);
            }
            assert.ok(c.resources?.requests, `${where}: ${c.name} has resource requests`);
          }
          for (const v of volumes) assert.ok(used.has(v as string), `${where}: volume ${v} is never mounted`);
          for (const v of spec.volumes ?? []) {
            const ns = o.metadata.namespace ?? '';
            if (v.configMap)
              assert.ok(byKey.has(`ConfigMap/${ns}/${v.configMap.name}`), `${where}: ConfigMap ${v.configMap.name}`);
            if (v.secret) {
              const name = `Secret/${ns}/${v.secret.secretName}`;
              assert.ok(byKey.has(name) || EXTERNAL.has(name), `${where}: ${name}`);
            }
          }
          const ns = o.metadata.namespace ?? '';
          if (spec.serviceAccountName) {
            assert.ok(byKey.has(`ServiceAccount/${ns}/${spec.serviceAccountName}`), `${where}: service account`);
          }
          if (spec.priorityClassName) {
            assert.ok(byKey.has(`PriorityClass//${spec.priorityClassName}`), `${where}: priority class`);
          }
          // The load overlay runs in the demo's namespace, which the demo overlay creates.
          if (overlay !== 'demo/load') {
            assert.ok(byKey.has(`Namespace//${ns}`), `${where}: namespace ${ns} is part of the overlay`);
          }
        }
      });

      it('has Services whose selectors and target ports reach a workload', () => {
        for (const service of objects.filter((o) => o.kind === 'Service')) {
          const targets = workloads.filter(
            (w) =>
              w.metadata.namespace === service.metadata.namespace &&
              selects(service.spec.selector, w.spec.template.metadata.labels),
          );
          assert.ok(targets.length > 0, `${key(service)} selects no workload`);
          for (const port of service.spec.ports) {
            for (const target of targets) {
              const containerPorts = (podSpecOf(target) as K8sObject).containers.flatMap(
                (c: K8sObject) => c.ports ?? [],
              );
              const found = containerPorts.some((p: K8sObject) =>
                typeof port.targetPort === 'string'
                  ? p.name === port.targetPort
                  : p.containerPort === (port.targetPort ?? port.port),
              );
              assert.ok(found, `${key(service)}: port ${port.name} → ${port.targetPort} not on ${key(target)}`);
            }
          }
        }
      });

      it('runs every ferry and ferry-serve container with arguments the CLI accepts', () => {
        let checked = 0;
        for (const o of workloads) {
          for (const c of allContainers(podSpecOf(o) as K8sObject)) {
            const image = imageName(c.image);
            if (c.command || !['ferry', 'ferry-serve'].includes(image)) continue;
            checkCommandLine(image, c.args ?? [], `${key(o)} ${c.name}`);
            checked++;
          }
        }
        if (overlay !== 'demo/load') assert.ok(checked >= 3, `checked ${checked} command lines`);
      });

      if (overlay === 'demo/load') return;

      it('wires the webhook: configuration → Service → Deployment → TLS files and flags', () => {
        const config = objects.find((o) => o.kind === 'MutatingWebhookConfiguration') as K8sObject;
        assert.ok(config);
        assert.equal(config.webhooks.length, 1);
        const hook = config.webhooks[0];
        assert.deepEqual(hook.admissionReviewVersions, ['v1']);
        assert.equal(hook.sideEffects, 'None');
        assert.equal(hook.reinvocationPolicy, 'IfNeeded');
        assert.ok(hook.timeoutSeconds <= 10);
        assert.deepEqual(hook.objectSelector, { matchLabels: { 'ferry.dev/inject': 'true' } });
        assert.deepEqual(hook.rules, [
          { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
        ]);
        const ref = hook.clientConfig.service;
        assert.equal(ref.path, '/mutate');
        const excluded = hook.namespaceSelector.matchExpressions.find(
          (e: K8sObject) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn',
        );
        assert.ok(excluded.values.includes(ref.namespace), 'the webhook never gates its own namespace');
        const service = byKey.get(`Service/${ref.namespace}/${ref.name}`) as K8sObject;
        assert.ok(service, 'the configuration names an existing Service');
        const servicePort = service.spec.ports.find((p: K8sObject) => p.port === (ref.port ?? 443));
        assert.ok(servicePort, 'the Service has the configured port');
        const deployment = workloads.find(
          (w) =>
            w.kind === 'Deployment' &&
            w.metadata.namespace === ref.namespace &&
            selects(service.spec.selector, w.spec.template.metadata.labels),
        ) as K8sObject;
        assert.ok(deployment, 'the Service selects the webhook Deployment');
        assert.ok(!selects(hook.objectSelector.matchLabels, deployment.spec.template.metadata.labels));
        const spec = podSpecOf(deployment) as K8sObject;
        const container = spec.containers[0];
        assert.equal(container.args[0], 'webhook');
        const port = container.ports.find((p: K8sObject) => p.name === servicePort.targetPort);
        assert.equal(String(port.containerPort), flagValue(container.args, '--port'));
        for (const flag of ['--tls-cert', '--tls-key']) {
          const file = flagValue(container.args, flag) as string;
          const mount = container.volumeMounts.find((m: K8sObject) => file.startsWith(`${m.mountPath}/`));
          assert.ok(mount, `${flag} ${file} is inside a mounted volume`);
          const volume = spec.volumes.find((v: K8sObject) => v.name === mount.name);
          assert.ok(volume.secret, `${flag} comes from a Secret`);
          assert.ok(['tls.crt', 'tls.key'].includes(file.slice(mount.mountPath.length + 1)));
        }
        assert.equal(container.readinessProbe.httpGet.scheme, 'HTTPS');
        assert.equal(container.readinessProbe.httpGet.path, '/healthz');
        assert.ok(spec.securityContext.runAsNonRoot);
        assert.ok(deployment.spec.replicas >= 2, 'failurePolicy Fail needs more than one replica');
        // The seccomp profile the webhook names is the one the agent's init container installs.
        const profile = flagValue(container.args, '--seccomp-profile') as string;
        const agent = workloads.find((w) => w.kind === 'DaemonSet') as K8sObject;
        const init = podSpecOf(agent)?.initContainers?.find((c: K8sObject) => c.name === 'install-seccomp-profile');
        assert.ok(init.args.join(' ').includes(profile), `the init container writes ${profile}`);
        const hostSeccomp = podSpecOf(agent)?.volumes.find(
          (v: K8sObject) => v.hostPath?.path === '/var/lib/kubelet/seccomp',
        );
        assert.ok(init.volumeMounts.some((m: K8sObject) => m.name === hostSeccomp.name));
      });

      it('wires the agent DaemonSet: nodes, host paths, admin port, device plugin', () => {
        const agent = workloads.find((w) => w.kind === 'DaemonSet') as K8sObject;
        const spec = podSpecOf(agent) as K8sObject;
        assert.equal(spec.nodeSelector['ferry.dev/accelerator'], 'true');
        const main = spec.containers.find((c: K8sObject) => c.args?.[0] === 'agent');
        const plugin = spec.containers.find((c: K8sObject) => c.args?.[0] === 'device-plugin');
        assert.ok(main && plugin);
        const mountAt = (c: K8sObject, path: string) => c.volumeMounts.find((m: K8sObject) => m.mountPath === path);
        for (const [i, arg] of main.args.entries()) {
          if (arg !== '--kata-root') continue;
          const mount = mountAt(main, main.args[i + 1]) ?? mountAt(main, dirname(main.args[i + 1]));
          assert.ok(mount, `--kata-root ${main.args[i + 1]} is mounted`);
          assert.equal(mount.mountPropagation, 'HostToContainer');
        }
        assert.ok(mountAt(main, flagValue(main.args, '--cri-socket') as string), 'CRI socket mounted');
        assert.ok(
          mountAt(main, flagValue(main.args, '--model-dir') as string)?.readOnly,
          'model dir mounted read-only',
        );
        const adminPort = Number((flagValue(main.args, '--admin') as string).split(':').pop());
        assert.equal(main.ports.find((p: K8sObject) => p.name === 'admin').containerPort, adminPort);
        assert.equal(new URL(flagValue(plugin.args, '--agent-admin') as string).port, String(adminPort));
        assert.ok(mountAt(plugin, flagValue(plugin.args, '--plugin-dir') as string), 'plugin dir mounted');
        assert.equal(main.livenessProbe.httpGet.path, '/healthz');
        assert.equal(main.readinessProbe.httpGet.path, '/readyz');
        const providers = main.args.filter((_: string, i: number) => main.args[i - 1] === '--execution-provider');
        if (overlay === 'gpu') {
          assert.deepEqual(providers, ['cuda', 'cpu']);
          assert.equal(main.resources.limits['nvidia.com/gpu'], 1);
        } else {
          assert.deepEqual(providers, ['cpu']);
          assert.equal(main.resources.limits?.['nvidia.com/gpu'], undefined);
        }
      });

      if (overlay === 'demo') {
        it('runs the function as opted-in pods that never ask for a GPU, scaled by the autoscaler', () => {
          const fn = objects.find((o) => o.kind === 'Deployment' && o.metadata.namespace === 'ferry-demo') as K8sObject;
          const labels = fn.spec.template.metadata.labels;
          assert.equal(labels['ferry.dev/inject'], 'true');
          const spec = fn.spec.template.spec;
          assert.equal(spec.runtimeClassName, undefined, 'the webhook sets it');
          for (const c of spec.containers) {
            assert.equal(c.resources.limits?.['nvidia.com/gpu'], undefined);
            assert.ok(c.resources.requests.cpu, 'the autoscaler needs CPU requests');
            assert.equal(imageName(c.image), 'ferry-serve');
          }
          const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler') as K8sObject;
          assert.deepEqual(hpa.spec.scaleTargetRef, {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: fn.metadata.name,
          });
          assert.equal(hpa.metadata.namespace, fn.metadata.namespace);
          assert.ok(hpa.spec.maxReplicas > hpa.spec.minReplicas);
        });
      }

      if (overlay === 'monitoring') {
        it('scrapes the agents: ServiceMonitor → Service → admin port', () => {
          const monitor = objects.find((o) => o.kind === 'ServiceMonitor') as K8sObject;
          const services = objects.filter(
            (o) =>
              o.kind === 'Service' &&
              monitor.spec.namespaceSelector.matchNames.includes(o.metadata.namespace) &&
              selects(monitor.spec.selector.matchLabels, o.metadata.labels),
          );
          assert.equal(services.length, 1);
          const endpoint = monitor.spec.endpoints[0];
          assert.ok(services[0]?.spec.ports.some((p: K8sObject) => p.name === endpoint.port));
          assert.equal(endpoint.path, '/metrics');
        });
      }
    });
  }
});

/** Dockerfile instructions: continuation lines joined, heredoc bodies skipped, comments dropped. */
function dockerInstructions(text: string): { instruction: string; value: string }[] {
  const lines = text.split('\n');
  const out: { instruction: string; value: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] as string).trim();
    if (!line || line.startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${(lines[++i] as string).trim()}`;
    const heredoc = /<<-?'?"?(\w+)'?"?/.exec(line);
    if (heredoc) while (i + 1 < lines.length && (lines[++i] as string).trim() !== heredoc[1]);
    const match = /^(\w+)\s+(.*)$/.exec(line);
    assert.ok(match, `cannot read Dockerfile line "${line}"`);
    out.push({ instruction: (match[1] as string).toUpperCase(), value: match[2] as string });
  }
  return out;
}

/** ENTRYPOINT and CMD of the last stage, which must be JSON (exec form). */
function finalCommand(path: string): { entrypoint: string[]; cmd: string[] } {
  const instructions = dockerInstructions(readFileSync(join(root, path), 'utf8'));
  const lastFrom = instructions.findLastIndex((i) => i.instruction === 'FROM');
  const stage = instructions.slice(lastFrom);
  const exec = (name: string) => {
    const found = stage.filter((i) => i.instruction === name);
    assert.equal(found.length, 1, `${path}: one ${name} in the last stage`);
    const value = JSON.parse((found[0] as { value: string }).value);
    assert.ok(Array.isArray(value) && value.every((v) => typeof v === 'string'), `${path}: ${name} in exec form`);
    return value as string[];
  };
  return { entrypoint: exec('ENTRYPOINT'), cmd: exec('CMD') };
}

describe('Dockerfiles', () => {
  it('packages/cli/Dockerfile runs the ferry CLI with a command line it accepts', () => {
    const { entrypoint, cmd } = finalCommand('packages/cli/Dockerfile');
    assert.deepEqual(entrypoint, ['node', '/app/packages/cli/bin/ferry.js']);
    assert.ok(existsSync(join(root, 'packages/cli/bin/ferry.js')));
    checkCommandLine('ferry', cmd, 'packages/cli/Dockerfile CMD');
  });

  it('packages/serve/Dockerfile runs ferry-serve with a command line it accepts', () => {
    const { entrypoint, cmd } = finalCommand('packages/serve/Dockerfile');
    assert.deepEqual(entrypoint, ['node', '/app/packages/serve/bin/serve.js']);
    assert.ok(existsSync(join(root, 'packages/serve/bin/serve.js')));
    checkCommandLine('ferry-serve', cmd, 'packages/serve/Dockerfile CMD');
    assert.equal(flagValue(cmd, '--host'), '0.0.0.0');
  });

  it('refuses a flag the CLI does not have (the check can fail)', () => {
    assert.throws(() => checkCommandLine('ferry', ['webhook', '--tls-crt', 'x'], 'probe'), /tls-crt/);
    assert.throws(() => checkCommandLine('ferry-serve', ['--prot', '8080'], 'probe'), /prot/);
    assert.throws(() => checkCommandLine('ferry', ['nonsense'], 'probe'), /not a command/);
  });
});
