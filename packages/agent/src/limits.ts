import { DEFAULT_AGENT_MAX_FRAME_BYTES } from '@ferry/protocol';

/** Every size and count a guest controls, with its default. Exceeding one is RESOURCE_EXHAUSTED. */
export interface AgentLimits {
  /** Largest ttrpc frame accepted or sent. A larger claimed length closes the connection unread. */
  readonly maxFrameBytes: number;
  /**
   * How long a peer may pause in the middle of a frame (header or payload begun, not finished) before its
   * connection is cut off (slowloris). A connection idle between frames stays open however long.
   */
  readonly maxFrameStallMs: number;
  /** Connections open at once on one tenant's listener. */
  readonly maxConnectionsPerTenant: number;
  /** Calls in flight on one connection. */
  readonly maxInflightPerConnection: number;
  /** Calls in flight across all of one tenant's connections. */
  readonly maxInflightPerTenant: number;
  /** Calls one tenant may start per second (a token bucket: bursts up to the same number). */
  readonly maxCallsPerSecondPerTenant: number;
  readonly maxSessionsPerTenant: number;
  /** Models registered at once by one tenant, counted when a registration is admitted (before the load). */
  readonly maxModelsPerTenant: number;
  /** Sum of the sizes of one tenant's registered models (their ONNX bytes), reserved before the load. */
  readonly maxModelBytesPerTenant: number;
  /** Named tensors in one Infer request. */
  readonly maxTensorsPerCall: number;
  /** Largest model file read from the model directory. */
  readonly maxModelFileBytes: number;
  /** Longest deadline honoured; longer ones (and none) are cut to this. */
  readonly maxDeadlineMs: number;
  /** Loaded models' budget (their ONNX sizes); idle models beyond it are evicted, least recently used first. */
  readonly modelCacheBytes: number;
  /**
   * Largest input a warm-up run may allocate (all inputs together, from the shapes the model declares). A
   * model whose warm-up would need more is not warmed up: its first call pays ONNX Runtime's lazy set-up.
   */
  readonly maxWarmUpBytes: number;
  /** Deadline of one warm-up run; a run past it is abandoned (the model stays registered). */
  readonly warmUpTimeoutMs: number;
  /** Runs of one model at once; more wait in its queue. */
  readonly modelConcurrency: number;
  /** Runs one tenant may have waiting for one model before further ones fail with RESOURCE_EXHAUSTED. */
  readonly maxQueuePerModel: number;
  /** Largest encoded image a vision op accepts. */
  readonly maxImageBytes: number;
  /** Largest decoded image a vision op accepts, in pixels. */
  readonly maxImagePixels: number;
  /** Threads decoding and pre/post-processing images, off the event loop. */
  readonly visionWorkers: number;
  /**
   * A vision worker whose own work (not its waits for model runs) makes no progress for this long is
   * terminated and replaced; its ops fail with UNAVAILABLE `WORKER_HUNG`.
   */
  readonly visionWatchdogMs: number;
  /** After the agent drops a connection for a protocol violation, how long the peer may linger before it is cut off. */
  readonly abandonLingerMs: number;
  /** After the agent ends a connection (it is closing), how long the peer may linger before it is cut off. */
  readonly closeLingerMs: number;
  /** How long a connection refused for a limit has to send its first request and read the answer. */
  readonly refuseLingerMs: number;
}

export const DEFAULT_LIMITS: AgentLimits = {
  maxFrameBytes: DEFAULT_AGENT_MAX_FRAME_BYTES,
  maxFrameStallMs: 30_000,
  maxConnectionsPerTenant: 64,
  maxInflightPerConnection: 64,
  maxInflightPerTenant: 256,
  maxCallsPerSecondPerTenant: 50_000,
  maxSessionsPerTenant: 64,
  maxModelsPerTenant: 32,
  maxModelBytesPerTenant: 1024 * 1024 * 1024,
  maxTensorsPerCall: 64,
  maxModelFileBytes: 512 * 1024 * 1024,
  maxDeadlineMs: 10 * 60 * 1000,
  modelCacheBytes: 4 * 1024 * 1024 * 1024,
  maxWarmUpBytes: 4 * 1024 * 1024,
  warmUpTimeoutMs: 5000,
  modelConcurrency: 2,
  maxQueuePerModel: 256,
  maxImageBytes: 16 * 1024 * 1024,
  maxImagePixels: 25_000_000,
  visionWorkers: 2,
  visionWatchdogMs: 60_000,
  abandonLingerMs: 1000,
  closeLingerMs: 2000,
  refuseLingerMs: 5000,
};

export function resolveLimits(overrides: Partial<AgentLimits> = {}): AgentLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`limits.${name} must be a positive integer`);
  }
  if (limits.maxFrameBytes > 0xffff_ffff) throw new RangeError('limits.maxFrameBytes must fit in 32 bits');
  return limits;
}
