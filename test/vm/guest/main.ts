// The guest program of test/vm/microvm.test.ts (/app/dist/main.mjs in the initramfs): runs suite.ts with node:test
// (TAP on the console), then `ferry-serve` (/app/dist/serve.mjs, the function's own entry point) with this
// program's arguments, and says on the console when it listens. The host then calls it and stops the VM.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { run } from 'node:test';
import { tap } from 'node:test/reporters';

const MARK = '@@ferry-vm';

let failed = 0;
// Bounded: a hung guest test fails here, with its name, well before the host gives up on the VM.
const tests = run({ files: ['/app/dist/suite.mjs'], concurrency: 1, timeout: 8 * 60_000 });
tests.on('test:fail', () => failed++);
const reported = tests.compose(tap);
reported.pipe(process.stdout, { end: false });
await once(reported, 'end');
process.stdout.write(`${MARK} suite ${failed === 0 ? 'passed' : `failed ${failed}`}\n`);

const serve = spawn(process.execPath, ['/app/dist/serve.mjs', ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const lines = createInterface({ input: serve.stdout });
lines.on('line', (line) => {
  const event = JSON.parse(line) as { event?: string };
  process.stdout.write(event.event === 'listening' ? `${MARK} serve-ready ${line}\n` : `${line}\n`);
});
const [code] = await once(serve, 'exit');
process.stdout.write(`${MARK} serve exited ${code}\n`);
process.exitCode = failed === 0 && code === 0 ? 0 : 1;
