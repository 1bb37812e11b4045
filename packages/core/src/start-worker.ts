import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `name` beside `callerUrl` (pass `import.meta.url`): `name.js`
 * when compiled, `name.ts` under a TypeScript loader. On Node 20 a loader registered with `--import`
 * does not apply inside workers by itself, so from sources a small bootstrap registers tsx there first.
 */
export function startWorker(
  callerUrl: string,
  name: string,
  options: Pick<WorkerOptions, 'workerData'> & {
    /** The thread's stack (Node's default for workers is 4 MiB); native libraries may need more. */
    readonly stackSizeMb?: number;
  } = {},
): Worker {
  const resourceLimits =
    options.stackSizeMb === undefined ? {} : { resourceLimits: { stackSizeMb: options.stackSizeMb } };
  // Workers inherit execArgv; `--input-type` (from `node --input-type=module -e …`) would refuse the entry.
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type'));
  if (!callerUrl.endsWith('.ts')) {
    return new Worker(new URL(`./${name}.js`, callerUrl), {
      workerData: options.workerData,
      execArgv,
      ...resourceLimits,
    });
  }
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  let tsx: string | undefined;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    tsx = undefined; // the running loader must then apply in workers by itself
  }
  const bootstrap = `import('node:worker_threads').then(async ({ workerData }) => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
});`;
  return new Worker(bootstrap, {
    eval: true,
    workerData: { user: options.workerData, tsx, entry },
    execArgv,
    ...resourceLimits,
  });
}

/** The `workerData` a worker started by {@link startWorker} was given. */
export function startedWorkerData<T>(data: unknown): T {
  if (typeof data === 'object' && data !== null && 'entry' in data && 'user' in data) return (data as { user: T }).user;
  return data as T;
}
