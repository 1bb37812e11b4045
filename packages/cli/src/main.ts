import { Code, FerryError } from '@ferry/core';
import { type Command, type CommandContext, UsageError } from './command.js';
import { agentCommand } from './commands/agent.js';
import { conformanceCommand } from './commands/conformance.js';
import { demoCommand } from './commands/demo.js';
import { devicePluginCommand } from './commands/device-plugin.js';
import { inferCommand } from './commands/infer.js';
import { modelsCommand } from './commands/models.js';
import { serveCommand } from './commands/serve.js';
import { statusCommand } from './commands/status.js';
import { classifyCommand, detectCommand, ocrCommand } from './commands/vision.js';
import { webhookCommand } from './commands/webhook.js';
import { type Io, processIo } from './io.js';

/** Every `ferry` command, in the order `ferry --help` lists them. */
export const COMMANDS: readonly Command[] = [
  agentCommand,
  statusCommand,
  serveCommand,
  inferCommand,
  conformanceCommand,
  modelsCommand,
  classifyCommand,
  detectCommand,
  ocrCommand,
  demoCommand,
  webhookCommand,
  devicePluginCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `ferry — ML inference for microVMs over vsock, served by one host agent

Usage:
${COMMANDS.map((c) => `  ferry ${c.name} ${c.synopsis}`).join('\n')}

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Run "ferry <command> --help" for a command's options.
Addresses: unix:///abs/path  unix:rel/path  tcp://host:port  vsock://cid:port  local: (in-process)
Environment: FERRY_ADDRESS (then VACCEL_RPC_ADDRESS, VACCEL_VSOCK, else vsock://2:2048) is the default --address.
`;
}

/** Runs the CLI; resolves to the exit code. Only the CLI reads env vars and handles signals. */
export async function main(argv: readonly string[], io: Io = processIo, env = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`Unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.help());
    return 0;
  }
  const context: CommandContext = {
    io,
    env,
    untilSignal,
    interactive: process.stdout.isTTY === true,
  };
  try {
    return await command.execute(rest, context);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
      io.err(`ferry ${name}: ${(error as Error).message}\nRun "ferry ${name} --help" for usage.`);
      return 2;
    }
    const failure = FerryError.from(error);
    io.err(`ferry ${name}: ${failure.message}`);
    return failure.code === Code.INVALID_ARGUMENT ? 2 : 1;
  }
}

/** Resolves on the first SIGINT/SIGTERM; a second one calls `onSecond` (default: stop without draining). */
function untilSignal(onSecond: () => void = () => process.exit(130)): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      seen++;
      if (seen === 1) resolve(signal);
      else onSecond();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
