import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../packages/cli/src/bin.ts', import.meta.url));

/** `ferry …` from the TypeScript sources, as `npx ferry` runs it from dist. */
function ferryArgs(args: readonly string[]): string[] {
  return ['--conditions=source', '--import', 'tsx', bin, ...args];
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runFerry(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const child = spawn(process.execPath, ferryArgs(args), { cwd: root, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Starts `ferry agent …` and resolves once it printed its listening line; stopped after the test. */
export async function spawnAgent(
  t: TestContext,
  args: readonly string[],
): Promise<ChildProcess & { stderrText(): string }> {
  const child = spawn(process.execPath, ferryArgs(['agent', ...args]), { cwd: root });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
  });
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      stdout += d;
      if (stdout.includes('"event":"listening"')) resolve();
    });
    child.once('close', (code) => reject(new Error(`ferry agent exited with ${code}: ${stderr}`)));
  });
  return Object.assign(child, { stderrText: () => stderr });
}
