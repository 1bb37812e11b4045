import { basename, join } from 'node:path';
import { build } from 'esbuild';

export interface BundleGuestOptions {
  /** Entry points by output name: `{ main: '/repo/test/vm/guest/main.ts' }` gives `dist/main.mjs`. */
  readonly entries: Readonly<Record<string, string>>;
  /** The app directory on the host; the bundles go to `<outDir>/dist`. */
  readonly outDir: string;
  /** Native addons (`.node`), placed at `build/Release/<name>` beside dist/, where packages load them from. */
  readonly addons?: readonly string[];
  /** Package export conditions, e.g. `['source']` to bundle the workspace's TypeScript. */
  readonly conditions?: readonly string[];
}

/**
 * Bundles guest programs (each entry with every package it imports, one ESM file per entry, Node 20) for
 * the initramfs: the guest gets what a function image holds, without a node_modules tree of thousands of
 * files. Native addons stay files beside the bundle. Returns the files under outDir to put under /app.
 */
export async function bundleGuest(options: BundleGuestOptions): Promise<{ path: string; source: string }[]> {
  const entryPoints = Object.entries(options.entries).map(([out, input]) => ({ in: input, out }));
  const result = await build({
    entryPoints,
    outdir: join(options.outDir, 'dist'),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: [...(options.conditions ?? [])],
    external: ['*.node'],
    // CommonJS dependencies (fastify) call require() for Node's built-ins; an ESM bundle has none by itself.
    banner: {
      js: "import { createRequire as __ferryCreateRequire } from 'node:module';\nconst require = __ferryCreateRequire(import.meta.url);",
    },
    logLevel: 'silent',
    metafile: true,
  });
  const files = Object.keys(result.metafile.outputs).map((out) => {
    const name = basename(out);
    return { path: `dist/${name}`, source: join(options.outDir, 'dist', name) };
  });
  for (const addon of options.addons ?? []) files.push({ path: `build/Release/${basename(addon)}`, source: addon });
  return files;
}
