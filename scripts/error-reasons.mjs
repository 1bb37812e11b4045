#!/usr/bin/env node
// Lists every FerryError reason the packages raise, with its code(s) and where: the source of truth
// docs/errors.md must cover (test/docs.test.ts checks it). `node scripts/error-reasons.mjs [--json]`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    if (['node_modules', 'dist', 'gen', 'testing'].includes(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) yield path;
  }
}

/** reason → { codes: Set, files: Set } */
export function errorReasons() {
  const reasons = new Map();
  for (const file of sources(join(root, 'packages'))) {
    const text = readFileSync(file, 'utf8');
    const matches = [...text.matchAll(/reason: '([A-Z][A-Z0-9_]+)'/g)];
    if (text.includes('FerryError')) {
      // Reasons handed to a helper that builds the FerryError (`throw invalid(message, 'MALFORMED_JSON')`,
      // `new WorkerFailure(Code.X, 'UNSUPPORTED_MODEL', message)`), and helpers' default reasons
      // (`function invalid(message, reason = 'INVALID_TENSOR_DATA')`).
      matches.push(...text.matchAll(/,\s*'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'\s*[,)]/g));
      matches.push(...text.matchAll(/\breason = '([A-Z][A-Z0-9_]+)'/g));
    }
    for (const match of matches) {
      // The code is the nearest `Code.X` before the reason, within the same statement.
      const before = text.slice(Math.max(0, match.index - 600), match.index);
      const statement = before.slice(before.lastIndexOf(';') + 1);
      const codes = [...statement.matchAll(/Code\.([A-Z_]+)/g)].map((m) => m[1]);
      const entry = reasons.get(match[1]) ?? { codes: new Set(), files: new Set() };
      if (codes.length > 0) entry.codes.add(codes[codes.length - 1]);
      entry.files.add(relative(root, file));
      reasons.set(match[1], entry);
    }
  }
  return reasons;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const reasons = errorReasons();
  const rows = [...reasons.entries()].sort(([a], [b]) => a.localeCompare(b));
  if (process.argv.includes('--json')) {
    console.log(
      JSON.stringify(Object.fromEntries(rows.map(([r, e]) => [r, { codes: [...e.codes], files: [...e.files] }]))),
    );
  } else {
    for (const [reason, e] of rows) console.log(`${reason}\t${[...e.codes].join(',')}\t${[...e.files].join(' ')}`);
  }
}
