// The function image's composition root (`ferry-serve`): argv, signals, exit code. Only this file does
// those things in @ferry/serve; the agent address defaults to what @ferry/client resolves from the
// environment (FERRY_ADDRESS, then VACCEL_RPC_ADDRESS / VACCEL_VSOCK, else vsock://2:2048).
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createClient } from '@ferry/client';
import type { Connector } from '@ferry/transport';
import { createServe } from './create-serve.js';

const USAGE = `Usage: ferry-serve [--address <agent>] [--port 8080] [--host 0.0.0.0] [--model <name> …]
                   [--max-body-bytes <n>] [--timeout-ms <n>]

Serves the KServe Open Inference Protocol v2 (REST) and POST /classify, /detect, /ocr, answered by the
Ferry agent at --address (default: FERRY_ADDRESS, VACCEL_RPC_ADDRESS, VACCEL_VSOCK, vsock://2:2048).
`;

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`--${name} must be a positive integer, got "${value}"`);
  }
  return n;
}

/** AF_VSOCK from @ferry/vsock when it is installed and built (inside a microVM); unix and tcp work without it. */
async function vsockConnector(): Promise<Connector | undefined> {
  try {
    const { createVsockConnector, vsockAvailable } = await import('@ferry/vsock');
    return vsockAvailable().ok ? createVsockConnector() : undefined;
  } catch {
    return undefined;
  }
}

async function run(argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  const parse = (args: readonly string[]) =>
    parseArgs({
      args: [...args],
      options: {
        address: { type: 'string' },
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '0.0.0.0' },
        model: { type: 'string', multiple: true },
        'max-body-bytes': { type: 'string' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  let port: number;
  let maxBodyBytes: number | undefined;
  let requestTimeoutMs: number | undefined;
  try {
    ({ values } = parse(argv));
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535)
      throw new RangeError(`--port must be 0..65535, got "${values.port}"`);
    maxBodyBytes = positive(values['max-body-bytes'], 'max-body-bytes');
    requestTimeoutMs = positive(values['timeout-ms'], 'timeout-ms');
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }

  // Listen for the stop signals before anything starts, so one that arrives during startup still stops gracefully.
  const stop = Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  const vsock = await vsockConnector();
  const client = createClient({
    ...(values.address === undefined ? {} : { address: values.address }),
    ...(vsock ? { connectors: { vsock } } : {}),
  });
  try {
    const serve = await createServe({
      client,
      ...(values.model ? { models: values.model } : {}),
      limits: {
        ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
        ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
      },
    });
    const { url } = await serve.listen({ port, host: values.host });
    process.stdout.write(`${JSON.stringify({ event: 'listening', url, agent: client.address })}\n`);
    // Graceful stop: no new requests, the ones in flight are answered, the agent session is released.
    await stop;
    await serve.close();
    return 0;
  } catch (error) {
    process.stderr.write(`ferry-serve: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

process.exitCode = await run(process.argv.slice(2));
