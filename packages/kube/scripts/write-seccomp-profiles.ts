// Writes deploy/base/seccomp/ferry-vsock-<arch>.json: the runtime's default seccomp profile
// (packages/kube/seccomp/runtime-default.json) resolved for a default container on each architecture,
// with socket(AF_VSOCK) allowed. Run: npm run generate:seccomp -w @ferry/kube
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { seccompProfileFiles } from '../src/seccomp/seccomp-profile-files.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const template = JSON.parse(readFileSync(`${root}packages/kube/seccomp/runtime-default.json`, 'utf8'));
for (const [path, text] of Object.entries(seccompProfileFiles(template))) writeFileSync(`${root}${path}`, text);
