import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tensor } from '@ferry/core';
import { tensorFromProto, tensorToProto } from '@ferry/onnx';
import { runFerry, spawnAgent } from '../support/cli.js';
import { tempDir } from '../support/fixtures.js';
import { mixedExpected, mixedInputs, mixedModel } from '../support/models.js';

/** An ONNX backend-test directory: model.onnx and test_data_set_N/{input,output}_i.pb. */
async function conformanceDir(dir: string, seeds: readonly number[], corrupt = false): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), mixedModel());
  for (const [n, seed] of seeds.entries()) {
    const set = join(dir, `test_data_set_${n}`);
    await mkdir(set);
    const inputs = mixedInputs(seed, 2);
    for (const [i, [name, t]] of Object.entries(inputs).entries()) {
      await writeFile(join(set, `input_${i}.pb`), tensorToProto(name, t));
    }
    const expected = mixedExpected(inputs);
    if (corrupt) expected.n = tensor('int64', [2], new BigInt64Array([0n, 0n]));
    for (const [i, [name, t]] of Object.entries(expected).entries()) {
      await writeFile(join(set, `output_${i}.pb`), tensorToProto(name, t));
    }
  }
}

describe('ferry CLI', () => {
  it('serves `ferry infer` and `ferry conformance` from `ferry agent`, and stops cleanly on SIGTERM', async (t) => {
    const dir = await tempDir(t);
    await conformanceDir(join(dir, 'models', 'mixed'), [1, 2]);
    await conformanceDir(join(dir, 'good'), [3, 4, 5]);
    await conformanceDir(join(dir, 'bad'), [6], true);
    const address = `unix://${join(dir, 'agent.sock')}`;
    const agent = await spawnAgent(t, ['--listen', address, '--model-dir', join(dir, 'models')]);

    // By file, with name=path inputs, writing output_<i>.pb.
    const set = join(dir, 'models', 'mixed', 'test_data_set_0');
    const names = ['x', 'i', 'flag', 'label', 'px'];
    const inputArgs = names.flatMap((name, i) => ['--input', `${name}=${join(set, `input_${i}.pb`)}`]);
    const out = join(dir, 'out');
    const byFile = await runFerry([
      'infer',
      '--address',
      address,
      '--model',
      join(dir, 'models', 'mixed', 'model.onnx'),
      ...inputArgs,
      '--out',
      out,
    ]);
    assert.equal(byFile.code, 0, byFile.stderr);
    const expected = mixedExpected(mixedInputs(1, 2));
    for (const [i, name] of ['f', 'n', 'g', 'h', 's', 'u'].entries()) {
      const { name: got, tensor: value } = tensorFromProto(new Uint8Array(await readFile(join(out, `output_${i}.pb`))));
      assert.equal(got, name);
      assert.deepEqual(value, expected[name]);
    }
    assert.match(byFile.stdout, /^n int64\[2\] 37 40$/m);

    // By name from the model directory, inputs named by their TensorProto, JSON out.
    const byName = await runFerry(
      ['infer', '--model', 'mixed', '--json', ...names.map((_, i) => `--input=${join(set, `input_${i}.pb`)}`)],
      { FERRY_ADDRESS: address },
    );
    assert.equal(byName.code, 0, byName.stderr);
    const json = JSON.parse(byName.stdout);
    assert.deepEqual(json.outputs.find((o: { name: string }) => o.name === 'n').values, [37, 40]);
    assert.equal(json.model.reused, true, 'the first infer loaded these bytes; the idle model stayed warm');

    // A name that tries to leave the model directory.
    const escaped = await runFerry(['infer', '--address', address, '--model', '../agent.sock']);
    assert.equal(escaped.code, 2);
    assert.match(escaped.stderr, /Invalid model name/);

    const conformance = await runFerry([
      'conformance',
      '--address',
      address,
      '--json',
      join(dir, 'good'),
      join(dir, 'bad'),
    ]);
    assert.equal(conformance.code, 1, 'one failing case fails the run');
    const report = JSON.parse(conformance.stdout);
    assert.equal(report.passed, 3);
    assert.equal(report.failed, 1);
    assert.deepEqual(
      report.cases.map((c: { dataSet: string; ok: boolean }) => [c.dataSet, c.ok]),
      [
        ['test_data_set_0', true],
        ['test_data_set_1', true],
        ['test_data_set_2', true],
        ['test_data_set_0', false],
      ],
    );
    assert.match(report.cases[3].error, /n\[0\]: 187, expected 0/);

    const text = await runFerry(['conformance', '--address', address, join(dir, 'good')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^PASS .*good test_data_set_2$/m);
    assert.match(text.stdout, /^3 passed, 0 failed$/m);

    agent.kill('SIGTERM');
    const [code] = await once(agent, 'close');
    assert.equal(code, 0, agent.stderrText());
    assert.match(agent.stderrText(), /"msg":"closed"/);
  });

  it('runs the same commands in-process with --address local:', async (t) => {
    const dir = await tempDir(t);
    await conformanceDir(join(dir, 'case'), [7]);
    const result = await runFerry(['conformance', '--address', 'local:', '--json', join(dir, 'case')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      passed: 1,
      failed: 0,
      cases: [{ dir: join(dir, 'case'), dataSet: 'test_data_set_0', ok: true }],
    });
  });

  it('names the address when no agent answers, and explains bad usage', async (t) => {
    const dir = await tempDir(t);
    const address = `unix://${join(dir, 'none.sock')}`;
    const down = await runFerry(['infer', '--address', address, '--model', 'x']);
    assert.equal(down.code, 1);
    assert.ok(down.stderr.includes(`[unavailable] Cannot connect to ${address}`), down.stderr);
    const usage = await runFerry(['agent', '--tenant', 'sbx-1']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--tenant names the tenant of exactly one --listen address/);
    const unknown = await runFerry(['infer', '--address', address, '--bogus']);
    assert.equal(unknown.code, 2);
    const help = await runFerry(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /ferry conformance --address <address> <dir>/);
  });
});
