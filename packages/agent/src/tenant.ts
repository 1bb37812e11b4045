import { Code, FerryError } from '@ferry/core';
import type { AgentLimits } from './limits.js';
import type { CachedModel, ModelCache } from './model-cache.js';

export interface TenantModel {
  readonly id: number;
  readonly sessionId: number;
  readonly name: string;
  readonly cached: CachedModel;
}

interface Session {
  readonly id: number;
  /** The connection that created it; its close releases the session. */
  readonly owner: object;
  readonly models: Set<number>;
}

/**
 * The state of one tenant (one listener, in Kata mode one sandbox): its sessions and models. Ids are
 * per tenant, so another tenant's id is simply not here: NOT_FOUND.
 */
export class Tenant {
  readonly name: string;
  readonly #limits: AgentLimits;
  readonly #cache: ModelCache;
  readonly #sessions = new Map<number, Session>();
  readonly #models = new Map<number, TenantModel>();
  #nextSessionId = 1;
  #nextModelId = 1;
  connections = 0;
  /** Calls in flight across all of the tenant's connections. */
  #inflight = 0;
  /** Token bucket of calls: `maxCallsPerSecondPerTenant` per second, bursts up to the same. */
  #tokens: number;
  #refilledAt = performance.now();

  constructor(name: string, limits: AgentLimits, cache: ModelCache) {
    this.name = name;
    this.#limits = limits;
    this.#cache = cache;
    this.#tokens = limits.maxCallsPerSecondPerTenant;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Admits one more call, or says why not (RESOURCE_EXHAUSTED); an admitted call ends with {@link endCall}. */
  admitCall(): FerryError | undefined {
    const limits = this.#limits;
    if (this.#inflight >= limits.maxInflightPerTenant) {
      return new FerryError(
        Code.RESOURCE_EXHAUSTED,
        `Tenant "${this.name}" already has ${this.#inflight} calls in flight (limit ${limits.maxInflightPerTenant})`,
        { reason: 'TENANT_INFLIGHT_LIMIT' },
      );
    }
    const now = performance.now();
    const rate = limits.maxCallsPerSecondPerTenant;
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) {
      return new FerryError(
        Code.RESOURCE_EXHAUSTED,
        `Tenant "${this.name}" is over its rate of ${rate} calls per second`,
        { reason: 'RATE_LIMITED' },
      );
    }
    this.#tokens -= 1;
    this.#inflight++;
    return undefined;
  }

  endCall(): void {
    this.#inflight = Math.max(0, this.#inflight - 1);
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  get modelCount(): number {
    return this.#models.size;
  }

  createSession(owner: object): number {
    if (this.#sessions.size >= this.#limits.maxSessionsPerTenant) {
      throw new FerryError(
        Code.RESOURCE_EXHAUSTED,
        `Tenant "${this.name}" already has ${this.#sessions.size} sessions (limit ${this.#limits.maxSessionsPerTenant})`,
        { reason: 'TOO_MANY_SESSIONS' },
      );
    }
    const id = nextFree(this.#sessions, this.#nextSessionId);
    this.#nextSessionId = id + 1;
    this.#sessions.set(id, { id, owner, models: new Set() });
    return id;
  }

  async destroySession(id: number): Promise<void> {
    const session = this.#session(id);
    this.#sessions.delete(id);
    await Promise.all([...session.models].map((modelId) => this.unregisterModel(modelId)));
  }

  /** Throws NOT_FOUND unless the session exists. */
  checkSession(id: number): void {
    this.#session(id);
  }

  /** Checks that a model may be added to the session; call before loading. */
  reserveModel(sessionId: number): void {
    this.#session(sessionId);
    if (this.#models.size >= this.#limits.maxModelsPerTenant) {
      throw new FerryError(
        Code.RESOURCE_EXHAUSTED,
        `Tenant "${this.name}" already has ${this.#models.size} models (limit ${this.#limits.maxModelsPerTenant})`,
        { reason: 'TOO_MANY_MODELS' },
      );
    }
  }

  /** Adds a loaded model to a session; if the session went away meanwhile, the model is released. */
  async addModel(sessionId: number, name: string, cached: CachedModel): Promise<TenantModel> {
    const session = this.#sessions.get(sessionId);
    if (!session) {
      await this.#cache.release(cached);
      throw this.#sessionNotFound(sessionId);
    }
    const id = nextFree(this.#models, this.#nextModelId);
    this.#nextModelId = id + 1;
    const model: TenantModel = { id, sessionId, name, cached };
    this.#models.set(id, model);
    session.models.add(id);
    return model;
  }

  model(id: number): TenantModel {
    const model = this.#models.get(id);
    if (!model) {
      throw new FerryError(Code.NOT_FOUND, `Model ${id} does not exist for tenant "${this.name}"`, {
        reason: 'MODEL_NOT_FOUND',
      });
    }
    return model;
  }

  async unregisterModel(id: number): Promise<void> {
    const model = this.model(id);
    this.#models.delete(id);
    this.#sessions.get(model.sessionId)?.models.delete(id);
    await this.#cache.release(model.cached);
  }

  /** Releases the sessions (and their models) that a closed connection created. */
  async releaseOwner(owner: object): Promise<void> {
    const owned = [...this.#sessions.values()].filter((s) => s.owner === owner);
    await Promise.all(owned.map((s) => this.destroySession(s.id)));
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.#sessions.keys()].map((id) => this.destroySession(id)));
  }

  #session(id: number): Session {
    const session = this.#sessions.get(id);
    if (!session) throw this.#sessionNotFound(id);
    return session;
  }

  #sessionNotFound(id: number): FerryError {
    return new FerryError(Code.NOT_FOUND, `Session ${id} does not exist for tenant "${this.name}"`, {
      reason: 'SESSION_NOT_FOUND',
    });
  }
}

function nextFree(map: Map<number, unknown>, start: number): number {
  let id = start > 0xffff_ffff ? 1 : start;
  while (map.has(id)) id = id >= 0xffff_ffff ? 1 : id + 1;
  return id;
}
