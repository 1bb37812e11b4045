import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AdminStatus } from '@ferry/agent/admin';
import { spawnAgent } from '../support/cli.js';
import { tempDir } from '../support/fixtures.js';

describe('ferry agent --execution-provider cuda', () => {
  it('falls back to the CPU when CUDA does not load, and says so in stderr, /api/status and /metrics', async (t) => {
    const dir = await tempDir(t);
    const agent = await spawnAgent(t, [
      '--listen',
      `unix://${join(dir, 'agent.sock')}`,
      '--execution-provider',
      'cuda',
      '--execution-provider',
      'cpu',
      '--admin',
      '127.0.0.1:0',
    ]);
    const admin = await new Promise<string>((resolve) => {
      let out = '';
      agent.stdout?.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.includes('"event":"admin"'));
        if (line) resolve((JSON.parse(line) as { url: string }).url);
      });
    });
    const status = (await (await fetch(`${admin}/api/status`)).json()) as AdminStatus;
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    if (status.backends.default === 'onnxruntime-cuda') {
      // A machine with a working CUDA: nothing to fall back from.
      assert.deepEqual(status.backends.fallbacks, []);
      assert.doesNotMatch(metrics, /^ferry_backend_fallback\{/m);
      return;
    }
    assert.equal(status.backends.default, 'onnxruntime');
    assert.deepEqual(
      status.backends.fallbacks.map((f) => f.backend),
      ['onnxruntime-cuda'],
    );
    assert.match(status.backends.fallbacks[0]?.reason ?? '', /\S/);
    assert.deepEqual(status.backends.available, ['onnxruntime', 'noop']);
    assert.match(metrics, /^ferry_backend_fallback\{backend="onnxruntime-cuda",using="onnxruntime"\} 1$/m);
    const warning = agent
      .stderrText()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; backend?: string; using?: string })
      .find((l) => l.backend === 'onnxruntime-cuda');
    assert.equal(warning?.level, 40);
    assert.equal(warning?.using, 'onnxruntime');
  });
});
