import { Code, FerryError } from '@ferry/core';

/** One RFC 6902 operation. The webhook only adds and replaces: it never removes what a pod author wrote. */
export interface JsonPatchOperation {
  readonly op: 'add' | 'replace';
  readonly path: string;
  readonly value: unknown;
}

export interface PodMutationOptions {
  /** `spec.runtimeClassName` for opted-in pods; default `kata-fc`. */
  readonly runtimeClassName?: string;
  /** `FERRY_ADDRESS` given to every container that lacks it; default `vsock://2:2048`. */
  readonly address?: string;
  /** Request one share of `resourceName` (the device plugin runs); default false. */
  readonly requestShare?: boolean;
  /** The device plugin's extended resource; default `ferry.dev/accelerator`. */
  readonly resourceName?: string;
  /**
   * A `Localhost` seccomp profile (relative to the kubelet's seccomp directory, e.g.
   * `profiles/ferry-vsock.json`) for pods with no profile or `RuntimeDefault`; unset: seccomp untouched.
   */
  readonly seccompLocalhostProfile?: string;
}

export interface PodMutation {
  readonly patch: JsonPatchOperation[];
  /** Shown to the client (`kubectl` prints them): what was changed that the author may not expect. */
  readonly warnings: string[];
}

export const POD_MUTATION_DEFAULTS = {
  runtimeClassName: 'kata-fc',
  address: 'vsock://2:2048',
  resourceName: 'ferry.dev/accelerator',
  injectLabel: 'ferry.dev/inject',
} as const;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
const pointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

function invalid(message: string): FerryError {
  return new FerryError(Code.INVALID_ARGUMENT, message, { reason: 'INVALID_ADMISSION_REVIEW' });
}

/** Whether a pod opted in: label `ferry.dev/inject: "true"`. */
export function podOptedIn(pod: unknown): boolean {
  const labels = isObject(pod) && isObject(pod.metadata) ? pod.metadata.labels : undefined;
  return isObject(labels) && labels[POD_MUTATION_DEFAULTS.injectLabel] === 'true';
}

/**
 * The JSONPatch that makes an opted-in pod a Ferry guest: `runtimeClassName`, `FERRY_ADDRESS` on every
 * container and init container that lacks it, optionally one accelerator share and the vsock seccomp
 * profile. Applying it to its own result yields an empty patch (the webhook may be called again). It
 * never sets `overhead`: the RuntimeClass admission controller does.
 */
export function mutatePod(pod: unknown, options: PodMutationOptions = {}): PodMutation {
  const runtimeClassName = options.runtimeClassName ?? POD_MUTATION_DEFAULTS.runtimeClassName;
  const address = options.address ?? POD_MUTATION_DEFAULTS.address;
  const resourceName = options.resourceName ?? POD_MUTATION_DEFAULTS.resourceName;
  if (!isObject(pod)) throw invalid('request.object is not a Pod');
  const spec = pod.spec;
  if (!isObject(spec)) throw invalid('request.object.spec is missing');
  const containers = containerList(spec.containers, 'containers');
  if (containers.length === 0) throw invalid('request.object.spec.containers is empty');
  const initContainers = spec.initContainers === undefined ? [] : containerList(spec.initContainers, 'initContainers');
  const patch: JsonPatchOperation[] = [];
  const warnings: string[] = [];

  if (spec.runtimeClassName === undefined || spec.runtimeClassName === null) {
    patch.push({ op: 'add', path: '/spec/runtimeClassName', value: runtimeClassName });
  } else if (spec.runtimeClassName !== runtimeClassName) {
    warnings.push(
      `ferry: runtimeClassName "${String(spec.runtimeClassName)}" kept; the Ferry agent serves Firecracker sandboxes (${runtimeClassName})`,
    );
  }

  for (const [field, list] of [
    ['initContainers', initContainers],
    ['containers', containers],
  ] as const) {
    list.forEach((container, index) => {
      const base = `/spec/${field}/${index}`;
      if (container.env === undefined || container.env === null) {
        patch.push({ op: 'add', path: `${base}/env`, value: [{ name: 'FERRY_ADDRESS', value: address }] });
      } else if (!container.env.some((variable) => variable.name === 'FERRY_ADDRESS')) {
        patch.push({ op: 'add', path: `${base}/env/-`, value: { name: 'FERRY_ADDRESS', value: address } });
      }
    });
  }

  if (options.requestShare && !containers.some((c) => hasResource(c.resources, resourceName))) {
    patch.push(...shareRequest(containers[0] as Container, '/spec/containers/0', resourceName));
  }

  if (options.seccompLocalhostProfile !== undefined) {
    seccomp(spec, containers, initContainers, options.seccompLocalhostProfile, patch, warnings);
  }
  return { patch, warnings };
}

interface Container {
  readonly name: string;
  readonly env?: readonly { readonly name: string }[] | null;
  readonly resources?: unknown;
  readonly securityContext?: unknown;
}

function containerList(value: unknown, field: string): Container[] {
  if (!Array.isArray(value)) throw invalid(`request.object.spec.${field} is not a list`);
  return value.map((container, index) => {
    if (!isObject(container) || typeof container.name !== 'string') {
      throw invalid(`request.object.spec.${field}[${index}] has no name`);
    }
    const env = container.env;
    if (env !== undefined && env !== null) {
      if (!Array.isArray(env) || !env.every((v) => isObject(v) && typeof v.name === 'string')) {
        throw invalid(`request.object.spec.${field}[${index}].env is not a list of named variables`);
      }
    }
    return container as unknown as Container;
  });
}

function hasResource(resources: unknown, name: string): boolean {
  if (!isObject(resources)) return false;
  return [resources.limits, resources.requests].some((list) => isObject(list) && list[name] !== undefined);
}

/** One share in limits (and in requests when the container lists requests: extended resources need both equal). */
function shareRequest(container: Container, base: string, name: string): JsonPatchOperation[] {
  const resources = container.resources;
  if (!isObject(resources)) {
    return [{ op: 'add', path: `${base}/resources`, value: { limits: { [name]: '1' }, requests: { [name]: '1' } } }];
  }
  const ops: JsonPatchOperation[] = [];
  for (const kind of ['limits', 'requests'] as const) {
    const list = resources[kind];
    if (!isObject(list)) {
      ops.push({ op: 'add', path: `${base}/resources/${kind}`, value: { [name]: '1' } });
    } else {
      ops.push({ op: 'add', path: `${base}/resources/${kind}/${pointer(name)}`, value: '1' });
    }
  }
  return ops;
}

/**
 * The vsock seccomp profile: set where nothing is set or where `RuntimeDefault` is (which blocks
 * socket(AF_VSOCK); the Localhost profile is RuntimeDefault plus AF_VSOCK), each replacement announced in
 * a warning. Another Localhost profile, or Unconfined, is the author's choice and is kept, with a warning
 * for Localhost (it may block the vsock).
 */
function seccomp(
  spec: Json,
  containers: readonly Container[],
  initContainers: readonly Container[],
  profile: string,
  patch: JsonPatchOperation[],
  warnings: string[],
) {
  const wanted = { type: 'Localhost', localhostProfile: profile };
  const podContext = spec.securityContext;
  const podProfile = isObject(podContext) ? podContext.seccompProfile : undefined;
  const decide = (current: unknown, where: string): 'set' | 'replace' | 'keep' => {
    if (current === undefined || current === null) return 'set';
    if (!isObject(current)) throw invalid(`${where}.seccompProfile is not an object`);
    if (current.type === 'Localhost' && current.localhostProfile === profile) return 'keep';
    if (current.type === 'RuntimeDefault') {
      warnings.push(
        `ferry: ${where} seccomp RuntimeDefault replaced by Localhost ${profile} (RuntimeDefault plus socket(AF_VSOCK), which the guest SDK needs)`,
      );
      return 'replace';
    }
    if (current.type === 'Localhost') {
      warnings.push(
        `ferry: ${where} seccomp Localhost ${String(current.localhostProfile)} kept; it must allow socket(AF_VSOCK) for the guest SDK`,
      );
    }
    return 'keep';
  };

  const podDecision = decide(podProfile, 'pod');
  if (podDecision === 'replace') {
    patch.push({ op: 'replace', path: '/spec/securityContext/seccompProfile', value: wanted });
  } else if (podDecision === 'set') {
    patch.push(
      isObject(podContext)
        ? { op: 'add', path: '/spec/securityContext/seccompProfile', value: wanted }
        : { op: 'add', path: '/spec/securityContext', value: { seccompProfile: wanted } },
    );
  }
  for (const [field, list] of [
    ['initContainers', initContainers],
    ['containers', containers],
  ] as const) {
    list.forEach((container, index) => {
      const context = container.securityContext;
      const current = isObject(context) ? context.seccompProfile : undefined;
      // A container without a profile of its own inherits the pod's.
      if (current === undefined || current === null) return;
      if (decide(current, `container "${container.name}"`) === 'replace') {
        patch.push({ op: 'replace', path: `/spec/${field}/${index}/securityContext/seccompProfile`, value: wanted });
      }
    });
  }
}
