import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadAgent } from '../../bench/load-agent.js';
import { spawnAgent } from '../support/cli.js';
import { tempDir } from '../support/fixtures.js';
import { renderText } from '../support/images.js';

// The full size (32 tenants × 2,000 calls) is `npm run load`; this is its bounded form for the test suite.
describe('load: 32 tenants at once (short form of `npm run load`)', () => {
  it('answers every mixed call (noop, infer, ocr, bad inputs) with the right result or error, none mis-routed', async (t) => {
    const dir = await tempDir(t);
    const addresses = Array.from({ length: 32 }, (_, i) => `unix://${join(dir, `t${i}.sock`)}`);
    const agent = await spawnAgent(t, [...addresses.flatMap((a) => ['--listen', a]), '--log-level', 'error']);
    // OCR is the costly op on this 2-core machine: one tenant in four sends images.
    const images = await Promise.all(
      addresses.map((_, i) => (i % 4 === 0 ? renderText([`FERRY ${100 + i}`]) : undefined)),
    );
    const report = await loadAgent({
      pid: agent.pid as number,
      addresses,
      callsPerTenant: 48,
      images,
      ocrEvery: 48,
    });
    assert.equal(report.calls, 32 * 48);
    assert.deepEqual({ wrong: report.wrong, right: report.right }, { wrong: 0, right: 32 * 48 }, report.firstWrong);
    for (const kind of ['noop', 'infer', 'ocr', 'bad-dtype', 'unknown-model']) {
      assert.ok((report.byKind[kind] ?? 0) > 0, `some ${kind} calls ran`);
    }
    assert.ok(report.peakRssBytes < 1024 ** 3, `agent peak RSS ${report.peakRssBytes} bytes`);
    assert.equal(agent.exitCode, null);
  });
});
