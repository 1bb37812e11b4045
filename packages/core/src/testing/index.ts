export { assertTensorsEqual } from './assert-tensors-equal.js';
export type { BackendContractFixture, BackendContractOptions } from './backend-contract.js';
export { describeBackendContract } from './backend-contract.js';
export { registryOf } from './registry-of.js';
