import type { DescMessage, DescMethod, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { create } from '@bufbuild/protobuf';
import type { Backend, BackendRegistry } from '@ferry/core';
import { Code, FerryError } from '@ferry/core';
import {
  Accelerator,
  ModelInfoSchema,
  RepositoryModelSchema,
  type TtrpcStatus,
  tensorInfoToWire,
  tensorMapFromWire,
  tensorMapToWire,
  type ModelInfo as WireModelInfo,
} from '@ferry/protocol';
import { batchPolicy } from './batch-policy.js';
import type { OpReport } from './diagnostics.js';
import type { AgentLimits } from './limits.js';
import type { ModelCache } from './model-cache.js';
import { type ModelFiles, sha256Hex } from './model-files.js';
import type { ModelRepository, RepositoryModelInfo } from './model-repository.js';
import type { ModelRunner } from './model-runner.js';
import type { BatchPolicy } from './model-scheduler.js';
import type { Tenant, TenantModel } from './tenant.js';
import type { VisionOps } from './vision-ops.js';

/** What a call handler may use: the caller's tenant and connection, its deadline, the agent's parts. */
export interface CallContext {
  readonly tenant: Tenant;
  /** Filled in by model-running handlers, published with the call's end. */
  readonly report: OpReport;
  /** The connection the call arrived on; sessions it creates die with it. */
  readonly owner: object;
  readonly signal: AbortSignal;
  readonly services: AgentServices;
}

export interface AgentServices {
  readonly version: string;
  readonly backends: BackendRegistry;
  /** What an empty `backend` field means: the registry's highest-priority backend that initialised. */
  readonly defaultBackend: Backend;
  readonly limits: AgentLimits;
  readonly cache: ModelCache;
  readonly modelDirectory: ModelFiles | undefined;
  readonly repository: ModelRepository;
  /** Every model run goes through it. */
  readonly runner: ModelRunner;
  readonly ops: VisionOps;
  /** Batching of repository models whose ferry.json says nothing (`false`: off). */
  readonly batching: BatchPolicy | false;
}

export interface MethodHandler {
  readonly method: DescMethod;
  /** The method runs a model: its successful calls count as inferences in the metrics. */
  readonly runsModel: boolean;
  handle(input: unknown, context: CallContext): Promise<unknown>;
  /** The status a failure answers with, for services with their own error shape (vAccel); by default `statusFromError`. */
  readonly status?: (error: FerryError) => TtrpcStatus;
}

type Impl<M extends DescMethod> = (
  input: MessageShape<M['input']>,
  context: CallContext,
) => Promise<MessageInitShape<M['output'] & DescMessage>>;

/** What every handler declares about itself (no default, so a new method cannot leave it out). */
export interface HandlerTraits {
  readonly runsModel: boolean;
}

/** The method runs a model: its successful calls are inferences. */
export const RUNS_MODEL: HandlerTraits = { runsModel: true };
/** The method manages sessions, models or the connection, and runs no model. */
export const NO_MODEL: HandlerTraits = { runsModel: false };

function handler<M extends DescMethod>(method: M, traits: HandlerTraits, impl: Impl<M>): MethodHandler {
  return {
    method,
    runsModel: traits.runsModel,
    // The init shape as it is: toEncodable writes the hot messages from it directly, and creates the others.
    handle: (input, context) => impl(input as MessageShape<M['input']>, context),
  };
}

function pickBackend(services: AgentServices, name: string): Promise<Backend> {
  return name === '' ? Promise.resolve(services.defaultBackend) : services.backends.resolve([name]);
}

function availableBackends(registry: BackendRegistry): string[] {
  const failures = registry.failures();
  return registry.names().filter((name) => !failures.has(name));
}

function modelInfo(model: TenantModel): WireModelInfo {
  return create(ModelInfoSchema, {
    modelId: model.id,
    sha256: model.cached.sha256,
    backend: model.cached.backend,
    name: model.name,
    inputs: model.cached.model.inputs.map(tensorInfoToWire),
    outputs: model.cached.model.outputs.map(tensorInfoToWire),
  });
}

function repositoryModel(info: RepositoryModelInfo) {
  const model = info.loaded?.cached;
  return create(RepositoryModelSchema, {
    name: info.name,
    task: info.task,
    builtin: info.builtin,
    loaded: model !== undefined,
    sha256: model?.sha256 ?? '',
    inputs: model?.model.inputs.map(tensorInfoToWire) ?? [],
    outputs: model?.model.outputs.map(tensorInfoToWire) ?? [],
    labels: info.labels,
    configJson: JSON.stringify(info.config),
  });
}

const m = Accelerator.method;

/** The handlers of `ferry.v1.Accelerator`, keyed by method name. */
export const acceleratorHandlers: readonly MethodHandler[] = [
  handler(m.serverInfo, NO_MODEL, async (_input, { tenant, services }) => ({
    version: services.version,
    tenant: tenant.name,
    backends: availableBackends(services.backends),
    maxFrameBytes: services.limits.maxFrameBytes,
    maxSessions: services.limits.maxSessionsPerTenant,
    maxModels: services.limits.maxModelsPerTenant,
    maxInflight: services.limits.maxInflightPerConnection,
  })),

  handler(m.noop, NO_MODEL, async (input) => ({ payload: input.payload })),

  handler(m.createSession, NO_MODEL, async (_input, { tenant, owner }) => ({ sessionId: tenant.createSession(owner) })),

  handler(m.destroySession, NO_MODEL, async (input, { tenant }) => {
    await tenant.destroySession(input.sessionId);
    return {};
  }),

  handler(m.registerModel, NO_MODEL, async (input, { tenant, services, signal }) => {
    // The model's place (and then its bytes) are reserved before any work, so concurrent registrations
    // count each other; the reservation goes back unless the model was added.
    const reservation = tenant.reserveModel(input.sessionId);
    try {
      const backend = await pickBackend(services, input.backend);
      let name: string;
      let bytes: Uint8Array;
      let sha256: string;
      let batching: BatchPolicy | undefined;
      switch (input.source.case) {
        case 'modelBytes':
          bytes = input.source.value;
          reservation.reserveBytes(bytes.byteLength);
          sha256 = sha256Hex(bytes);
          name = `sha256:${sha256.slice(0, 12)}`;
          break;
        case 'name': {
          name = input.source.value;
          ({ bytes, sha256 } = await services.repository.read(name));
          reservation.reserveBytes(bytes.byteLength);
          batching = batchPolicy((await services.repository.describe(name)).config, services.batching);
          break;
        }
        default:
          throw new FerryError(Code.INVALID_ARGUMENT, 'RegisterModel needs model_bytes or name', {
            reason: 'MISSING_MODEL_SOURCE',
          });
      }
      signal.throwIfAborted();
      const { model: cached, reused } = await services.cache.acquire(sha256, bytes, backend, name);
      const model = await tenant.addModel(reservation, name, cached, { batching });
      return { model: modelInfo(model), reused };
    } finally {
      reservation.release();
    }
  }),

  handler(m.unregisterModel, NO_MODEL, async (input, { tenant }) => {
    await tenant.unregisterModel(input.modelId);
    return {};
  }),

  handler(m.modelMetadata, NO_MODEL, async (input, { tenant }) => ({ model: modelInfo(tenant.model(input.modelId)) })),

  handler(m.infer, RUNS_MODEL, async (input, { tenant, services, signal, report }) => {
    const model = tenant.model(input.modelId);
    const inputs = tensorMapFromWire(input.inputs, services.limits.maxTensorsPerCall);
    report.model = model.name;
    report.batchSize = Number(Object.values(inputs)[0]?.shape[0] ?? 1);
    const outputs = await services.runner.run(model.cached, inputs, {
      signal,
      report,
      tenant: tenant.name,
      ...(model.batching ? { batching: model.batching } : {}),
      ...(input.outputNames.length > 0 ? { outputNames: input.outputNames } : {}),
    });
    return { outputs: tensorMapToWire(outputs) };
  }),

  handler(m.listModels, NO_MODEL, async (_input, { services }) => ({
    models: (await services.repository.list()).map(repositoryModel),
  })),

  handler(m.describeModel, NO_MODEL, async (input, { services }) => ({
    model: repositoryModel(await services.repository.describe(input.name)),
  })),

  handler(m.loadModel, NO_MODEL, async (input, { services }) => {
    await services.repository.load(input.name);
    return { model: repositoryModel(await services.repository.describe(input.name)) };
  }),

  handler(m.unloadModel, NO_MODEL, async (input, { services }) => {
    await services.repository.unload(input.name);
    return {};
  }),

  handler(m.classify, RUNS_MODEL, async (input, { tenant, services, signal, report }) => ({
    results: await services.ops.classify(input.image, {
      model: input.model,
      topK: input.topK,
      signal,
      report,
      tenant: tenant.name,
    }),
  })),

  // Detect is text detection: every box is a text line, labelled `text`.
  handler(m.detect, RUNS_MODEL, async (input, { tenant, services, signal, report }) => ({
    detections: (
      await services.ops.detectText(input.image, { model: input.model, signal, report, tenant: tenant.name })
    ).map((box) => ({
      box: box.points.map(({ x, y }) => ({ x, y })),
      score: box.score,
      label: 'text',
    })),
  })),

  handler(m.ocr, RUNS_MODEL, async (input, { tenant, services, signal, report }) => ({
    lines: (await services.ops.ocr(input.image, { signal, report, tenant: tenant.name })).lines.map((line) => ({
      text: line.text,
      score: line.score,
      box: line.box.map(({ x, y }) => ({ x, y })),
      angle: line.angle,
    })),
  })),
];
