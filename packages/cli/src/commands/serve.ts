import { createClient } from '@ferry/client';
import { parseServeFlags, SERVE_FLAGS, serveUntil } from '@ferry/serve';
import { pino } from 'pino';
import { addressFlag, defineCommand, LOG_LEVEL_FLAG, UsageError } from '../command.js';
import { guestConnectors } from '../wiring.js';

/** `ferry serve`: the microVM function (the same flags as the function image's `ferry-serve`). */
export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'the microVM function: KServe Open Inference Protocol v2 and POST /classify, /detect, /ocr over HTTP',
  synopsis: '[--address <agent>] [--port 8080] [--host 0.0.0.0] [--model <name> …] [options]',
  details:
    'Prints {"event":"listening","url":…} on stdout once it serves; SIGINT/SIGTERM answer requests in flight, then stop.',
  flags: { ...SERVE_FLAGS, 'log-level': LOG_LEVEL_FLAG },
  async run({ values }, { io, env, untilSignal }) {
    let flags: ReturnType<typeof parseServeFlags>;
    try {
      flags = parseServeFlags(values);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const stop = untilSignal();
    const logger = pino({ level: values['log-level'] ?? env.FERRY_LOG_LEVEL ?? 'info' }, pino.destination(2));
    const client = createClient({ address: addressFlag(flags.address, env), connectors: guestConnectors() });
    try {
      await serveUntil(client, {
        flags,
        stop,
        onListening(url) {
          logger.info({ url, agent: client.address }, 'serving');
          io.out(JSON.stringify({ event: 'listening', url, agent: client.address }));
        },
      });
      return 0;
    } finally {
      await client.close();
    }
  },
});
