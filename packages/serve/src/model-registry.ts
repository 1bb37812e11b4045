import type { CallOptions, Client, InferOptions, RegisteredModel } from '@ferry/client';
import { Code, FerryError, type TensorMap } from '@ferry/core';

export interface ModelRegistry {
  /** The model registered under `name` in this function's session, registering it on first use. */
  resolve(name: string, options?: CallOptions): Promise<RegisteredModel>;
  /** Runs `name`, registering it again (once) when the agent lost it: restarted, or the connection dropped. */
  infer(
    name: string,
    inputs: TensorMap,
    options?: InferOptions,
  ): Promise<{ model: RegisteredModel; outputs: TensorMap }>;
  /** Forgets the session and every registration (call when the agent became unreachable). */
  invalidate(): void;
  /** Destroys the session on the agent, best effort. */
  close(options?: CallOptions): Promise<void>;
}

interface Registration {
  epoch: number;
  model: Promise<RegisteredModel>;
}

/**
 * Models of the agent's repository, by name, registered into one session of this function. Concurrent
 * callers share one registration; failures are not cached. Sessions die with the connection that made
 * them, so a stale id (NOT_FOUND) or a dropped connection starts a new session.
 */
export function createModelRegistry(client: Client): ModelRegistry {
  let epoch = 0;
  let session: { readonly epoch: number; readonly id: Promise<number> } | undefined;
  const models = new Map<string, Registration>();

  const invalidate = (seen: number) => {
    if (seen !== epoch) return;
    epoch++;
    session = undefined;
    models.clear();
  };

  const sessionId = (options: CallOptions): Promise<number> => {
    if (!session) {
      const current = { epoch, id: client.createSession(options) };
      session = current;
      current.id.catch(() => {
        if (session === current) session = undefined;
      });
    }
    return session.id;
  };

  const resolve = (name: string, options: CallOptions = {}): Promise<RegisteredModel> => {
    const cached = models.get(name);
    if (cached && cached.epoch === epoch) return cached.model;
    const registration: Registration = { epoch, model: Promise.resolve(undefined as never) };
    const register = async (): Promise<RegisteredModel> => {
      for (let attempt = 0; ; attempt++) {
        const seen = epoch;
        const id = await sessionId(options);
        try {
          return await client.registerModel(id, { name }, options);
        } catch (error) {
          const e = FerryError.from(error);
          // The session is gone (the agent restarted, or the connection was replaced): start a new one, once.
          if (attempt === 0 && (e.reason === 'SESSION_NOT_FOUND' || e.reason === 'CONNECTION_CLOSED')) {
            invalidate(seen);
            registration.epoch = epoch;
            models.set(name, registration);
            continue;
          }
          throw e;
        }
      }
    };
    registration.model = register();
    models.set(name, registration);
    registration.model.catch(() => {
      if (models.get(name) === registration) models.delete(name);
    });
    return registration.model;
  };

  return {
    resolve,
    async infer(name, inputs, options = {}) {
      for (let attempt = 0; ; attempt++) {
        const seen = epoch;
        const model = await resolve(name, options);
        try {
          return { model, outputs: await client.infer(model.modelId, inputs, options) };
        } catch (error) {
          const e = FerryError.from(error);
          const stale = e.code === Code.NOT_FOUND || e.reason === 'CONNECTION_CLOSED';
          if (stale || e.code === Code.UNAVAILABLE) invalidate(seen);
          if (stale && attempt === 0) continue;
          throw e;
        }
      }
    },
    invalidate() {
      invalidate(epoch);
    },
    async close(options = {}) {
      const current = session;
      invalidate(epoch);
      if (!current) return;
      try {
        await client.destroySession(await current.id, options);
      } catch {
        // The agent may be gone already; its sessions died with the connection then.
      }
    },
  };
}
