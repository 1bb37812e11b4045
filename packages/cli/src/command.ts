import { type ParseArgsConfig, parseArgs } from 'node:util';
import { defaultAddress } from '@ferry/client';
import { type FlagSpec, formatFlags } from '@ferry/serve';
import type { Io } from './io.js';

/** What a command gets from the composition root: where to write, the environment, the stop signal. */
export interface CommandContext {
  readonly io: Io;
  readonly env: NodeJS.ProcessEnv;
  /**
   * Resolves on the first SIGINT/SIGTERM; a second one calls `onSecond` (default: exit 130, stop now).
   * Commands that run until stopped await it.
   */
  untilSignal(onSecond?: () => void): Promise<NodeJS.Signals>;
  /** Whether stdout is a terminal (the demo redraws a live table there). */
  readonly interactive: boolean;
}

/** What `parseArgs` reads for a table of flags, typed by that table. */
export type Parsed<F extends Record<string, FlagSpec>> = ReturnType<
  typeof parseArgs<{ options: F; allowPositionals: true; args: string[]; strict: true }>
>;

/** One `ferry` command: its flags, help and handler in one place. */
export interface CommandSpec<F extends Record<string, FlagSpec>> {
  readonly name: string;
  /** One line for `ferry --help`. */
  readonly summary: string;
  /** What follows `ferry <name>` in the usage line, e.g. `--address <address> <image> …`. */
  readonly synopsis: string;
  /** Paragraphs shown by `ferry <name> --help` after the summary. */
  readonly details?: string;
  readonly flags: F;
  /** Whether the command takes arguments besides its flags (images, directories, an action). */
  readonly positionals?: boolean;
  readonly run: (parsed: Parsed<F>, context: CommandContext) => Promise<number>;
}

/** A command with its flag types erased, as the command table holds it. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly synopsis: string;
  /** The flags `parseArgs` reads (manifests and Dockerfiles are checked against them). */
  readonly flags: Readonly<Record<string, FlagSpec>>;
  help(): string;
  /** Checks a command line without running it: unknown flags, missing values, stray arguments throw. */
  parse(argv: readonly string[]): void;
  execute(argv: readonly string[], context: CommandContext): Promise<number>;
}

export function defineCommand<const F extends Record<string, FlagSpec>>(spec: CommandSpec<F>): Command {
  const parse = (argv: readonly string[]): Parsed<F> => {
    const config: ParseArgsConfig = { args: [...argv], options: spec.flags, allowPositionals: true, strict: true };
    const parsed = parseArgs(config) as Parsed<F>;
    const [extra] = parsed.positionals;
    if (!spec.positionals && extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    return parsed;
  };
  return {
    name: spec.name,
    summary: spec.summary,
    synopsis: spec.synopsis,
    flags: spec.flags,
    help: () =>
      [
        `ferry ${spec.name} — ${spec.summary}`,
        `Usage: ferry ${spec.name} ${spec.synopsis}`,
        ...(spec.details ? [spec.details] : []),
        `Options:\n${formatFlags(spec.flags)}`,
      ].join('\n\n'),
    parse(argv) {
      parse(argv);
    },
    async execute(argv, context) {
      return spec.run(parse(argv), context);
    },
  };
}

/** A mistake in the command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`--${flag} must be a positive integer, got "${value}"`);
  }
  return n;
}

export function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`--${flag} is required`);
  return value;
}

/** `--address`, else the default every guest uses: FERRY_ADDRESS, VACCEL_*, else vsock://2:2048. */
export function addressFlag(value: string | undefined, env: NodeJS.ProcessEnv): string {
  return value ?? defaultAddress(env);
}

export function hostPort(value: string, flag: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`--${flag} must be host:port, e.g. 127.0.0.1:9090, got "${value}"`);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

/** The flags most client commands share. */
export const ADDRESS_FLAG = {
  type: 'string',
  value: '<address>',
  help: 'the agent: unix:///path, tcp://host:port, vsock://cid:port or local: (in-process); default FERRY_ADDRESS, else vsock://2:2048',
} as const satisfies FlagSpec;
export const JSON_FLAG = { type: 'boolean', default: false, help: 'print JSON (one object per line)' } as const;
export const TIMEOUT_FLAG = { type: 'string', value: '<n>', help: "each call's deadline in milliseconds" } as const;
export const LOG_LEVEL_FLAG = {
  type: 'string',
  value: '<level>',
  help: 'pino log level on stderr: debug, info, warn, error (default FERRY_LOG_LEVEL, else info)',
} as const;
