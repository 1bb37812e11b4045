/**
 * `node bench/agent-many.mjs <listeners.json>`: an agent in its own process, compiled (`dist/`) as `ferry
 * agent` runs it and with its backends, listening on every address of a JSON list, for B7. Plain
 * JavaScript on purpose: under a TypeScript loader the process would also carry the loader's own thread and
 * heap, which the deployed agent does not. The list comes from a file, not argv: a thousand `--listen`
 * flags make a command line that once overflowed ONNX Runtime's worker stack (see docs/benchmarks.md).
 * Prints `{"event":"listening"}` once every listener is open; closes on SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import { createAgent } from '../packages/agent/dist/index.js';
import { createBackends } from '../packages/cli/dist/wiring.js';

const file = process.argv[2];
if (!file) throw new Error('usage: agent-many.mjs <listeners.json>');
const listen = JSON.parse(await readFile(file, 'utf8'));
const agent = await createAgent({ backends: createBackends(), listen });
process.stdout.write(`${JSON.stringify({ event: 'listening', listeners: listen.length })}\n`);
process.on('SIGTERM', () => {
  void agent.destroy().then(() => process.exit(0));
});
