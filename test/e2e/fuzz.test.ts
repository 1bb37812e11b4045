import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fuzzAgent } from '../../bench/fuzz-agent.js';
import { spawnAgent } from '../support/cli.js';
import { tempDir } from '../support/fixtures.js';

describe('fuzzing a live agent (short form of `npm run fuzz`)', () => {
  it('keeps the agent alive and the good tenant served 100 % under random and mutated frames', async (t) => {
    const dir = await tempDir(t);
    const fuzzPath = join(dir, 'fuzz.sock');
    const goodPath = join(dir, 'good.sock');
    const agent = await spawnAgent(t, [
      '--listen',
      `unix://${fuzzPath}`,
      '--listen',
      `unix://${goodPath}`,
      '--limit',
      'maxFrameStallMs=500',
      '--log-level',
      'error',
    ]);
    const report = await fuzzAgent({
      pid: agent.pid as number,
      fuzzPath,
      goodAddress: `unix://${goodPath}`,
      frames: 800,
      seconds: 8,
      connections: 4,
    });
    assert.ok(report.agentAlive, 'the agent survived');
    assert.equal(agent.exitCode, null);
    assert.ok(report.framesSent > 0);
    assert.ok(report.good.calls > 0, 'the good tenant kept calling');
    assert.deepEqual(
      { wrong: report.good.wrong, errors: report.good.errors, ok: report.good.ok },
      { wrong: 0, errors: 0, ok: report.good.calls },
      report.firstGoodFailure,
    );
    assert.ok(report.peakRssBytes < 1024 ** 3, `agent peak RSS ${report.peakRssBytes} bytes`);
  });
});
