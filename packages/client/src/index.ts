export type { ClientOptions } from './create-client.js';
export { createClient } from './create-client.js';
export { DEFAULT_ADDRESS, defaultAddress } from './default-address.js';
export type {
  CallOptions,
  Client,
  InferOptions,
  ModelInfo,
  ModelSource,
  RegisteredModel,
  ServerInfo,
} from './types.js';
