import { Code, FerryError } from '@ferry/core';
import type { AgentLimits } from './limits.js';
import type { CachedModel, ModelCache } from './model-cache.js';
import type { BatchPolicy } from './model-scheduler.js';

export interface TenantModel {
  readonly id: number;
  readonly sessionId: number;
  readonly name: string;
  readonly cached: CachedModel;
  /** Set for repository models that batch across tenants; guest-uploaded bytes never do. */
  readonly batching?: BatchPolicy;
  /** Its size, counted against `maxModelBytesPerTenant`. */
  readonly bytes: number;
}

/**
 * A place for one model, held from the moment a registration is admitted until it is added (or fails):
 * concurrent registrations count each other, so the limits hold however many arrive at once. Release it
 * in `finally`; releasing after {@link Tenant.addModel} took it over does nothing.
 */
export interface ModelReservation {
  readonly sessionId: number;
  /** Reserves the model's size against the tenant's byte budget, or throws RESOURCE_EXHAUSTED. Once. */
  reserveBytes(bytes: number): void;
  release(): void;
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
  /** Registrations admitted and not yet added or failed. */
  #reservedModels = 0;
  /** Bytes of registered models plus those reserved by registrations in progress. */
  #modelBytes = 0;
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

  /** Bytes of the tenant's registered models and of the registrations in progress. */
  get modelBytes(): number {
    return this.#modelBytes;
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

  /**
   * Admits one more model for the session before anything is read or loaded: registered models plus
   * registrations in progress stay within `maxModelsPerTenant` (RESOURCE_EXHAUSTED `TOO_MANY_MODELS`).
   */
  reserveModel(sessionId: number): ModelReservation {
    this.#session(sessionId);
    const limits = this.#limits;
    const held = this.#models.size + this.#reservedModels;
    if (held >= limits.maxModelsPerTenant) {
      throw new FerryError(
        Code.RESOURCE_EXHAUSTED,
        `Tenant "${this.name}" already has ${held} models registered or loading (limit ${limits.maxModelsPerTenant})`,
        { reason: 'TOO_MANY_MODELS' },
      );
    }
    this.#reservedModels++;
    return new Reservation(this, sessionId);
  }

  /** Called by a {@link Reservation}: counts `n` more bytes, or throws RESOURCE_EXHAUSTED. */
  reserveBytes(n: number): void {
    const budget = this.#limits.maxModelBytesPerTenant;
    if (this.#modelBytes + n > budget) {
      throw new FerryError(
        Code.RESOURCE_EXHAUSTED,
        `A model of ${n} bytes would take tenant "${this.name}" past its ${budget}-byte model budget (${this.#modelBytes} in use)`,
        { reason: 'TENANT_MODEL_BYTES' },
      );
    }
    this.#modelBytes += n;
  }

  /** Called by a {@link Reservation} that ends: its place (and its bytes, unless a model took them) go back. */
  unreserve(bytes: number): void {
    this.#reservedModels--;
    this.#modelBytes -= bytes;
  }

  /**
   * Adds a loaded model to a session, taking over the reservation's place and bytes; if the session went
   * away meanwhile, the model is released (and the reservation with it).
   */
  async addModel(
    reservation: ModelReservation,
    name: string,
    cached: CachedModel,
    options: { readonly batching?: BatchPolicy | undefined } = {},
  ): Promise<TenantModel> {
    if (!(reservation instanceof Reservation) || reservation.tenant !== this) {
      throw new TypeError('The reservation is not from this tenant');
    }
    const { sessionId } = reservation;
    const session = this.#sessions.get(sessionId);
    if (!session) {
      reservation.release();
      await this.#cache.release(cached);
      throw this.#sessionNotFound(sessionId);
    }
    const bytes = reservation.take();
    const id = nextFree(this.#models, this.#nextModelId);
    this.#nextModelId = id + 1;
    const model: TenantModel = {
      id,
      sessionId,
      name,
      cached,
      bytes,
      ...(options.batching ? { batching: options.batching } : {}),
    };
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
    this.#modelBytes -= model.bytes;
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

class Reservation implements ModelReservation {
  readonly tenant: Tenant;
  readonly sessionId: number;
  #state: 'held' | 'taken' | 'released' = 'held';
  #bytes = 0;

  constructor(tenant: Tenant, sessionId: number) {
    this.tenant = tenant;
    this.sessionId = sessionId;
  }

  reserveBytes(bytes: number): void {
    if (this.#state !== 'held' || this.#bytes !== 0)
      throw new Error('reserveBytes() is called once, before addModel()');
    this.tenant.reserveBytes(bytes);
    this.#bytes = bytes;
  }

  release(): void {
    if (this.#state !== 'held') return;
    this.#state = 'released';
    this.tenant.unreserve(this.#bytes);
  }

  /** The model was added: its place becomes a registered model, its bytes stay counted. */
  take(): number {
    if (this.#state !== 'held') throw new Error('The model reservation was already used or released');
    this.#state = 'taken';
    this.tenant.unreserve(0);
    return this.#bytes;
  }
}

function nextFree(map: Map<number, unknown>, start: number): number {
  let id = start > 0xffff_ffff ? 1 : start;
  while (map.has(id)) id = id >= 0xffff_ffff ? 1 : id + 1;
  return id;
}
