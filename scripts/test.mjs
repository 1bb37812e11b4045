#!/usr/bin/env node
// Runs every test file (packages/*/src/**/*.test.ts and test/**/*.test.ts) with node:test through tsx,
// resolving workspace packages to their TypeScript sources. Extra arguments are passed to node --test
// (for example `npm test -- --test-name-pattern=decoder`), or name test files to run alone.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (name.endsWith('.test.ts')) yield relative(root, path);
  }
}

const args = process.argv.slice(2);
const named = args.filter((a) => a.endsWith('.test.ts'));
const flags = args.filter((a) => !a.endsWith('.test.ts'));
const files = named.length > 0 ? named : [...walk(join(root, 'packages')), ...walk(join(root, 'test'))].sort();

const result = spawnSync(
  process.execPath,
  ['--conditions=source', '--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
