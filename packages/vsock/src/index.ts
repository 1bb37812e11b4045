export { createVsockConnector, vsockAvailable } from './create-vsock-connector.js';
