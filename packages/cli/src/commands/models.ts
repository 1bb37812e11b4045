import type { RepositoryModel } from '@ferry/client';
import { ADDRESS_FLAG, addressFlag, defineCommand, JSON_FLAG, UsageError } from '../command.js';
import type { Io } from '../io.js';
import { connectClient } from '../wiring.js';

export interface ModelsArgs {
  readonly address: string;
  readonly action: 'list' | 'load' | 'unload' | 'describe';
  readonly name?: string;
  readonly json: boolean;
}

/** `ferry models list|describe|load|unload`. */
export async function runModels(args: ModelsArgs, io: Io): Promise<number> {
  const handle = connectClient(args.address);
  try {
    const { client } = handle;
    const name = args.name ?? '';
    switch (args.action) {
      case 'list': {
        const models = await client.listModels();
        if (args.json) io.out(JSON.stringify(models.map(summary)));
        else for (const m of models) io.out(modelLine(m));
        return 0;
      }
      case 'describe':
      case 'load': {
        const model = args.action === 'load' ? await client.loadModel(name) : await client.describeModel(name);
        if (args.json) io.out(JSON.stringify(model));
        else {
          io.out(modelLine(model));
          for (const i of model.inputs)
            io.out(`  input  ${i.name}: ${i.dtype}[${i.shape.map((d) => d ?? '?').join(', ')}]`);
          for (const o of model.outputs)
            io.out(`  output ${o.name}: ${o.dtype}[${o.shape.map((d) => d ?? '?').join(', ')}]`);
        }
        return 0;
      }
      case 'unload':
        await client.unloadModel(name);
        if (!args.json) io.out(`unloaded ${name}`);
        else io.out(JSON.stringify({ unloaded: name }));
        return 0;
    }
  } finally {
    await handle.close();
  }
}

function summary(m: RepositoryModel) {
  return { name: m.name, task: m.task, builtin: m.builtin, loaded: m.loaded, sha256: m.sha256, labels: m.labels };
}

function modelLine(m: RepositoryModel): string {
  const flags = [m.builtin ? 'built-in' : 'directory', m.loaded ? `loaded ${m.sha256.slice(0, 12)}` : 'not loaded'];
  return `${m.name.padEnd(20)} ${m.task.padEnd(9)} ${flags.join(', ')}`;
}

const ACTIONS = ['list', 'describe', 'load', 'unload'] as const;

export const modelsCommand = defineCommand({
  name: 'models',
  summary: "list, describe, load or unload the agent's repository models (model directory and built-ins)",
  synopsis: 'list|describe|load|unload [<name>] --address <address> [--json]',
  positionals: true,
  flags: { address: ADDRESS_FLAG, json: JSON_FLAG },
  run({ values, positionals }, { io, env }) {
    const [action, name] = positionals;
    if (!ACTIONS.includes(action as ModelsArgs['action'])) throw new UsageError(`models needs ${ACTIONS.join(', ')}`);
    if (action !== 'list' && !name) throw new UsageError(`models ${action} needs a model name`);
    return runModels(
      {
        address: addressFlag(values.address, env),
        action: action as ModelsArgs['action'],
        json: values.json,
        ...(name ? { name } : {}),
      },
      io,
    );
  },
});
