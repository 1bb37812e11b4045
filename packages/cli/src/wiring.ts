import { availableParallelism } from 'node:os';
import { type Agent, type AgentOptions, createAgent } from '@ferry/agent';
import { createNoopBackend } from '@ferry/backend-noop';
import { createOnnxRuntimeBackend } from '@ferry/backend-onnxruntime';
import { type Client, createClient } from '@ferry/client';
import { type Backend, type BackendRegistry, createBackendRegistry } from '@ferry/core';
import { buildModel } from '@ferry/onnx';
import { type Connector, type ConnectorMap, createDuplexPair, parseAddress } from '@ferry/transport';
import { createVsockConnector, vsockAvailable } from '@ferry/vsock';

export interface BackendChoice {
  /** ONNX Runtime threads per run; default: all cores but one, which stays with the agent's event loop. */
  readonly intraOpThreads?: number;
  /** onnxruntime execution providers, in order: cpu, cuda, tensorrt. */
  readonly executionProviders?: readonly string[];
  readonly workers?: number;
}

/**
 * The agent's backends, by priority: ONNX Runtime on the accelerator providers asked for (`onnxruntime-cuda`,
 * …; checked by loading a one-node model, so a machine without CUDA falls back), ONNX Runtime on the CPU
 * (`onnxruntime`), then the no-op backend for overhead measurements.
 */
export function createBackends(choice: BackendChoice = {}): BackendRegistry {
  const registry = createBackendRegistry();
  const onnxRuntime = (name: string, executionProviders: readonly string[]) =>
    createOnnxRuntimeBackend({
      name,
      // The agent never reuses an input after a run: hand its buffer to the worker instead of copying.
      transferInputs: true,
      intraOpNumThreads: choice.intraOpThreads ?? Math.max(1, availableParallelism() - 1),
      executionProviders,
      ...(choice.workers ? { workers: choice.workers } : {}),
    });
  const providers = choice.executionProviders ?? ['cpu'];
  const accelerators = providers.filter((ep) => ep !== 'cpu');
  if (accelerators.length > 0) {
    const name = `onnxruntime-${accelerators.join('-')}`;
    registry.register({ name, priority: 20, init: () => checked(onnxRuntime(name, providers)) });
  }
  registry.register({ name: 'onnxruntime', priority: 10, init: () => onnxRuntime('onnxruntime', ['cpu']) });
  registry.register({ name: 'noop', priority: 0, init: () => createNoopBackend() });
  return registry;
}

/** The backend, once it has loaded and released a one-node model (its providers really work); closed if not. */
async function checked(backend: Backend): Promise<Backend> {
  const probe = buildModel({
    name: 'probe',
    inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
  try {
    await (await backend.load(probe)).release();
    return backend;
  } catch (error) {
    await backend.close();
    throw error;
  }
}

/** A connector for `local:`: every connection is served by an in-process agent, created on first use. */
export function createLocalConnector(options: Omit<AgentOptions, 'listen'>): Connector & { close(): Promise<void> } {
  let agent: Promise<Agent> | undefined;
  return {
    async connect() {
      agent ??= createAgent(options);
      const [guest, host] = createDuplexPair();
      (await agent).accept(host, { tenant: 'local' });
      return guest;
    },
    async close() {
      await (await agent)?.close();
    },
  };
}

export interface ClientHandle {
  readonly client: Client;
  close(): Promise<void>;
}

/** A client for `address`; `local:` runs an in-process agent with the ONNX Runtime backend. */
export function connectClient(address: string, options: { modelDir?: string } & BackendChoice = {}): ClientHandle {
  if (parseAddress(address).scheme !== 'local') {
    const client = createClient({ address, connectors: guestConnectors() });
    return { client, close: () => client.close() };
  }
  const local = createLocalConnector({
    backends: createBackends(options),
    ...(options.modelDir ? { modelDir: options.modelDir } : {}),
  });
  const client = createClient({ address, connectors: { local } });
  return {
    client,
    async close() {
      await client.close();
      await local.close();
    },
  };
}

/** Connectors a guest needs beyond unix and tcp: AF_VSOCK, when @ferry/vsock's addon is built. */
export function guestConnectors(): ConnectorMap {
  return vsockAvailable().ok ? { vsock: createVsockConnector() } : {};
}
