import {
  type BackendModel,
  Code,
  checkInputs,
  FerryError,
  type NumericTensor,
  type Tensor,
  type TensorMap,
} from '@ferry/core';

/** Dynamic batching of one model: requests of compatible shapes, from any tenants, stacked into one run. */
export interface BatchPolicy {
  /** Most rows (the sum of the requests' first dimensions) in one run. */
  readonly maxBatch: number;
  /**
   * How long a request may wait for others to fill its batch, in microseconds, once a run slot is free.
   * 0: batch only what is already queued when a slot frees (never adds latency).
   */
  readonly maxQueueDelayUs: number;
}

export interface ScheduleOptions {
  readonly signal?: AbortSignal;
  /** Whose work this is: queues are per tenant, served round-robin. */
  readonly tenant?: string;
}

export interface InferScheduleOptions extends ScheduleOptions {
  readonly outputNames?: readonly string[];
  /** Batch this request with others of the same model; unbatched when absent. */
  readonly batching?: BatchPolicy;
}

export interface Timing {
  /** Time spent waiting for a free slot (and for a batch to fill). */
  readonly queueMs: number;
  /** Time spent running. */
  readonly computeMs: number;
  /** Rows in the run this request was part of (1 for work that is not an inference). */
  readonly batchSize: number;
}

export interface SchedulerOptions {
  /** Runs of one model at once; more wait in the model's per-tenant queues. */
  readonly concurrency: number;
  /** Runs one tenant may have waiting for one model before further ones fail with RESOURCE_EXHAUSTED. */
  readonly maxQueue: number;
  /** Share of each tenant in the round-robin (runs taken per turn); 1 when absent. */
  readonly weightOf?: (tenant: string) => number;
}

type Result = { value: unknown; timing: Timing };

interface Item {
  readonly tenant: TenantQueue;
  readonly enqueuedAt: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
  /** Plain work, run alone. */
  readonly work?: () => Promise<unknown>;
  /** An inference that may share a run. */
  readonly infer?: {
    readonly model: BackendModel;
    readonly inputs: TensorMap;
    readonly outputNames: readonly string[] | undefined;
    readonly policy: BatchPolicy | undefined;
    /** Items with the same key stack: input names, dtypes, all but the first dimension, outputs asked. */
    readonly key: string | undefined;
    readonly rows: number;
  };
  onAbort?: () => void;
}

interface TenantQueue {
  readonly name: string;
  readonly items: Item[];
  /** Index of the first item still waiting (items before it were taken). */
  head: number;
}

interface Lane {
  running: number;
  /** Tenants with waiting items, in round-robin order. */
  readonly active: TenantQueue[];
  readonly queues: Map<string, TenantQueue>;
  /** The tenant whose turn it is, and how many more runs it may take in this turn. */
  cursor: number;
  credit: number;
  waiting: number;
  timer: NodeJS.Timeout | undefined;
}

/** Whether a model's inputs and outputs all have an open first (batch) dimension. */
const batchDimension = new WeakMap<BackendModel, boolean>();

function hasBatchDimension(model: BackendModel): boolean {
  let known = batchDimension.get(model);
  if (known === undefined) {
    const open = (shape: readonly (number | string | null)[]) =>
      shape.length > 0 && (typeof shape[0] !== 'number' || shape[0] < 0);
    known =
      model.inputs.length > 0 &&
      model.inputs.every((i) => i.dtype !== 'string' && open(i.shape)) &&
      model.outputs.every((o) => open(o.shape));
    batchDimension.set(model, known);
  }
  return known;
}

/**
 * The per-model scheduler: fair across tenants, batching where a model allows it.
 *
 * Each model has a queue per tenant; free run slots (at most `concurrency` runs of one model at once)
 * are given round-robin across the tenants with waiting work, `weightOf(tenant)` runs per turn, so a
 * tenant that floods a model waits behind its own requests, not in front of everyone else's.
 *
 * Inferences with a {@link BatchPolicy} are stacked along the first dimension into one run of up to
 * `maxBatch` rows: the batch is filled round-robin across tenants too (one tenant cannot fill every
 * batch), taking each tenant's requests in order, and its outputs are split back row by row. A batch
 * whose run fails is run again one request at a time, so a request fails only for its own input.
 * Queued work whose signal aborts (deadline passed, connection closed) leaves the queue unrun.
 */
export class ModelScheduler {
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #weightOf: (tenant: string) => number;
  readonly #lanes = new Map<string, Lane>();

  constructor(options: SchedulerOptions) {
    this.#concurrency = options.concurrency;
    this.#maxQueue = options.maxQueue;
    this.#weightOf = options.weightOf ?? (() => 1);
  }

  /** Queued runs across all models. */
  get queued(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.waiting;
    return n;
  }

  /** Runs `work` alone, in the model's turn for `options.tenant`. */
  run<T>(key: string, work: () => Promise<T>, options: ScheduleOptions = {}): Promise<{ value: T; timing: Timing }> {
    return this.#enqueue(key, options, { work }) as Promise<{ value: T; timing: Timing }>;
  }

  /**
   * Runs an inference of `model` (queued under `key`), batched with other tenants' requests when
   * `options.batching` is set and the model has a batch dimension. Inputs are checked against the
   * model first, so a bad request fails alone, before it can join a batch.
   */
  infer(
    key: string,
    model: BackendModel,
    inputs: TensorMap,
    options: InferScheduleOptions = {},
  ): Promise<{ value: TensorMap; timing: Timing }> {
    let policy = options.batching;
    let stackKey: string | undefined;
    let rows = 1;
    if (policy && policy.maxBatch > 1 && hasBatchDimension(model)) {
      try {
        checkInputs(inputs, model.inputs);
      } catch (error) {
        return Promise.reject(error);
      }
      const described = describeRows(inputs, options.outputNames);
      if (described) ({ key: stackKey, rows } = described);
      else policy = undefined;
    } else {
      policy = undefined;
    }
    return this.#enqueue(key, options, {
      infer: { model, inputs, outputNames: options.outputNames, policy, key: stackKey, rows },
    }) as Promise<{ value: TensorMap; timing: Timing }>;
  }

  #enqueue(key: string, options: ScheduleOptions, what: Pick<Item, 'work' | 'infer'>): Promise<Result> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(FerryError.from(signal.reason, Code.CANCELLED));
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { running: 0, active: [], queues: new Map(), cursor: 0, credit: 0, waiting: 0, timer: undefined };
      this.#lanes.set(key, lane);
    }
    const tenantName = options.tenant ?? '';
    let queue = lane.queues.get(tenantName);
    if (!queue) {
      queue = { name: tenantName, items: [], head: 0 };
      lane.queues.set(tenantName, queue);
    }
    const waiting = queue.items.length - queue.head;
    if (waiting >= this.#maxQueue) {
      return Promise.reject(
        new FerryError(
          Code.RESOURCE_EXHAUSTED,
          `${waiting} runs of this tenant already wait for this model (limit ${this.#maxQueue})`,
          { reason: 'MODEL_QUEUE_FULL' },
        ),
      );
    }
    const current = lane;
    const owner = queue;
    return new Promise<Result>((resolve, reject) => {
      const item: Item = { tenant: owner, enqueuedAt: performance.now(), signal, resolve, reject, ...what };
      if (signal) {
        item.onAbort = () => {
          if (this.#remove(current, item)) reject(FerryError.from(signal.reason, Code.CANCELLED));
        };
        signal.addEventListener('abort', item.onAbort, { once: true });
      }
      if (owner.items.length === owner.head) current.active.push(owner);
      owner.items.push(item);
      current.waiting++;
      this.#pump(key, current);
    });
  }

  /** Takes a waiting item out of its queue (aborted); false if it already left. */
  #remove(lane: Lane, item: Item): boolean {
    const queue = item.tenant;
    const index = queue.items.indexOf(item, queue.head);
    if (index < 0) return false;
    queue.items.splice(index, 1);
    lane.waiting--;
    if (queue.items.length === queue.head) this.#deactivate(lane, queue);
    return true;
  }

  #deactivate(lane: Lane, queue: TenantQueue): void {
    queue.items.length = 0;
    queue.head = 0;
    const at = lane.active.indexOf(queue);
    if (at < 0) return;
    lane.active.splice(at, 1);
    // Keep the turn where it is: the tenant after the removed one is next.
    if (at < lane.cursor) lane.cursor--;
    else if (at === lane.cursor) {
      lane.cursor--;
      lane.credit = 0;
    }
  }

  /** The tenant queue whose turn it is, moving to the next tenant when this one's turn is used up. */
  #turn(lane: Lane): TenantQueue | undefined {
    if (lane.active.length === 0) return undefined;
    if (lane.credit <= 0) {
      lane.cursor = (lane.cursor + 1) % lane.active.length;
      lane.credit = Math.max(1, Math.floor(this.#weightOf((lane.active[lane.cursor] as TenantQueue).name)));
    }
    return lane.active[lane.cursor];
  }

  #take(lane: Lane, queue: TenantQueue): Item {
    const item = queue.items[queue.head] as Item;
    queue.head++;
    lane.credit--;
    lane.waiting--;
    if (item.onAbort) item.signal?.removeEventListener('abort', item.onAbort);
    if (queue.head === queue.items.length) this.#deactivate(lane, queue);
    else if (queue.head > 64 && queue.head * 2 > queue.items.length) {
      queue.items.splice(0, queue.head);
      queue.head = 0;
    }
    return item;
  }

  /** Starts runs while slots are free and work waits. */
  #pump(key: string, lane: Lane): void {
    while (lane.running < this.#concurrency && lane.waiting > 0) {
      const queue = this.#turn(lane) as TenantQueue;
      const first = queue.items[queue.head] as Item;
      const policy = first.infer?.policy;
      if (policy && policy.maxQueueDelayUs > 0 && first.infer) {
        const waitedUs = (performance.now() - first.enqueuedAt) * 1000;
        if (waitedUs < policy.maxQueueDelayUs && this.#rowsLike(lane, first) < policy.maxBatch) {
          if (!lane.timer) {
            const delayMs = Math.max(0, (policy.maxQueueDelayUs - waitedUs) / 1000);
            lane.timer = setTimeout(() => {
              lane.timer = undefined;
              this.#pump(key, lane);
            }, delayMs);
          }
          return;
        }
      }
      if (lane.timer) {
        clearTimeout(lane.timer);
        lane.timer = undefined;
      }
      const batch = [this.#take(lane, queue)];
      if (policy) this.#fill(lane, batch, policy);
      lane.running++;
      void this.#start(batch).finally(() => {
        lane.running--;
        if (lane.running === 0 && lane.waiting === 0) {
          if (this.#lanes.get(key) === lane) this.#lanes.delete(key);
          return;
        }
        this.#pump(key, lane);
      });
    }
  }

  /** Rows waiting that could join `first`'s batch. */
  #rowsLike(lane: Lane, first: Item): number {
    let rows = 0;
    for (const queue of lane.active) {
      for (let i = queue.head; i < queue.items.length; i++) {
        const infer = (queue.items[i] as Item).infer;
        if (infer?.key === first.infer?.key) rows += infer?.rows ?? 0;
      }
    }
    return rows;
  }

  /**
   * Adds requests to a batch round-robin across tenants, each tenant's in order: a tenant whose next
   * request does not stack (another shape, too many rows) adds nothing more to this batch.
   */
  #fill(lane: Lane, batch: Item[], policy: BatchPolicy): void {
    const head = batch[0]?.infer;
    if (!head?.key) return;
    let rows = head.rows;
    const blocked = new Set<TenantQueue>();
    while (rows < policy.maxBatch && lane.active.length > blocked.size) {
      const queue = this.#turn(lane) as TenantQueue;
      if (blocked.has(queue)) {
        lane.credit = 0;
        continue;
      }
      const next = (queue.items[queue.head] as Item).infer;
      if (!next || next.key !== head.key || next.model !== head.model || rows + next.rows > policy.maxBatch) {
        blocked.add(queue);
        lane.credit = 0;
        continue;
      }
      batch.push(this.#take(lane, queue));
      rows += next.rows;
    }
  }

  async #start(batch: Item[]): Promise<void> {
    const started = performance.now();
    const settle = (item: Item, outcome: { value: unknown } | { error: unknown }, batchSize: number) => {
      const timing = { queueMs: started - item.enqueuedAt, computeMs: performance.now() - started, batchSize };
      if ('error' in outcome) item.reject(outcome.error);
      else item.resolve({ value: outcome.value, timing });
    };
    const alone = async (item: Item) => {
      try {
        const value = item.work
          ? await item.work()
          : await item.infer?.model.run(item.infer.inputs, runOptions(item.signal, item.infer.outputNames));
        settle(item, { value }, item.infer?.rows ?? 1);
      } catch (error) {
        settle(item, { error }, item.infer?.rows ?? 1);
      }
    };
    if (batch.length === 1) {
      await alone(batch[0] as Item);
      return;
    }
    const first = batch[0]?.infer as NonNullable<Item['infer']>;
    const rows = batch.reduce((n, item) => n + (item.infer?.rows ?? 0), 0);
    let parts: TensorMap[] | undefined;
    try {
      const stacked = stackInputs(batch.map((item) => item.infer?.inputs as TensorMap));
      const outputs = await first.model.run(stacked, runOptions(undefined, first.outputNames));
      parts = splitOutputs(
        outputs,
        batch.map((item) => item.infer?.rows ?? 0),
      );
      if (!parts) batchDimension.set(first.model, false);
    } catch {
      parts = undefined;
    }
    if (parts) {
      for (const [i, item] of batch.entries()) settle(item, { value: parts[i] }, rows);
      return;
    }
    // The stacked run failed (one request's values, say): each request runs alone and gets its own answer.
    for (const item of batch) await alone(item);
  }
}

function runOptions(signal: AbortSignal | undefined, outputNames: readonly string[] | undefined) {
  return { ...(signal ? { signal } : {}), ...(outputNames ? { outputNames } : {}) };
}

/** The stacking key and row count of a request, or undefined when it cannot be batched. */
function describeRows(
  inputs: TensorMap,
  outputNames: readonly string[] | undefined,
): { key: string; rows: number } | undefined {
  let rows: number | undefined;
  const parts: string[] = [];
  for (const name of Object.keys(inputs).sort()) {
    const t = inputs[name] as Tensor;
    if (t.dtype === 'string' || t.shape.length === 0) return undefined;
    const first = t.shape[0] as number;
    if (rows === undefined) rows = first;
    else if (rows !== first) return undefined;
    parts.push(`${name}:${t.dtype}[${t.shape.slice(1).join(',')}]`);
  }
  if (rows === undefined || rows < 1) return undefined;
  parts.push(`->${outputNames ? outputNames.join(',') : '*'}`);
  return { key: parts.join(';'), rows };
}

/** Concatenates each named input of the requests along the first dimension. */
function stackInputs(requests: readonly TensorMap[]): TensorMap {
  const first = requests[0] as TensorMap;
  const stacked: TensorMap = {};
  for (const name of Object.keys(first)) {
    const tensors = requests.map((r) => r[name] as NumericTensor);
    const head = tensors[0] as NumericTensor;
    let bytes = 0;
    let rows = 0;
    for (const t of tensors) {
      bytes += t.data.byteLength;
      rows += t.shape[0] as number;
    }
    const data = new Uint8Array(bytes);
    let offset = 0;
    for (const t of tensors) {
      data.set(t.data, offset);
      offset += t.data.byteLength;
    }
    stacked[name] = { dtype: head.dtype, shape: [rows, ...head.shape.slice(1)], data };
  }
  return stacked;
}

/**
 * Splits a batched run's outputs back into each request's rows (views, no copy); undefined when an
 * output's first dimension is not the batch, so the requests must run alone.
 */
function splitOutputs(outputs: TensorMap, rows: readonly number[]): TensorMap[] | undefined {
  const total = rows.reduce((a, b) => a + b, 0);
  const parts: TensorMap[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.shape[0] !== total) return undefined;
    const rest = t.shape.slice(1);
    const perRow = t.data.length / total;
    let at = 0;
    rows.forEach((n, i) => {
      const part = parts[i] as TensorMap;
      const shape = [n, ...rest];
      part[name] =
        t.dtype === 'string'
          ? { dtype: 'string', shape, data: t.data.slice(at * perRow, (at + n) * perRow) }
          : { dtype: t.dtype, shape, data: t.data.subarray(at * perRow, (at + n) * perRow) };
      at += n;
    });
  }
  return parts;
}
