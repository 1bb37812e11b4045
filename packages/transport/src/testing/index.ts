export type { ConnectorContractTarget } from './connector-contract.js';
export { closed, connectorContract, readAll, readBytes } from './connector-contract.js';
