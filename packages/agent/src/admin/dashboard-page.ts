import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * The dashboard's files: `index.html`, `dashboard.css` and `dashboard.js` (browser JavaScript, `// @ts-check`,
 * checked by tsc against the admin views and linted by Biome). `packages/agent/dashboard/` is beside both
 * `src/` and `dist/`, so the same URL finds it from the sources and from the build.
 */
const DASHBOARD_DIR = new URL('../../dashboard/', import.meta.url);

const STYLE_TAG = '<link rel="stylesheet" href="dashboard.css">';
const SCRIPT_TAG = '<script type="module" src="dashboard.js"></script>';

export interface DashboardPage {
  /** index.html with the style and script inlined: one self-contained response, nothing else to fetch. */
  readonly html: string;
  /** Allows exactly the page's own inline style and script (by hash) and its event stream. */
  readonly csp: string;
}

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Builds the page from its three files. */
export async function loadDashboardPage(): Promise<DashboardPage> {
  const read = (file: string) => readFile(new URL(file, DASHBOARD_DIR), 'utf8');
  const [html, style, script] = await Promise.all([read('index.html'), read('dashboard.css'), read('dashboard.js')]);
  if (!html.includes(STYLE_TAG) || !html.includes(SCRIPT_TAG)) {
    throw new Error(`dashboard/index.html must reference dashboard.css and dashboard.js as ${STYLE_TAG} ${SCRIPT_TAG}`);
  }
  if (/<\/(style|script)/i.test(style + script)) throw new Error('dashboard.css/js may not contain a closing tag');
  return {
    html: html
      .replace(STYLE_TAG, () => `<style>${style}</style>`)
      .replace(SCRIPT_TAG, () => `<script type="module">${script}</script>`),
    csp: [
      "default-src 'none'",
      `script-src ${hash(script)}`,
      `style-src ${hash(style)}`,
      "connect-src 'self'",
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  };
}
