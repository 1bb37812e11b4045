import { parseArgs } from 'node:util';
import { type AgentLimits, createAdminServer, DEFAULT_LIMITS } from '@ferry/agent';
import { Code, FerryError } from '@ferry/core';
import { type Logger, pino } from 'pino';
import { startAgent } from './commands/agent.js';
import { runConformance } from './commands/conformance.js';
import { runDemo } from './commands/demo.js';
import { runInfer } from './commands/infer.js';
import { runServe } from './commands/serve.js';
import { runModels, runVision } from './commands/vision.js';
import { type Io, processIo } from './io.js';

const USAGE = `ferry — ML inference for microVMs over vsock, served by one host agent

Usage:
  ferry agent --listen <address> [--listen <address> …] [--model-dir <dir>] [--admin <host:port>]
              [--workers <n>] [--intra-op-threads <n>] [--execution-provider cpu|cuda|tensorrt …]
              [--max-frame-bytes <n>]
              [--limit <name>=<n> …]   (e.g. --limit maxSessionsPerTenant=128; see docs/troubleshooting.md)
              [--batching off|<maxBatch>[:<maxQueueDelayUs>]]   (default 8:0; ferry.json "batching" wins)
              [--tenant-weight <tenant>=<n> …]
              [--log-level info]
  ferry serve --address <agent address> [--port 8080] [--host 127.0.0.1] [--model <name> …]
              [--max-body-bytes <n>]
  ferry infer --address <address> --model <file.onnx|name> --input [<name>=]<tensor.pb> …
              [--out <dir>] [--json] [--timeout-ms <n>] [--model-dir <dir>]
  ferry conformance --address <address> <dir> … [--json] [--timeout-ms <n>]
  ferry models list|describe|load|unload [<name>] --address <address> [--json]
  ferry classify --address <address> --model <name> [--top-k <n>] <image> … [--json]
  ferry detect --address <address> [--model <name>] <image> … [--json]
  ferry ocr --address <address> <image> … [--json]
  ferry demo [--tenants 4] [--duration <seconds>] [--json] [--admin <host:port>]

Addresses: unix:///abs/path  unix:rel/path  tcp://host:port  vsock://cid:port  local: (in-process)
Environment: FERRY_ADDRESS (then VACCEL_RPC_ADDRESS, VACCEL_VSOCK) is the default --address.
`;

const COMMAND_HELP: Record<string, string> = {
  agent: 'Serve ferry.v1.Accelerator on each --listen address; each listener is one tenant.',
  infer: 'Run one inference: inputs and outputs are ONNX TensorProto files (output_<i>.pb in --out).',
  conformance:
    'Run ONNX backend-test directories (model.onnx, test_data_set_*/input_*.pb, output_*.pb) through the agent.',
  models: "List, describe, load or unload the agent's repository models (model directory and built-ins).",
  classify:
    'Classify images (JPEG, PNG, WebP) with a classifier of the repository; --json prints one object per image.',
  detect: 'Find text boxes (built-in detector) or objects in images; --json prints one object per image.',
  ocr: 'Read the text of images (PP-OCR: detection, direction, recognition); --json prints one object per image.',
  serve: 'The microVM function: KServe Open Inference Protocol v2 and POST /classify, /detect, /ocr over HTTP.',
  demo: 'The offline demo: an agent, N function processes behind Kata-style sockets, a mixed workload, the dashboard.',
};

class UsageError extends Error {}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}

function addressOf(value: string | undefined, env: NodeJS.ProcessEnv): string {
  return value ?? env.FERRY_ADDRESS ?? env.VACCEL_RPC_ADDRESS ?? env.VACCEL_VSOCK ?? required(undefined, 'address');
}

/** Runs the CLI; resolves to the exit code. Only the CLI reads env vars and handles signals. */
export async function main(argv: readonly string[], io: Io = processIo, env = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(USAGE);
    return command ? 0 : 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = COMMAND_HELP[command];
    if (!help) {
      io.err(`Unknown command "${command}"\n\n${USAGE}`);
      return 2;
    }
    io.out(`${help}\n\n${USAGE}`);
    return 0;
  }
  try {
    switch (command) {
      case 'agent':
        return await agentCommand(rest, io, env);
      case 'infer': {
        const { values } = parseArgs({
          args: [...rest],
          options: {
            address: { type: 'string' },
            model: { type: 'string' },
            input: { type: 'string', multiple: true },
            out: { type: 'string' },
            json: { type: 'boolean', default: false },
            'timeout-ms': { type: 'string' },
            'model-dir': { type: 'string' },
          },
        });
        const timeoutMs = int(values['timeout-ms'], 'timeout-ms');
        return await runInfer(
          {
            address: addressOf(values.address, env),
            model: required(values.model, 'model'),
            inputs: values.input ?? [],
            json: values.json ?? false,
            ...(values.out ? { out: values.out } : {}),
            ...(timeoutMs ? { timeoutMs } : {}),
            ...(values['model-dir'] ? { modelDir: values['model-dir'] } : {}),
          },
          io,
        );
      }
      case 'conformance': {
        const { values, positionals } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          options: {
            address: { type: 'string' },
            json: { type: 'boolean', default: false },
            'timeout-ms': { type: 'string' },
          },
        });
        if (positionals.length === 0) throw new UsageError('conformance needs at least one test directory');
        const timeoutMs = int(values['timeout-ms'], 'timeout-ms');
        return await runConformance(
          {
            address: addressOf(values.address, env),
            dirs: positionals,
            json: values.json ?? false,
            ...(timeoutMs ? { timeoutMs } : {}),
          },
          io,
        );
      }
      case 'models': {
        const { values, positionals } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          options: { address: { type: 'string' }, json: { type: 'boolean', default: false } },
        });
        const [action, name] = positionals;
        if (action !== 'list' && action !== 'describe' && action !== 'load' && action !== 'unload') {
          throw new UsageError('models needs list, describe, load or unload');
        }
        if (action !== 'list' && !name) throw new UsageError(`models ${action} needs a model name`);
        return await runModels(
          { address: addressOf(values.address, env), action, json: values.json ?? false, ...(name ? { name } : {}) },
          io,
        );
      }
      case 'classify':
      case 'detect':
      case 'ocr': {
        const { values, positionals } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          options: {
            address: { type: 'string' },
            model: { type: 'string' },
            'top-k': { type: 'string' },
            json: { type: 'boolean', default: false },
            'timeout-ms': { type: 'string' },
          },
        });
        if (positionals.length === 0) throw new UsageError(`${command} needs at least one image`);
        if (command === 'classify' && !values.model) throw new UsageError('classify needs --model');
        const topK = int(values['top-k'], 'top-k');
        const timeoutMs = int(values['timeout-ms'], 'timeout-ms');
        return await runVision(
          command,
          {
            address: addressOf(values.address, env),
            images: positionals,
            json: values.json ?? false,
            ...(values.model ? { model: values.model } : {}),
            ...(topK ? { topK } : {}),
            ...(timeoutMs ? { timeoutMs } : {}),
          },
          io,
        );
      }
      case 'serve': {
        const { values } = parseArgs({
          args: [...rest],
          options: {
            address: { type: 'string' },
            port: { type: 'string', default: '8080' },
            host: { type: 'string', default: '127.0.0.1' },
            model: { type: 'string', multiple: true },
            'max-body-bytes': { type: 'string' },
            'log-level': { type: 'string' },
          },
        });
        const logger = pino({ level: values['log-level'] ?? env.FERRY_LOG_LEVEL ?? 'info' }, pino.destination(2));
        const port = values.port === '0' ? 0 : int(values.port, 'port');
        const maxBodyBytes = int(values['max-body-bytes'], 'max-body-bytes');
        return await runServe(
          {
            address: addressOf(values.address, env),
            port: port ?? 8080,
            host: values.host ?? '127.0.0.1',
            ...(values.model ? { models: values.model } : {}),
            ...(maxBodyBytes ? { maxBodyBytes } : {}),
          },
          logger,
          io,
          untilSignal(logger),
        );
      }
      case 'demo': {
        const { values } = parseArgs({
          args: [...rest],
          options: {
            tenants: { type: 'string', default: '4' },
            duration: { type: 'string' },
            json: { type: 'boolean', default: false },
            admin: { type: 'string' },
          },
        });
        const tenants = int(values.tenants, 'tenants') ?? 4;
        if (tenants > 64) throw new UsageError('--tenants is at most 64');
        const duration = values.duration === undefined ? undefined : Number(values.duration);
        if (duration !== undefined && (!Number.isFinite(duration) || duration < 0)) {
          throw new UsageError('--duration must be a number of seconds (0: until Ctrl-C)');
        }
        return await runDemo(
          {
            tenants,
            json: values.json ?? false,
            ...(duration === undefined ? {} : { durationS: duration }),
            ...(values.admin ? { admin: hostPort(values.admin, 'admin') } : {}),
            interactive: process.stdout.isTTY === true && !values.json,
          },
          io,
          untilSignal(),
        );
      }
      default:
        io.err(`Unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
      io.err(`ferry ${command}: ${(error as Error).message}\nRun "ferry ${command} --help" for usage.`);
      return 2;
    }
    const failure = FerryError.from(error);
    io.err(`ferry ${command}: ${failure.message}`);
    return failure.code === Code.INVALID_ARGUMENT ? 2 : 1;
  }
}

async function agentCommand(rest: readonly string[], io: Io, env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: [...rest],
    options: {
      listen: { type: 'string', multiple: true },
      'model-dir': { type: 'string' },
      workers: { type: 'string' },
      'intra-op-threads': { type: 'string' },
      'execution-provider': { type: 'string', multiple: true },
      'max-frame-bytes': { type: 'string' },
      'log-level': { type: 'string' },
      admin: { type: 'string' },
      limit: { type: 'string', multiple: true },
      batching: { type: 'string' },
      'tenant-weight': { type: 'string', multiple: true },
    },
  });
  if (!values.listen?.length) throw new UsageError('agent needs at least one --listen address');
  const batching = parseBatching(values.batching);
  const tenantWeights: Record<string, number> = {};
  for (const pair of values['tenant-weight'] ?? []) {
    const at = pair.lastIndexOf('=');
    const weight = at > 0 ? int(pair.slice(at + 1), 'tenant-weight') : undefined;
    if (!weight) throw new UsageError('--tenant-weight takes <tenant>=<positive integer>');
    tenantWeights[pair.slice(0, at)] = weight;
  }
  const limits = parseLimits(values.limit ?? []);
  const admin = values.admin ? hostPort(values.admin, 'admin') : undefined;
  const logger = pino({ level: values['log-level'] ?? env.FERRY_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const workers = int(values.workers, 'workers');
  const intraOpThreads = int(values['intra-op-threads'], 'intra-op-threads');
  const maxFrameBytes = int(values['max-frame-bytes'], 'max-frame-bytes');
  const agent = await startAgent(
    {
      listen: values.listen,
      ...(values['model-dir'] ? { modelDir: values['model-dir'] } : {}),
      ...(workers ? { workers } : {}),
      ...(intraOpThreads ? { intraOpThreads } : {}),
      ...(values['execution-provider'] ? { executionProviders: values['execution-provider'] } : {}),
      ...(maxFrameBytes ? { maxFrameBytes } : {}),
      limits,
      ...(batching === undefined ? {} : { batching }),
      ...(Object.keys(tenantWeights).length > 0 ? { tenantWeights } : {}),
    },
    logger,
    io,
  );
  const adminServer = admin ? await createAdminServer({ agent, host: admin.host, port: admin.port }) : undefined;
  if (adminServer) {
    logger.info({ url: adminServer.address }, 'admin: dashboard, /metrics, /healthz, /readyz');
    io.out(JSON.stringify({ event: 'admin', url: adminServer.address }));
  }
  await untilSignal(logger, () => {
    logger.warn('stopping now');
    void adminServer?.destroy();
    void agent.destroy();
  });
  logger.info('closing: draining calls in flight (signal again to stop now)');
  await adminServer?.close();
  await agent.close();
  logger.info('closed');
  return 0;
}

/** Resolves on the first SIGINT/SIGTERM; a second one calls `onSecond` (stop without draining). */
function untilSignal(logger?: Logger, onSecond: () => void = () => process.exit(130)): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      seen++;
      if (seen === 1) {
        logger?.info({ signal }, 'signal');
        resolve(signal);
      } else {
        onSecond();
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** `--batching off` or `--batching <maxBatch>[:<maxQueueDelayUs>]`. */
function parseBatching(value: string | undefined): { maxBatch: number; maxQueueDelayUs: number } | false | undefined {
  if (value === undefined) return undefined;
  if (value === 'off') return false;
  const match = /^(\d+)(?::(\d+))?$/.exec(value);
  if (!match) throw new UsageError('--batching takes off or <maxBatch>[:<maxQueueDelayUs>], e.g. 16:500');
  return { maxBatch: Number(match[1]), maxQueueDelayUs: Number(match[2] ?? 0) };
}

/** `--limit name=value` pairs, checked against the agent's limits. */
function parseLimits(pairs: readonly string[]): Partial<AgentLimits> {
  const limits: Record<string, number> = {};
  for (const pair of pairs) {
    const [name, value] = pair.split('=');
    if (!name || value === undefined || !(name in DEFAULT_LIMITS)) {
      throw new UsageError(`--limit takes name=value, name one of: ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
    }
    limits[name] = int(value, `limit ${name}`) as number;
  }
  return limits;
}

function hostPort(value: string, name: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`--${name} must be host:port, e.g. 127.0.0.1:9090, got "${value}"`);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}
