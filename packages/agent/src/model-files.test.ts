import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Code } from '@ferry/core';
import { ModelFiles, sha256Hex } from './model-files.js';

async function setup(t: import('node:test').TestContext) {
  const root = await mkdtemp(join(tmpdir(), 'fy-md-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'models');
  await mkdir(join(dir, 'resnet'), { recursive: true });
  await writeFile(join(dir, 'resnet', 'model.onnx'), 'resnet-bytes');
  await mkdir(join(dir, 'nested', 'v2'), { recursive: true });
  await writeFile(join(dir, 'nested', 'v2', 'tiny.onnx'), 'tiny');
  await writeFile(join(root, 'secret.onnx'), 'host secret');
  await mkdir(join(root, 'outside'));
  await writeFile(join(root, 'outside', 'model.onnx'), 'outside');
  await symlink(join(root, 'outside'), join(dir, 'escape'));
  await symlink(join(root, 'secret.onnx'), join(dir, 'secret.onnx'));
  await symlink(join(dir, 'resnet'), join(dir, 'alias'));
  return { root, dir };
}

describe('ModelFiles', () => {
  it('reads <name>/model.onnx and <path>.onnx, with their SHA-256', async (t) => {
    const { dir } = await setup(t);
    const models = new ModelFiles(dir, 1024);
    const resnet = await models.read('resnet');
    assert.equal(Buffer.from(resnet.bytes).toString(), 'resnet-bytes');
    assert.equal(resnet.sha256, sha256Hex(new TextEncoder().encode('resnet-bytes')));
    assert.equal(Buffer.from((await models.read('nested/v2/tiny.onnx')).bytes).toString(), 'tiny');
    // A symlink that stays inside the directory is fine.
    assert.equal((await models.read('alias')).sha256, resnet.sha256);
  });

  it('refuses names that could leave the directory', async (t) => {
    const { dir, root } = await setup(t);
    const models = new ModelFiles(dir, 1024);
    for (const name of [
      '..',
      '../secret.onnx',
      'resnet/../../secret.onnx',
      join(root, 'secret.onnx'),
      './resnet',
      '',
      'a\\b',
    ]) {
      const error = await models.read(name).then(
        () => assert.fail(`"${name}" was read`),
        (e) => e,
      );
      assert.equal(error.code, Code.INVALID_ARGUMENT, name);
      assert.equal(error.reason, 'INVALID_MODEL_NAME');
    }
    for (const name of ['escape', 'secret.onnx']) {
      const error = await models.read(name).then(
        () => assert.fail(`"${name}" was read`),
        (e) => e,
      );
      assert.equal(error.code, Code.PERMISSION_DENIED, name);
      assert.equal(error.reason, 'MODEL_OUTSIDE_DIRECTORY');
    }
  });

  it('answers NOT_FOUND for missing models and RESOURCE_EXHAUSTED for files over the limit', async (t) => {
    const { dir } = await setup(t);
    const missing = await new ModelFiles(dir, 1024).read('nope').catch((e) => e);
    assert.equal(missing.code, Code.NOT_FOUND);
    const big = await new ModelFiles(dir, 4).read('resnet').catch((e) => e);
    assert.equal(big.code, Code.RESOURCE_EXHAUSTED);
    assert.equal(big.reason, 'MODEL_TOO_LARGE');
  });
});
