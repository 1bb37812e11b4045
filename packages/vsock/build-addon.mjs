#!/usr/bin/env node
// `npm install` hook: builds the AF_VSOCK addon with npm's own node-gyp against the headers of the Node
// that runs it (offline: no header download). A machine without a C compiler gets a warning, not a failed
// install; vsockAvailable() then says why, and the guest uses unix: or tcp:.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const nodeGyp = process.env.npm_config_node_gyp;
const prefix = dirname(dirname(process.execPath));
const args = ['rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const command = nodeGyp ? [process.execPath, [nodeGyp, ...args]] : ['node-gyp', args];
const result = spawnSync(command[0], command[1], { stdio: 'inherit', cwd: import.meta.dirname });
if (result.status !== 0) {
  process.stderr.write('@ferry/vsock: the AF_VSOCK addon was not built; vsock:// addresses will be unavailable.\n');
}
