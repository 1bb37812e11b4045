/**
 * `node --import tsx bench/agent-many.ts <listeners.json>`: an agent in its own process, with the
 * `ferry agent` backends, listening on every address of a JSON list, for B7. The list comes from a
 * file, not argv: with ~25 KB or more of command line, ONNX Runtime's first model load overflows a
 * worker thread's stack (SIGSEGV; see docs/benchmarks.md), so a thousand `--listen` flags cannot be used.
 * Prints `{"event":"listening"}` once every listener is open; closes on SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import { createAgent } from '@ferry/agent';
import { createBackends } from '../packages/cli/src/wiring.js';

const file = process.argv[2];
if (!file) throw new Error('usage: agent-many.ts <listeners.json>');
const listen = JSON.parse(await readFile(file, 'utf8')) as string[];
const agent = await createAgent({ backends: createBackends(), listen });
process.stdout.write(`${JSON.stringify({ event: 'listening', listeners: listen.length })}\n`);
process.on('SIGTERM', () => {
  void agent.destroy().then(() => process.exit(0));
});
