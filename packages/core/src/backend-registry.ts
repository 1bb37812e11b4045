import type { Backend } from './backend.js';
import { Code } from './code.js';
import { FerryError } from './ferry-error.js';

export interface BackendRegistration {
  /** The name `init()`'s backend carries (`Backend.name`); a mismatch fails the init. */
  readonly name: string;
  /** Higher wins when no backend is named. */
  readonly priority?: number;
  /** Creates the backend; called at most once, lazily, shared by concurrent callers. */
  readonly init: () => Backend | Promise<Backend>;
}

export interface BackendRegistry {
  register(registration: BackendRegistration): void;
  /**
   * The first backend, in priority order (or in the order of `names`), whose init succeeds. Failed
   * backends are skipped; their reasons are kept and reported if none succeeds.
   */
  resolve(names?: readonly string[]): Promise<Backend>;
  /** Names registered, in priority order. */
  names(): string[];
  /** Failure reason per backend whose init failed. */
  failures(): ReadonlyMap<string, string>;
  /** Closes every backend that was initialised. */
  close(): Promise<void>;
}

interface Entry {
  registration: BackendRegistration;
  order: number;
  pending?: Promise<Backend>;
  backend?: Backend;
  error?: string;
}

export function createBackendRegistry(): BackendRegistry {
  const entries = new Map<string, Entry>();
  const sorted = () =>
    [...entries.values()].sort(
      (a, b) => (b.registration.priority ?? 0) - (a.registration.priority ?? 0) || a.order - b.order,
    );
  const init = (entry: Entry): Promise<Backend> => {
    entry.pending ??= (async () => {
      try {
        const backend = await entry.registration.init();
        if (backend.name !== entry.registration.name) {
          await backend.close();
          throw new TypeError(`Backend registered as "${entry.registration.name}" is named "${backend.name}"`);
        }
        entry.backend = backend;
        return backend;
      } catch (error) {
        entry.error = error instanceof Error ? error.message : String(error);
        throw error;
      }
    })();
    return entry.pending;
  };
  return {
    register(registration) {
      if (entries.has(registration.name)) throw new TypeError(`Backend "${registration.name}" is already registered`);
      entries.set(registration.name, { registration, order: entries.size });
    },
    async resolve(names) {
      const candidates = names
        ? names.map((name) => {
            const entry = entries.get(name);
            if (!entry) {
              throw new FerryError(
                Code.NOT_FOUND,
                `Backend "${name}" is not registered (have: ${[...entries.keys()].join(', ')})`,
                {
                  reason: 'BACKEND_NOT_FOUND',
                },
              );
            }
            return entry;
          })
        : sorted();
      const reasons: string[] = [];
      for (const entry of candidates) {
        try {
          return await init(entry);
        } catch {
          reasons.push(`${entry.registration.name}: ${entry.error}`);
        }
      }
      throw new FerryError(
        Code.UNAVAILABLE,
        `No backend could be initialised (${reasons.join('; ') || 'none registered'})`,
        {
          reason: 'NO_BACKEND',
        },
      );
    },
    names() {
      return sorted().map((e) => e.registration.name);
    },
    failures() {
      return new Map(
        [...entries.values()].filter((e) => e.error !== undefined).map((e) => [e.registration.name, e.error as string]),
      );
    },
    async close() {
      await Promise.all([...entries.values()].map((e) => e.backend?.close()));
    },
  };
}
