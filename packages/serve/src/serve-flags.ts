import type { ServeLimits } from './create-serve.js';

/** One flag of the function: a `node:util` `parseArgs` option plus the line its help prints. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  readonly default?: string | boolean;
  /** The value's placeholder in help, e.g. `<n>`. */
  readonly value?: string;
  readonly help: string;
}

/**
 * The function's flags, shared by `ferry-serve` (the function image's entry) and `ferry serve`, so both
 * parse the same options with the same defaults.
 */
export const SERVE_FLAGS = {
  address: {
    type: 'string',
    value: '<agent>',
    help: 'the agent (default: FERRY_ADDRESS, VACCEL_RPC_ADDRESS, VACCEL_VSOCK, else vsock://2:2048)',
  },
  port: { type: 'string', default: '8080', value: '<port>', help: 'HTTP port, 0 for any free one' },
  host: {
    type: 'string',
    default: '0.0.0.0',
    value: '<host>',
    help: 'HTTP host; inside a microVM the pod network reaches 0.0.0.0',
  },
  model: {
    type: 'string',
    multiple: true,
    value: '<name>',
    help: 'a repository model to serve under /v2/models (repeatable; default: all)',
  },
  'max-body-bytes': { type: 'string', value: '<n>', help: 'largest request body accepted (413 above)' },
  'timeout-ms': { type: 'string', value: '<n>', help: "each request's deadline at the agent" },
} as const satisfies Record<string, FlagSpec>;

/** What {@link parseServeFlags} makes of the function's flags. */
export interface ServeFlags {
  /** Absent: the client resolves the default address from the environment. */
  readonly address?: string;
  readonly port: number;
  readonly host: string;
  readonly models?: readonly string[];
  readonly limits: Partial<ServeLimits>;
}

type FlagValues = {
  readonly address?: string | undefined;
  readonly port?: string | undefined;
  readonly host?: string | undefined;
  readonly model?: readonly string[] | undefined;
  readonly 'max-body-bytes'?: string | undefined;
  readonly 'timeout-ms'?: string | undefined;
};

/** Checks the values `parseArgs` read for {@link SERVE_FLAGS}; throws RangeError naming the bad flag. */
export function parseServeFlags(values: FlagValues): ServeFlags {
  const port = values.port ?? SERVE_FLAGS.port.default;
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new RangeError(`--port must be 0..65535, got "${port}"`);
  const maxBodyBytes = positive(values['max-body-bytes'], 'max-body-bytes');
  const requestTimeoutMs = positive(values['timeout-ms'], 'timeout-ms');
  return {
    ...(values.address === undefined ? {} : { address: values.address }),
    port: Number(port),
    host: values.host ?? SERVE_FLAGS.host.default,
    ...(values.model?.length ? { models: values.model } : {}),
    limits: {
      ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
      ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    },
  };
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`--${name} must be a positive integer, got "${value}"`);
  }
  return n;
}

/** Help lines for a table of flags: `  --name <value>   help`, aligned. */
export function formatFlags(flags: Readonly<Record<string, FlagSpec>>): string {
  const rows = Object.entries(flags).map(([name, spec]) => {
    const left = `--${name}${spec.short ? `, -${spec.short}` : ''}${spec.value ? ` ${spec.value}` : ''}`;
    const extras = [
      spec.multiple ? 'repeatable' : '',
      spec.default !== undefined && spec.default !== false ? `default ${spec.default}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return [left, extras ? `${spec.help} (${extras})` : spec.help] as const;
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length)) + 3;
  return rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`).join('\n');
}
