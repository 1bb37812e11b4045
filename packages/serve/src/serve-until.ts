import type { Client } from '@ferry/client';
import { createServe } from './create-serve.js';
import type { ServeFlags } from './serve-flags.js';

/**
 * The function's life for its composition roots (`ferry-serve`, `ferry serve`): serve what `flags` say
 * through `client`, report the URL, and at `stop` close gracefully (no new requests, the ones in flight
 * answered). The caller owns `client`.
 */
export async function serveUntil(
  client: Client,
  options: { readonly flags: ServeFlags; readonly stop: Promise<unknown>; onListening(url: string): void },
): Promise<void> {
  const { flags } = options;
  const serve = await createServe({ client, ...(flags.models ? { models: flags.models } : {}), limits: flags.limits });
  const { url } = await serve.listen({ port: flags.port, host: flags.host });
  options.onListening(url);
  await options.stop;
  await serve.close();
}
