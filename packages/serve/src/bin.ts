// The function image's composition root (`ferry-serve`): argv, signals, exit code. Only this file does
// those things in @ferry/serve; the agent address defaults to what @ferry/client resolves from the
// environment (FERRY_ADDRESS, then VACCEL_RPC_ADDRESS / VACCEL_VSOCK, else vsock://2:2048).
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createClient } from '@ferry/client';
import type { Connector } from '@ferry/transport';
import { formatFlags, parseServeFlags, SERVE_FLAGS, type ServeFlags } from './serve-flags.js';
import { serveUntil } from './serve-until.js';

const USAGE = `Usage: ferry-serve [options]

Serves the KServe Open Inference Protocol v2 (REST) and POST /classify, /detect, /ocr, answered by the
Ferry agent at --address.

Options:
${formatFlags(SERVE_FLAGS)}
  --help, -h`;

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
  let flags: ServeFlags;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { ...SERVE_FLAGS, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    flags = parseServeFlags(values);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }

  // Listen for the stop signals before anything starts, so one that arrives during startup still stops gracefully.
  const stop = Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  const vsock = await vsockConnector();
  const client = createClient({
    ...(flags.address === undefined ? {} : { address: flags.address }),
    ...(vsock ? { connectors: { vsock } } : {}),
  });
  try {
    await serveUntil(client, {
      flags,
      stop,
      onListening: (url) =>
        process.stdout.write(`${JSON.stringify({ event: 'listening', url, agent: client.address })}\n`),
    });
    return 0;
  } catch (error) {
    process.stderr.write(`ferry-serve: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

process.exitCode = await run(process.argv.slice(2));
