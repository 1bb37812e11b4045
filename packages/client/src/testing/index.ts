export type { ClientMethods, FakeClientOptions } from './create-fake-client.js';
export { createFakeClient } from './create-fake-client.js';
