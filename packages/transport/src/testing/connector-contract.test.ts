import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { createMemoryNetwork } from '../create-memory-network.js';
import { listen } from '../listen.js';
import { connectorContract } from './connector-contract.js';

const dir = await mkdtemp(join(tmpdir(), 'ferry-'));
after(() => rm(dir, { recursive: true, force: true }));
let sockets = 0;

connectorContract({
  name: 'unix',
  listen: (options) => listen({ scheme: 'unix', path: join(dir, `${++sockets}.sock`) }, options),
});

connectorContract({ name: 'tcp 127.0.0.1', listen: (options) => listen('tcp://127.0.0.1:0', options) });

const ipv6 = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(false));
  probe.listen({ host: '::1', port: 0 }, () => probe.close(() => resolve(true)));
});
connectorContract({
  name: 'tcp [::1]',
  listen: (options) => listen('tcp://[::1]:0', options),
  skip: ipv6 ? false : 'no IPv6 loopback on this machine',
});

const network = createMemoryNetwork();
let names = 0;
connectorContract({
  name: 'memory',
  listen: (options) => network.listen(`contract-${++names}`, options),
  connectors: { memory: network.connector },
});
