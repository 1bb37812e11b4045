import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createAgent } from '@ferry/agent';
import { createAdminServer } from '@ferry/agent/admin';
import { createNoopBackend } from '@ferry/backend-noop';
import { createOnnxRuntimeBackend } from '@ferry/backend-onnxruntime';
import { registryOf } from '@ferry/core/testing';
import { chromium, type Page } from 'playwright-core';
import { client, tempDir } from '../support/fixtures.js';
import { mixedInputs, mixedModel } from '../support/models.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../.artifacts/', import.meta.url));
const TENANTS = ['sbx-alpha', 'sbx-beta', 'sbx-gamma'] as const;

// The browser-side callbacks below get their elements untyped: this project type-checks for Node, without
// the DOM library (adding it would retype fetch and streams for every other test).

/** The little of the DOM the waits below read. */
interface PageDocument {
  querySelectorAll(selector: string): { readonly length: number };
  querySelector(selector: string): { readonly textContent: string | null } | null;
}
type WithDocument = { readonly document: PageDocument };

interface ChartState {
  readonly pixels: string;
  readonly ymax: number;
  readonly points: number;
  readonly series: string;
}

/** What a chart shows now: its pixels, and what it says it drew. */
const chart = (page: Page, id: string): Promise<ChartState> =>
  page.locator(`#${id}`).evaluate((canvas) => ({
    pixels: canvas.toDataURL(),
    ymax: Number(canvas.dataset.ymax),
    points: Number(canvas.dataset.points),
    series: canvas.dataset.series ?? '',
  }));

const charts = async (page: Page) => ({
  rps: await chart(page, 'chart-rps'),
  latency: await chart(page, 'chart-latency'),
});

const tenantRows = (page: Page) =>
  page.locator('#tenants-body tr[data-tenant]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-tenant')));

const cell = async (page: Page, tenant: string, column: string) =>
  (await page.locator(`#tenants-body tr[data-tenant="${tenant}"] td.${column}`).textContent()) ?? '';

describe('agent dashboard in a real browser', () => {
  it('lists the tenants and follows live traffic in its numbers and charts', async (t) => {
    assert.ok(
      existsSync(CHROMIUM),
      `The dashboard test needs Chromium at ${CHROMIUM} (Debian: apt-get install chromium); CI installs it.`,
    );
    const dir = await tempDir(t);
    const agent = await createAgent({
      backends: registryOf(createNoopBackend(), createOnnxRuntimeBackend()),
      listen: TENANTS.map((tenant) => ({ address: `unix://${join(dir, `${tenant}.sock`)}`, tenant })),
    });
    t.after(() => agent.destroy());
    const admin = await createAdminServer({ agent, sampleIntervalMs: 100 });
    t.after(() => admin.destroy());

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    t.after(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console: ${message.text()}`);
    });
    page.on('request', (request) => {
      if (!request.url().startsWith(admin.address)) problems.push(`request elsewhere: ${request.url()}`);
    });

    await page.goto(`${admin.address}/`);
    await page.waitForSelector('#live.live');
    await page.waitForFunction(
      (n) =>
        (globalThis as unknown as WithDocument).document.querySelectorAll('#tenants-body tr[data-tenant]').length === n,
      TENANTS.length,
    );
    assert.deepEqual(await tenantRows(page), [...TENANTS], 'every listener is a row, by name');
    for (const tenant of TENANTS) assert.equal(await cell(page, tenant, 'requests'), '0');
    assert.equal((await page.locator('#ready').textContent())?.trim(), 'ready');
    const before = await charts(page);
    assert.equal(before.rps.ymax, 0, 'no traffic drawn yet');
    assert.equal(before.latency.points, 0);

    // Traffic of changing shape, until the dashboard has taken 40 samples of it.
    const [alpha, beta, gamma] = agent.listeners.map((l) => client(t, { address: l.address }));
    assert.ok(alpha && beta && gamma);
    const session = await beta.createSession();
    const { modelId } = await beta.registerModel(session, { bytes: mixedModel(), backend: 'onnxruntime' });
    const sent = { 'sbx-alpha': 0, 'sbx-beta': 2, 'sbx-gamma': 0 };
    const failed = { 'sbx-alpha': 0, 'sbx-beta': 0, 'sbx-gamma': 0 };
    const samplesAt = async () => Number(await page.locator('body').getAttribute('data-samples'));
    const start = await samplesAt();
    for (let round = 0; (await samplesAt()) < start + 40; round++) {
      const alphaCalls = 12 + Math.round(10 * Math.sin(round / 4));
      const betaCalls = 2 + (round % 4);
      const gammaCalls = round % 10 < 5 ? 6 : 1;
      await Promise.all([
        ...Array.from({ length: alphaCalls }, () => alpha.noop(new Uint8Array(64))),
        ...Array.from({ length: betaCalls }, (_, k) => beta.infer(modelId, mixedInputs(round + k, 1 + (k % 4)))),
        ...Array.from({ length: gammaCalls }, () => gamma.noop(new Uint8Array(1024))),
        round % 6 === 0 ? gamma.infer(999, mixedInputs(1)).catch(() => failed['sbx-gamma']++) : undefined,
      ]);
      sent['sbx-alpha'] += alphaCalls;
      sent['sbx-beta'] += betaCalls;
      sent['sbx-gamma'] += gammaCalls + (round % 6 === 0 ? 1 : 0);
    }
    assert.ok(failed['sbx-gamma'] > 0);

    // The table catches up with every call, exactly.
    const expected = Object.fromEntries(Object.entries(sent).map(([tenant, n]) => [tenant, n.toLocaleString('en-US')]));
    await page.waitForFunction(
      (want) =>
        Object.entries(want).every(
          ([tenant, n]) =>
            (globalThis as unknown as WithDocument).document.querySelector(
              `#tenants-body tr[data-tenant="${tenant}"] td.requests`,
            )?.textContent === n,
        ),
      expected,
    );
    assert.equal(await cell(page, 'sbx-gamma', 'failures'), String(failed['sbx-gamma']));
    assert.equal(await cell(page, 'sbx-beta', 'sessions'), '1');
    assert.equal(await cell(page, 'sbx-beta', 'models'), '1');
    // The models table gives beta's model the mean rows of the runs its calls ran in (1–4 rows each).
    const batch = Number(await page.locator('#models-body tr td:nth-child(4)').first().textContent());
    assert.ok(batch >= 1 && batch <= 16, `mean batch ${batch}`);
    for (const tenant of TENANTS) {
      assert.ok(Number.parseFloat(await cell(page, tenant, 'requestRate')) > 0, `${tenant} req/s`);
      assert.match(await cell(page, tenant, 'p99Ms'), /^\d+(\.\d+)? (µs|ms|s)$/, `${tenant} p99`);
    }
    const total = Object.values(sent).reduce((a, b) => a + b, 0);
    assert.equal(await page.locator('#c-requests .value').textContent(), total.toLocaleString('en-US'));

    // The charts were redrawn with the traffic, every tenant among their series.
    const after = await charts(page);
    assert.notEqual(after.rps.pixels, before.rps.pixels);
    assert.notEqual(after.latency.pixels, before.latency.pixels);
    assert.ok(after.rps.ymax > 0, `throughput drawn up to ${after.rps.ymax} req/s`);
    assert.ok(after.latency.points > 40, `latency points drawn: ${after.latency.points}`);
    assert.deepEqual(after.rps.series.split(',').sort(), ['errors', 'total', ...TENANTS].sort());

    // Sorting by req/s puts the busiest tenant first.
    await page.click('#tenants-head th[data-key="requestRate"]');
    assert.equal((await tenantRows(page))[0], 'sbx-alpha');
    await page.click('#tenants-head th[data-key="name"]');

    // At a 1400 px window the tenants table fits its panel, or scrolls sideways to its last column.
    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.waitForFunction(() => (globalThis as unknown as { innerWidth: number }).innerWidth === 1400);
    const fit = await page.locator('#tenants-scroll').evaluate((scroller) => {
      const last = scroller.querySelector('th:last-child');
      if (!last) return { found: false, fits: false, reachable: false, detail: '' };
      const box = scroller.getBoundingClientRect();
      const fits = last.getBoundingClientRect().right <= box.right + 1;
      scroller.scrollLeft = scroller.scrollWidth;
      const after = last.getBoundingClientRect();
      const reachable = after.left >= box.left - 0.5 && after.right <= box.right + 1;
      const overflowX = scroller.ownerDocument.defaultView?.getComputedStyle(scroller).overflowX;
      const detail = `panel ${box.left}..${box.right}, last column ${after.left}..${after.right}, overflow-x ${overflowX}, width ${scroller.clientWidth} of ${scroller.scrollWidth}`;
      scroller.scrollLeft = 0;
      return { found: true, fits, reachable: reachable && (overflowX === 'auto' || overflowX === 'scroll'), detail };
    });
    assert.ok(fit.found, 'the tenants table has a header row');
    assert.ok(
      fit.fits || fit.reachable,
      `the last column is visible, or reachable by scrolling the table: ${fit.detail}`,
    );
    const pageWidth = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
          .scrollWidth,
    );
    assert.ok(pageWidth <= 1400, `the page itself does not scroll sideways (${pageWidth} px)`);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });
});
