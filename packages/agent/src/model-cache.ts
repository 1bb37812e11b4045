import type { Backend, BackendModel } from '@ferry/core';
import { Code, FerryError } from '@ferry/core';

export interface CachedModel {
  readonly key: string;
  readonly sha256: string;
  readonly backend: string;
  readonly model: BackendModel;
}

interface Entry {
  readonly sha256: string;
  readonly backend: string;
  readonly loading: Promise<BackendModel>;
  refs: number;
}

export interface ModelCacheStats {
  /** Models loaded into a backend right now. */
  readonly loaded: number;
  /** Loads performed since start (a reused model does not count). */
  readonly loads: number;
}

/**
 * Content-addressed models: one backend model per (SHA-256, backend), shared by every tenant that
 * registers the same bytes, released when the last registration goes.
 */
export class ModelCache {
  readonly #entries = new Map<string, Entry>();
  #loads = 0;

  async acquire(sha256: string, bytes: Uint8Array, backend: Backend): Promise<{ model: CachedModel; reused: boolean }> {
    const key = `${backend.name}:${sha256}`;
    let entry = this.#entries.get(key);
    const reused = entry !== undefined;
    if (!entry) {
      this.#loads++;
      const loading = backend.load(bytes, { id: sha256 });
      entry = { sha256, backend: backend.name, loading, refs: 0 };
      this.#entries.set(key, entry);
      const created = entry;
      loading.catch(() => {
        if (this.#entries.get(key) === created) this.#entries.delete(key);
      });
    }
    entry.refs++;
    try {
      const model = await entry.loading;
      return { model: { key, sha256, backend: backend.name, model }, reused };
    } catch (error) {
      entry.refs--;
      throw FerryError.from(error, Code.INVALID_ARGUMENT);
    }
  }

  async release(model: CachedModel): Promise<void> {
    const entry = this.#entries.get(model.key);
    if (!entry) return;
    entry.refs--;
    if (entry.refs > 0) return;
    this.#entries.delete(model.key);
    await model.model.release();
  }

  stats(): ModelCacheStats {
    return { loaded: this.#entries.size, loads: this.#loads };
  }

  async clear(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled(entries.map(async (e) => (await e.loading).release()));
  }
}
