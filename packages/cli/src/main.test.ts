import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Io } from './io.js';
import { COMMANDS, main } from './main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (line) => (out += `${line}\n`), err: (line) => (err += `${line}\n`) };
  const code = await main(argv, io, {});
  return { code, out, err };
}

describe('main()', () => {
  it('lists every command with its usage line under --help', async () => {
    const { code, out } = await run(['--help']);
    assert.equal(code, 0);
    assert.ok(COMMANDS.length >= 9);
    for (const command of COMMANDS) {
      assert.ok(out.includes(`ferry ${command.name} ${command.synopsis}`), command.name);
      const line = out.split('\n').find((l) => l.startsWith(`  ${command.name} `) && l.endsWith(command.summary));
      assert.ok(line, `${command.name}: summary line`);
    }
  });

  it("prints a command's own help with each of its flags", async () => {
    const { code, out } = await run(['infer', '--help']);
    assert.equal(code, 0);
    assert.match(out, /^ferry infer — run one inference/);
    for (const flag of [
      '--address <address>',
      '--model <file.onnx|name>',
      '--input',
      '--out <dir>',
      '--json',
      '--timeout-ms <n>',
    ]) {
      assert.ok(out.includes(flag), flag);
    }
  });

  it('exits 2 with a pointer to --help on bad usage', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /Unknown command "frobnicate"/],
      [['infer', '--address', 'local:'], /--model is required/],
      [['infer', '--bogus'], /Unknown option '--bogus'/],
      [['models', 'frob'], /models needs list, describe, load, unload/],
      [['models', 'load'], /models load needs a model name/],
      [['classify', 'a.png'], /classify needs --model/],
      [['ocr'], /ocr needs at least one image/],
      [['agent', '--listen', 'unix:///x.sock', 'extra'], /unexpected argument "extra"/],
      [['agent', '--listen', 'unix:///x.sock', '--limit', 'nope=1'], /--limit takes name=value/],
      [['agent', '--listen', 'unix:///x.sock', '--admin', 'nowhere'], /--admin must be host:port/],
      [['serve', '--port', '99999'], /--port must be 0\.\.65535/],
      [['demo', '--tenants', '0'], /--tenants must be a positive integer/],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await run(argv);
      assert.equal(code, 2, argv.join(' '));
      assert.match(err, message);
      if (argv[0] !== 'frobnicate') assert.match(err, new RegExp(`Run "ferry ${argv[0]} --help" for usage`));
    }
  });
});
