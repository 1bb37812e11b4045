/**
 * The OCI runtime spec's `linux.seccomp` (config-linux.md "Seccomp"): what a Kubernetes `Localhost`
 * profile file holds, read by containerd/CRI-O and, under Kata, applied by the agent in the guest.
 */
export interface OciSeccompProfile {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet?: number;
  readonly architectures?: readonly string[];
  readonly flags?: readonly string[];
  readonly listenerPath?: string;
  readonly listenerMetadata?: string;
  readonly syscalls?: readonly OciSeccompRule[];
}

export interface OciSeccompRule {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly errnoRet?: number;
  readonly args?: readonly OciSeccompArg[];
}

export interface OciSeccompArg {
  readonly index: number;
  readonly value: number;
  readonly valueTwo?: number;
  readonly op: SeccompOperator;
}

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];

export const SECCOMP_ARCHITECTURES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
] as const;

const FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function only(value: Record<string, unknown>, keys: readonly string[], path: string) {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new TypeError(`${path}.${key} is not a field of an OCI seccomp profile`);
  }
}

const isUint = (value: unknown, max = 2 ** 64 - 1) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new TypeError(`${path} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/**
 * Checks that `value` is an OCI `LinuxSeccomp` object, field by field and with no field the spec does not
 * define (Docker's template keys `archMap`, `includes`, `excludes` are not OCI: a runtime would ignore
 * them and apply every rule). Throws a TypeError naming the first offending path.
 */
export function parseOciSeccompProfile(value: unknown): OciSeccompProfile {
  if (!isObject(value)) throw new TypeError('The profile is not a JSON object');
  only(
    value,
    ['defaultAction', 'defaultErrnoRet', 'architectures', 'flags', 'listenerPath', 'listenerMetadata', 'syscalls'],
    '$',
  );
  oneOf(value.defaultAction, SECCOMP_ACTIONS, '$.defaultAction');
  if (value.defaultErrnoRet !== undefined && !isUint(value.defaultErrnoRet, 2 ** 32 - 1)) {
    throw new TypeError('$.defaultErrnoRet must be a uint32');
  }
  if (value.architectures !== undefined) {
    if (!Array.isArray(value.architectures)) throw new TypeError('$.architectures must be a list');
    value.architectures.forEach((arch, i) => {
      oneOf(arch, SECCOMP_ARCHITECTURES, `$.architectures[${i}]`);
    });
  }
  if (value.flags !== undefined) {
    if (!Array.isArray(value.flags)) throw new TypeError('$.flags must be a list');
    value.flags.forEach((flag, i) => {
      oneOf(flag, FLAGS, `$.flags[${i}]`);
    });
  }
  for (const key of ['listenerPath', 'listenerMetadata'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'string') throw new TypeError(`$.${key} must be a string`);
  }
  if (value.syscalls !== undefined) {
    if (!Array.isArray(value.syscalls)) throw new TypeError('$.syscalls must be a list');
    value.syscalls.forEach((rule: unknown, i) => {
      const path = `$.syscalls[${i}]`;
      if (!isObject(rule)) throw new TypeError(`${path} must be an object`);
      only(rule, ['names', 'action', 'errnoRet', 'args'], path);
      if (
        !Array.isArray(rule.names) ||
        rule.names.length === 0 ||
        !rule.names.every((n) => typeof n === 'string' && /^[a-z0-9_]+$/.test(n))
      ) {
        throw new TypeError(`${path}.names must be a non-empty list of syscall names`);
      }
      oneOf(rule.action, SECCOMP_ACTIONS, `${path}.action`);
      if (rule.errnoRet !== undefined && !isUint(rule.errnoRet, 2 ** 32 - 1)) {
        throw new TypeError(`${path}.errnoRet must be a uint32`);
      }
      if (rule.args !== undefined) {
        if (!Array.isArray(rule.args)) throw new TypeError(`${path}.args must be a list`);
        rule.args.forEach((arg: unknown, j) => {
          const at = `${path}.args[${j}]`;
          if (!isObject(arg)) throw new TypeError(`${at} must be an object`);
          only(arg, ['index', 'value', 'valueTwo', 'op'], at);
          if (!isUint(arg.index, 5)) throw new TypeError(`${at}.index must be 0 to 5`);
          if (!isUint(arg.value)) throw new TypeError(`${at}.value must be a uint64`);
          if (arg.valueTwo !== undefined && !isUint(arg.valueTwo))
            throw new TypeError(`${at}.valueTwo must be a uint64`);
          oneOf(arg.op, SECCOMP_OPERATORS, `${at}.op`);
        });
      }
    });
  }
  return value as unknown as OciSeccompProfile;
}
