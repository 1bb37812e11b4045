import { createClient } from '@ferry/client';
import { createServe } from '@ferry/serve';
import type { Logger } from 'pino';
import type { Io } from '../io.js';
import { guestConnectors } from '../wiring.js';

export interface ServeArgs {
  readonly address: string;
  readonly port: number;
  readonly host: string;
  readonly models?: readonly string[];
  readonly maxBodyBytes?: number;
}

/** `ferry serve`: the microVM function, until `stop` resolves; prints a `listening` line with its URL. */
export async function runServe(args: ServeArgs, logger: Logger, io: Io, stop: Promise<unknown>): Promise<number> {
  const client = createClient({ address: args.address, connectors: guestConnectors() });
  const serve = await createServe({
    client,
    ...(args.models?.length ? { models: args.models } : {}),
    ...(args.maxBodyBytes ? { limits: { maxBodyBytes: args.maxBodyBytes } } : {}),
  });
  const address = await serve.listen({ port: args.port, host: args.host });
  logger.info({ url: address.url, agent: args.address }, 'serving');
  io.out(JSON.stringify({ event: 'listening', url: address.url, agent: args.address }));
  await stop;
  logger.info('closing: answering requests in flight');
  await serve.close();
  await client.close();
  return 0;
}
