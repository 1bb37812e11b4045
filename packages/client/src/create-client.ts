import type { DescMessage, DescMethod, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { fromBinary } from '@bufbuild/protobuf';
import { Code, FerryError, type TensorMap } from '@ferry/core';
import {
  Accelerator,
  DEFAULT_CLIENT_MAX_FRAME_BYTES,
  decodeMessage,
  type EncodableMessage,
  inferRequestMessage,
  tensorInfoFromWire,
  tensorMapFromWire,
  toEncodable,
  type ModelInfo as WireModelInfo,
  type RepositoryModel as WireRepositoryModel,
} from '@ferry/protocol';
import { type ConnectorMap, formatAddress, parseAddress } from '@ferry/transport';
import { type ConnectRetryOptions, connectWithRetry } from './connect-with-retry.js';
import { defaultAddress } from './default-address.js';
import { TtrpcConnection } from './ttrpc-connection.js';
import type { CallOptions, Client, InferOptions, ModelInfo, Point, RepositoryModel } from './types.js';

export interface ClientOptions {
  /** `vsock://2:2048`, `unix:///run/ferry.sock`, `tcp://127.0.0.1:7000`, `local:`; see {@link defaultAddress}. */
  readonly address?: string;
  /** Connectors by scheme, e.g. `local` wired to an in-process agent, or `vsock` from @ferry/vsock. */
  readonly connectors?: ConnectorMap;
  /** Largest frame this client sends or accepts. Default 64 MiB. */
  readonly maxFrameBytes?: number;
  /**
   * Calls sent on the connection and not yet answered, at most (default 1024); the agent's own
   * per-connection limit, learned from `ServerInfo`, caps it. Further calls wait in a local queue.
   */
  readonly maxInflight?: number;
  /**
   * Calls waiting in the local queue for the window, at most (default 4096); beyond it calls fail
   * RESOURCE_EXHAUSTED `CLIENT_QUEUE_FULL`. 0: no queue, calls beyond the window fail `TOO_MANY_INFLIGHT`.
   * A queued call keeps its deadline and signal, and is never sent if either ends it first.
   */
  readonly maxQueuedCalls?: number;
  /** Deadline for establishing the connection. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /**
   * While nothing listens at the address yet (the first seconds of a microVM, an agent restarting), connecting
   * is tried again with backoff within `connectTimeoutMs` and the call's deadline; `false` fails at once.
   */
  readonly connectRetry?: ConnectRetryOptions | false;
}

const SERVICE = Accelerator.typeName;

/**
 * Creates a Ferry client. No I/O happens here: the connection opens on the first call, and opens
 * again on the next call after the agent went away.
 */
export function createClient(options: ClientOptions = {}): Client {
  const address = formatAddress(parseAddress(options.address ?? defaultAddress()));
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_CLIENT_MAX_FRAME_BYTES;
  const maxInflight = options.maxInflight ?? 1024;
  const maxQueued = options.maxQueuedCalls ?? 4096;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1024)
    throw new RangeError('maxFrameBytes must be ≥ 1024');
  if (!Number.isSafeInteger(maxInflight) || maxInflight < 1) throw new RangeError('maxInflight must be ≥ 1');
  if (!Number.isSafeInteger(maxQueued) || maxQueued < 0) throw new RangeError('maxQueuedCalls must be ≥ 0');

  let connection: Promise<TtrpcConnection> | undefined;
  /** The open connection, once `connection` has resolved: calls then skip an await. */
  let open: TtrpcConnection | undefined;
  let state: 'open' | 'closing' | 'closed' = 'open';

  const getConnection = (signal?: AbortSignal, callTimeoutMs?: number): Promise<TtrpcConnection> => {
    connection ??= (async () => {
      try {
        const socket = await connectWithRetry(address, {
          timeoutMs: Math.min(connectTimeoutMs, callTimeoutMs ?? connectTimeoutMs),
          ...(signal ? { signal } : {}),
          ...(options.connectors ? { connectors: options.connectors } : {}),
          ...(options.connectRetry === undefined ? {} : { retry: options.connectRetry }),
        });
        const conn: TtrpcConnection = new TtrpcConnection(socket, {
          address,
          maxFrameBytes,
          maxInflight,
          maxQueued,
          onClose: () => {
            if (connection === current) connection = undefined;
            if (open === conn) open = undefined;
          },
          // Calls have begun to wait: ask the agent how many it takes at once on one connection.
          onFirstQueued: () => {
            conn
              .call({
                service: SERVICE,
                method: Accelerator.method.serverInfo.name,
                body: toEncodable(Accelerator.method.serverInfo.input, {}),
                bypassWindow: true,
              })
              .then(
                (payload) => {
                  conn.window = fromBinary(Accelerator.method.serverInfo.output, payload).maxInflight;
                },
                () => {},
              );
          },
        });
        open = conn;
        return conn;
      } catch (error) {
        connection = undefined;
        throw FerryError.from(error, Code.UNAVAILABLE);
      }
    })();
    const current = connection;
    return current;
  };

  const call = async <I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    input: MessageInitShape<I> | { readonly encoded: EncodableMessage },
    callOptions: CallOptions = {},
  ): Promise<MessageShape<O>> => {
    if (state !== 'open') {
      throw new FerryError(Code.FAILED_PRECONDITION, `Client for ${address} is closed`, { reason: 'CLIENT_CLOSED' });
    }
    checkCallOptions(callOptions);
    const conn = open ?? (await getConnection(callOptions.signal, callOptions.timeoutMs));
    const payload = await conn.call({
      service: SERVICE,
      method: method.name,
      body: 'encoded' in input ? (input.encoded as EncodableMessage) : toEncodable(method.input, input),
      ...(callOptions.timeoutMs === undefined ? {} : { timeoutMs: callOptions.timeoutMs }),
      ...(callOptions.signal ? { signal: callOptions.signal } : {}),
    });
    return decodeMessage(method.output, payload);
  };

  const m = Accelerator.method;
  const client: Client = {
    address,
    async serverInfo(o) {
      const r = await call(m.serverInfo, {}, o);
      return {
        version: r.version,
        tenant: r.tenant,
        backends: r.backends,
        maxFrameBytes: r.maxFrameBytes,
        maxSessions: r.maxSessions,
        maxModels: r.maxModels,
        maxInflight: r.maxInflight,
      };
    },
    async noop(payload, o) {
      if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
      return (await call(m.noop, { payload }, o)).payload;
    },
    async createSession(o) {
      return (await call(m.createSession, {}, o)).sessionId;
    },
    async destroySession(sessionId, o) {
      checkId('sessionId', sessionId);
      await call(m.destroySession, { sessionId }, o);
    },
    async registerModel(sessionId, source, o) {
      checkId('sessionId', sessionId);
      let wireSource: MessageInitShape<typeof m.registerModel.input>['source'];
      if ('bytes' in source && source.bytes instanceof Uint8Array) {
        wireSource = { case: 'modelBytes', value: source.bytes };
      } else if ('name' in source && typeof source.name === 'string' && source.name !== '') {
        wireSource = { case: 'name', value: source.name };
      } else {
        throw new TypeError('source must be { bytes: Uint8Array } or { name: string }');
      }
      const r = await call(m.registerModel, { sessionId, source: wireSource, backend: source.backend ?? '' }, o);
      return { ...modelInfoFromWire(r.model), reused: r.reused };
    },
    async unregisterModel(modelId, o) {
      checkId('modelId', modelId);
      await call(m.unregisterModel, { modelId }, o);
    },
    async modelMetadata(modelId, o) {
      checkId('modelId', modelId);
      return modelInfoFromWire((await call(m.modelMetadata, { modelId }, o)).model);
    },
    async infer(modelId, inputs: TensorMap, o: InferOptions = {}) {
      checkId('modelId', modelId);
      if (typeof inputs !== 'object' || inputs === null) throw new TypeError('inputs must be an object of tensors');
      const encoded = inferRequestMessage(modelId, inputs, o.outputNames ? { outputNames: o.outputNames } : {});
      const r = await call(m.infer, { encoded }, o);
      return tensorMapFromWire(r.outputs, Number.MAX_SAFE_INTEGER);
    },
    async listModels(o) {
      return (await call(m.listModels, {}, o)).models.map(repositoryModelFromWire);
    },
    async describeModel(name, o) {
      checkName(name);
      return repositoryModelFromWire((await call(m.describeModel, { name }, o)).model);
    },
    async loadModel(name, o) {
      checkName(name);
      return repositoryModelFromWire((await call(m.loadModel, { name }, o)).model);
    },
    async unloadModel(name, o) {
      checkName(name);
      await call(m.unloadModel, { name }, o);
    },
    async classify(image, o) {
      checkImage(image);
      if (typeof o?.model !== 'string' || o.model === '') throw new TypeError('classify needs options.model');
      const topK = o.topK ?? 0;
      if (!Number.isInteger(topK) || topK < 0) throw new RangeError('topK must be a non-negative integer');
      const r = await call(m.classify, { image, model: o.model, topK }, o);
      return r.results.map(({ label, score, index }) => ({ label, score, index }));
    },
    async detect(image, o = {}) {
      checkImage(image);
      const r = await call(m.detect, { image, model: o.model ?? '' }, o);
      return r.detections.map((d) => ({ box: d.box.map(pointFromWire), score: d.score, label: d.label }));
    },
    async ocr(image, o) {
      checkImage(image);
      const r = await call(m.ocr, { image }, o);
      return r.lines.map((l) => ({ text: l.text, score: l.score, box: l.box.map(pointFromWire), angle: l.angle }));
    },
    async close() {
      if (state === 'closed') return;
      state = 'closing';
      const current = connection;
      connection = undefined;
      open = undefined;
      try {
        await (await current)?.close();
      } catch {
        // A connection that never opened has nothing to close.
      }
      state = 'closed';
    },
    destroy() {
      state = 'closed';
      const current = connection;
      connection = undefined;
      open = undefined;
      current?.then(
        (conn) => conn.destroy(),
        () => {},
      );
    },
    [Symbol.asyncDispose]() {
      return client.close();
    },
  };
  return client;
}

function checkId(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`${name} must be a uint32`);
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name === '') throw new TypeError('name must be a non-empty string');
}

function checkImage(image: Uint8Array): void {
  if (!(image instanceof Uint8Array)) throw new TypeError('image must be a Uint8Array of encoded image bytes');
}

function pointFromWire(p: { x: number; y: number }): Point {
  return { x: p.x, y: p.y };
}

function repositoryModelFromWire(model: WireRepositoryModel | undefined): RepositoryModel {
  if (!model) throw new FerryError(Code.INTERNAL, 'The agent sent no model', { reason: 'MALFORMED_RESPONSE' });
  let config: unknown = null;
  try {
    config = model.configJson ? JSON.parse(model.configJson) : null;
  } catch {
    config = null;
  }
  return {
    name: model.name,
    task: model.task,
    builtin: model.builtin,
    loaded: model.loaded,
    sha256: model.sha256,
    labels: model.labels,
    config,
    inputs: model.inputs.map(tensorInfoFromWire),
    outputs: model.outputs.map(tensorInfoFromWire),
  };
}

function checkCallOptions(options: CallOptions): void {
  const t = options.timeoutMs;
  if (t !== undefined && (!Number.isFinite(t) || t <= 0)) throw new RangeError('timeoutMs must be a positive number');
}

function modelInfoFromWire(info: WireModelInfo | undefined): ModelInfo {
  if (!info) throw new FerryError(Code.INTERNAL, 'The agent sent no model info', { reason: 'MALFORMED_RESPONSE' });
  return {
    modelId: info.modelId,
    sha256: info.sha256,
    backend: info.backend,
    name: info.name,
    inputs: info.inputs.map(tensorInfoFromWire),
    outputs: info.outputs.map(tensorInfoFromWire),
  };
}
