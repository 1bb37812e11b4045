import type { Backend, BackendModel } from '@ferry/core';
import { Code, FerryError } from '@ferry/core';
import { agentChannels } from './diagnostics.js';

const { modelLoad, modelUnload } = agentChannels;

export interface CachedModel {
  readonly key: string;
  readonly sha256: string;
  readonly backend: string;
  readonly model: BackendModel;
}

interface Entry {
  readonly key: string;
  readonly sha256: string;
  readonly backend: string;
  readonly bytes: number;
  readonly loading: Promise<BackendModel>;
  /** Holders: tenant registrations, repository loads, runs in progress. */
  refs: number;
  lastUsed: number;
  loaded: boolean;
}

export interface ModelCacheOptions {
  /** Budget for loaded models, counted as their ONNX file sizes. Idle models beyond it are evicted. */
  readonly budgetBytes: number;
  /** Called once a model has loaded (a warm-up run, for instance) with its cache key; its failure is ignored. */
  readonly onLoaded?: (
    model: BackendModel,
    loaded: { readonly key: string; readonly sha256: string },
  ) => Promise<unknown>;
}

export interface ModelCacheStats {
  /** Models loaded into a backend right now (in use or idle). */
  readonly loaded: number;
  /** Loads performed since start (a reused model does not count). */
  readonly loads: number;
  /** Idle models evicted to stay within the budget. */
  readonly evictions: number;
  /** Sum of the loaded models' sizes. */
  readonly bytes: number;
  readonly budgetBytes: number;
}

/**
 * Content-addressed models: one backend model per (SHA-256, backend), shared by every tenant that
 * registers the same bytes. A model nobody holds stays loaded, idle, until the budget needs its room
 * (least recently used first), so a function that comes back finds it warm.
 */
export class ModelCache {
  readonly #entries = new Map<string, Entry>();
  readonly #options: ModelCacheOptions;
  #loads = 0;
  #evictions = 0;

  constructor(options: ModelCacheOptions) {
    this.#options = options;
  }

  /** Loads (or reuses) a model and holds it until {@link release}. */
  async acquire(
    sha256: string,
    bytes: Uint8Array,
    backend: Backend,
    name = `sha256:${sha256.slice(0, 12)}`,
  ): Promise<{ model: CachedModel; reused: boolean }> {
    const key = `${backend.name}:${sha256}`;
    let entry = this.#entries.get(key);
    const reused = entry !== undefined;
    if (!entry) {
      // Admitted before any work: the new model plus every model that cannot be evicted (held, or still
      // loading) must fit the budget. Idle models make room when the load is done.
      const pinned = this.#pinnedBytes();
      if (pinned + bytes.byteLength > this.#options.budgetBytes) {
        throw new FerryError(
          Code.RESOURCE_EXHAUSTED,
          `A model of ${bytes.byteLength} bytes does not fit the model cache budget of ${this.#options.budgetBytes} bytes (${pinned} in use)`,
          { reason: 'MODEL_CACHE_FULL' },
        );
      }
      this.#loads++;
      const started = performance.now();
      const loading = backend.load(bytes, { id: sha256 }).then(async (model) => {
        await this.#options.onLoaded?.(model, { key, sha256 }).catch(() => {});
        return model;
      });
      const created: Entry = {
        key,
        sha256,
        backend: backend.name,
        bytes: bytes.byteLength,
        loading,
        refs: 0,
        lastUsed: performance.now(),
        loaded: false,
      };
      entry = created;
      this.#entries.set(key, created);
      loading.then(
        () => {
          created.loaded = true;
          if (modelLoad.hasSubscribers) {
            modelLoad.publish({ name, sha256, backend: backend.name, durationMs: performance.now() - started });
          }
        },
        () => {
          if (this.#entries.get(key) === created) this.#entries.delete(key);
        },
      );
    }
    entry.refs++;
    entry.lastUsed = performance.now();
    try {
      const model = await entry.loading;
      await this.#evict();
      return { model: { key, sha256, backend: backend.name, model }, reused };
    } catch (error) {
      entry.refs--;
      throw FerryError.from(error, Code.INVALID_ARGUMENT);
    }
  }

  /** Holds an already loaded model again (a run, a second registration). */
  retain(model: CachedModel): void {
    const entry = this.#entries.get(model.key);
    if (!entry) {
      throw new FerryError(Code.UNAVAILABLE, 'The model was unloaded', { reason: 'MODEL_UNLOADED' });
    }
    entry.refs++;
    entry.lastUsed = performance.now();
  }

  /** Lets go of a model; it stays loaded, idle, until the budget needs the room. */
  async release(model: CachedModel): Promise<void> {
    const entry = this.#entries.get(model.key);
    if (!entry) return;
    entry.refs = Math.max(0, entry.refs - 1);
    entry.lastUsed = performance.now();
    await this.#evict();
  }

  /** Unloads a model now if nobody holds it; returns whether it did. */
  async unload(model: CachedModel): Promise<boolean> {
    const entry = this.#entries.get(model.key);
    if (!entry || entry.refs > 0) return false;
    await this.#drop(entry);
    return true;
  }

  stats(): ModelCacheStats {
    let bytes = 0;
    let loaded = 0;
    for (const e of this.#entries.values()) {
      if (!e.loaded) continue;
      loaded++;
      bytes += e.bytes;
    }
    return { loaded, loads: this.#loads, evictions: this.#evictions, bytes, budgetBytes: this.#options.budgetBytes };
  }

  async clear(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled(entries.map(async (e) => (await e.loading).release()));
  }

  /** Bytes of the models that eviction cannot free: held, or still loading. */
  #pinnedBytes(): number {
    let pinned = 0;
    for (const e of this.#entries.values()) if (e.refs > 0 || !e.loaded) pinned += e.bytes;
    return pinned;
  }

  async #evict(): Promise<void> {
    let total = 0;
    for (const e of this.#entries.values()) total += e.bytes;
    if (total <= this.#options.budgetBytes) return;
    const idle = [...this.#entries.values()]
      .filter((e) => e.refs === 0 && e.loaded)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of idle) {
      if (total <= this.#options.budgetBytes) break;
      total -= entry.bytes;
      this.#evictions++;
      await this.#drop(entry);
    }
  }

  async #drop(entry: Entry): Promise<void> {
    if (this.#entries.get(entry.key) !== entry) return;
    this.#entries.delete(entry.key);
    if (modelUnload.hasSubscribers) modelUnload.publish({ sha256: entry.sha256, backend: entry.backend });
    await (await entry.loading).release();
  }
}
