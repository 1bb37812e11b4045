import type { OciSeccompArg, OciSeccompProfile, OciSeccompRule, SeccompAction } from './oci-seccomp-profile.js';

/**
 * Docker/moby's seccomp template (`profiles/seccomp/default.json`, which containerd's built-in
 * RuntimeDefault follows): OCI rules plus `archMap` and per-rule `includes`/`excludes` conditions on
 * architecture, capabilities and kernel version, resolved when a container is created.
 */
export interface SeccompTemplate {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet?: number;
  readonly archMap: readonly { readonly architecture: string; readonly subArchitectures: readonly string[] | null }[];
  readonly syscalls: readonly SeccompTemplateRule[];
}

export interface SeccompTemplateRule {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly errnoRet?: number;
  readonly args?: readonly OciSeccompArg[];
  readonly comment?: string;
  readonly includes?: SeccompCondition;
  readonly excludes?: SeccompCondition;
}

export interface SeccompCondition {
  readonly arches?: readonly string[];
  readonly caps?: readonly string[];
  readonly minKernel?: string;
}

/** The capabilities containerd gives a container by default (its CRI default set). */
export const CONTAINERD_DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

/** Go architecture names (as the template's `arches` use them) and their libseccomp names. */
const NATIVE_ARCH = { amd64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64' } as const;
export type SeccompTargetArch = keyof typeof NATIVE_ARCH;

export interface RenderSeccompOptions {
  readonly arch: SeccompTargetArch;
  /** Default: {@link CONTAINERD_DEFAULT_CAPABILITIES}. */
  readonly capabilities?: readonly string[];
  /** Kernel version the profile targets, for `minKernel` conditions; default 5.10 (Firecracker's guest kernels). */
  readonly kernel?: string;
}

const kernelAtLeast = (kernel: string, min: string) => {
  const [a = 0, b = 0] = kernel.split('.').map(Number);
  const [c = 0, d = 0] = min.split('.').map(Number);
  return a > c || (a === c && b >= d);
};

/**
 * Resolves the template the way the runtime does for one container: the rules whose conditions hold for
 * `arch`, `capabilities` and `kernel`, as a plain OCI profile a `Localhost` seccomp profile can hold.
 */
export function renderSeccompProfile(template: SeccompTemplate, options: RenderSeccompOptions): OciSeccompProfile {
  const native = NATIVE_ARCH[options.arch];
  if (!native) throw new RangeError(`arch must be one of ${Object.keys(NATIVE_ARCH).join(', ')}`);
  const caps = new Set(options.capabilities ?? CONTAINERD_DEFAULT_CAPABILITIES);
  const kernel = options.kernel ?? '5.10';
  // includes: every listed condition holds (any of the arches, all of the caps, the kernel version);
  // excludes: the rule is dropped when any listed arch or cap matches.
  const included = (c: SeccompCondition | undefined) =>
    c === undefined ||
    ((c.arches === undefined || c.arches.includes(options.arch)) &&
      (c.caps === undefined || c.caps.every((cap) => caps.has(cap))) &&
      (c.minKernel === undefined || kernelAtLeast(kernel, c.minKernel)));
  const excluded = (c: SeccompCondition | undefined) =>
    c !== undefined && (c.arches?.includes(options.arch) === true || c.caps?.some((cap) => caps.has(cap)) === true);
  const entry = template.archMap.find((a) => a.architecture === native);
  const syscalls: OciSeccompRule[] = [];
  for (const rule of template.syscalls) {
    if (!included(rule.includes) || excluded(rule.excludes)) continue;
    syscalls.push({
      names: [...rule.names],
      action: rule.action,
      ...(rule.errnoRet === undefined ? {} : { errnoRet: rule.errnoRet }),
      ...(rule.args === undefined ? {} : { args: rule.args.map((arg) => ({ ...arg })) }),
    });
  }
  return {
    defaultAction: template.defaultAction,
    ...(template.defaultErrnoRet === undefined ? {} : { defaultErrnoRet: template.defaultErrnoRet }),
    architectures: [native, ...(entry?.subArchitectures ?? [])],
    syscalls,
  };
}

/** AF_VSOCK, the address family a Ferry guest's `socket()` call passes. */
export const AF_VSOCK = 40;

/**
 * The profile with `socket()` allowed for every address family: the runtime default allows it only when
 * the family is not AF_VSOCK (`args: [{ index: 0, value: 40, op: SCMP_CMP_NE }]`); that condition is the one
 * thing dropped. Throws if the profile has no such rule (then it is not the runtime default).
 */
export function allowVsock(profile: OciSeccompProfile): OciSeccompProfile {
  let found = false;
  const syscalls = (profile.syscalls ?? []).map((rule) => {
    const blocksVsock =
      rule.action === 'SCMP_ACT_ALLOW' &&
      rule.names.length === 1 &&
      rule.names[0] === 'socket' &&
      rule.args?.length === 1 &&
      rule.args[0]?.index === 0 &&
      rule.args[0].value === AF_VSOCK &&
      rule.args[0].op === 'SCMP_CMP_NE';
    if (!blocksVsock) return rule;
    found = true;
    return { names: ['socket'], action: rule.action } satisfies OciSeccompRule;
  });
  if (!found) throw new Error('The profile has no socket() rule excluding AF_VSOCK to relax');
  return { ...profile, syscalls };
}
