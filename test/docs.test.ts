import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { errorReasons } from '../scripts/error-reasons.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Link targets that another change adds: a missing one is allowed, an existing one is checked like any
 * other. Remove an entry once its file exists.
 */
const PENDING_TARGETS = new Set<string>();

/** README.md, docs/*.md and the package READMEs, relative to the repository root. */
function markdownFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  const packages = readdirSync(join(root, 'packages'))
    .map((name) => `packages/${name}/README.md`)
    .filter((path) => existsSync(join(root, path)));
  return ['README.md', ...docs, ...packages];
}

interface Link {
  readonly file: string;
  readonly target: string;
}

/** Relative links `[text](target)` outside code blocks and inline code. */
function relativeLinks(file: string): Link[] {
  const text = readFileSync(join(root, file), 'utf8')
    .replace(/^```[^\n]*\n[\s\S]*?^```/gm, '')
    .replace(/`[^`\n]*`/g, '');
  const links: Link[] = [];
  for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1] as string;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
    links.push({ file, target });
  }
  return links;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsIn(path: string): Set<string> {
  const text = readFileSync(path, 'utf8').replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchorOf(m[1] as string)));
}

describe('docs/errors.md', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const reasons = errorReasons();

  it('finds the reasons the packages raise', () => {
    // Guards the scan itself: an empty result would make the checks below pass vacuously.
    assert.ok(reasons.size >= 90, `scripts/error-reasons.mjs found only ${reasons.size} reasons`);
    assert.deepEqual(reasons.get('SESSION_NOT_FOUND')?.codes, new Set(['NOT_FOUND']));
    assert.ok(reasons.has('MALFORMED_JSON'), 'reasons passed to a helper (invalid(message, REASON)) are found');
  });

  it('lists every reason the packages raise as `REASON`', () => {
    const missing = [...reasons.keys()].filter((reason) => !doc.includes(`\`${reason}\``)).sort();
    assert.deepEqual(missing, [], `docs/errors.md lacks ${missing.join(', ')} (node scripts/error-reasons.mjs)`);
  });

  it('gives each reason one row that names every code it is raised with', () => {
    const rowsOfReasonTables: string[] = [];
    let inReasonTable = false;
    for (const line of doc.split('\n')) {
      if (!line.startsWith('|')) inReasonTable = false;
      else if (/^\|\s*reason\s*\|/.test(line)) inReasonTable = true;
      else if (inReasonTable) rowsOfReasonTables.push(line);
    }
    const problems: string[] = [];
    for (const [reason, { codes }] of reasons) {
      const rows = rowsOfReasonTables.filter((line) => line.startsWith(`| \`${reason}\``));
      if (rows.length !== 1) {
        problems.push(`${reason}: ${rows.length} rows`);
        continue;
      }
      const row = rows[0] as string;
      for (const code of codes) {
        if (!new RegExp(`\\b${code}\\b`).test(row)) problems.push(`${reason}: no ${code} in its row`);
      }
    }
    assert.deepEqual(problems, []);
  });
});

describe('README.md and docs/*.md links', () => {
  const files = markdownFiles();
  const links = files.flatMap(relativeLinks);

  it('finds the links', () => {
    assert.ok(
      links.some((l) => l.file === 'README.md' && l.target === 'docs/errors.md'),
      'the scan finds README.md → docs/errors.md',
    );
  });

  it('points every relative link at a file or directory that exists', () => {
    const broken = links
      .map(({ file, target }) => {
        const [path = ''] = target.split('#');
        if (path === '') return undefined;
        const resolved = relative(root, join(root, dirname(file), decodeURIComponent(path)));
        if (existsSync(join(root, resolved)) || PENDING_TARGETS.has(resolved)) return undefined;
        return `${file}: (${target})`;
      })
      .filter((b) => b !== undefined);
    assert.deepEqual(broken, []);
  });

  it('points every #anchor at a heading of its target', () => {
    const broken = links
      .map(({ file, target }) => {
        const [path = '', anchor] = target.split('#');
        if (anchor === undefined) return undefined;
        const resolved = join(root, path === '' ? file : join(dirname(file), decodeURIComponent(path)));
        if (!resolved.endsWith('.md') || !existsSync(resolved)) return undefined;
        return anchorsIn(resolved).has(anchor) ? undefined : `${file}: (${target})`;
      })
      .filter((b) => b !== undefined);
    assert.deepEqual(broken, []);
  });
});
