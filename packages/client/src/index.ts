export type { ConnectRetryOptions } from './connect-with-retry.js';
export { CONNECT_RETRY_DEFAULTS } from './connect-with-retry.js';
export type { ClientOptions } from './create-client.js';
export { createClient } from './create-client.js';
export { DEFAULT_ADDRESS, defaultAddress } from './default-address.js';
export type {
  CallOptions,
  Classification,
  ClassifyOptions,
  Client,
  Detection,
  DetectOptions,
  InferOptions,
  ModelInfo,
  ModelSource,
  Point,
  RegisteredModel,
  RepositoryModel,
  ServerInfo,
  TextLine,
} from './types.js';
