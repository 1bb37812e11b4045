import type { Backend } from '../backend.js';
import { type BackendRegistry, createBackendRegistry } from '../backend-registry.js';

/**
 * A registry holding already-created backends, the first one preferred (priorities n-1 … 0): what a test
 * or benchmark hands `createAgent` when it does not need lazy init or fallback.
 */
export function registryOf(...backends: Backend[]): BackendRegistry {
  const registry = createBackendRegistry();
  backends.forEach((backend, i) => {
    registry.register({ name: backend.name, priority: backends.length - 1 - i, init: () => backend });
  });
  return registry;
}
