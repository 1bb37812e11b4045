import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Code } from '@ferry/core';
import { colourClassifierModel } from '@ferry/onnx';
import { writeColourClassifier } from '../support/colour-classifier.js';
import { client, rejection, startAgent, tempDir } from '../support/fixtures.js';
import { renderText, solidImage } from '../support/images.js';

async function modelDir(t: import('node:test').TestContext): Promise<string> {
  const dir = join(await tempDir(t), 'models');
  await writeColourClassifier(dir, 'colour');
  await writeColourClassifier(dir, 'short-labels', { labels: ['red', 'green'] });
  return dir;
}

describe('vision ops through the agent', () => {
  it('reads rendered text exactly with ocr, upright and rotated 180°', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, { listen: [`unix://${join(dir, 'a.sock')}`] });
    const c = client(t, { address: agent.listeners[0]?.address as string });
    const upright = await c.ocr(await renderText(['FERRY 2048', 'hello world 42']));
    assert.deepEqual(
      upright.map((l) => l.text),
      ['FERRY 2048', 'hello world 42'],
    );
    assert.ok(upright.every((l) => l.angle === 0 && l.score > 0.8 && l.box.length === 4));
    const rotated = await c.ocr(await renderText(['FERRY 2048', 'hello world 42'], { rotate180: true }));
    assert.deepEqual(
      rotated.map((l) => [l.text, l.angle]),
      [
        ['hello world 42', 180],
        ['FERRY 2048', 180],
      ],
    );
    const boxes = await c.detect(await renderText(['FERRY 2048']));
    assert.equal(boxes.length, 1);
    assert.equal(boxes[0]?.label, 'text');
  });

  it('classifies with a classifier built in code, by its dominant colour', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, { listen: [`unix://${join(dir, 'a.sock')}`], modelDir: await modelDir(t) });
    const c = client(t, { address: agent.listeners[0]?.address as string });
    const cases = [
      [[220, 20, 30], 'png', 'red'],
      [[10, 200, 40], 'jpeg', 'green'],
      [[30, 40, 230], 'webp', 'blue'],
    ] as const;
    for (const [rgb, format, label] of cases) {
      const results = await c.classify(await solidImage(rgb, { format }), { model: 'colour' });
      assert.equal(results.length, 3);
      assert.equal(results[0]?.label, label, `${format} ${rgb}`);
      assert.ok(Math.abs(results.reduce((s, r) => s + r.score, 0) - 1) < 1e-5, 'softmax scores sum to 1');
    }
    const top1 = await c.classify(await solidImage([220, 20, 30]), { model: 'colour', topK: 1 });
    assert.deepEqual(
      top1.map((r) => [r.label, r.index]),
      [['red', 0]],
    );
  });

  it('lists, loads, describes and unloads repository models', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, { listen: [`unix://${join(dir, 'a.sock')}`], modelDir: await modelDir(t) });
    const c = client(t, { address: agent.listeners[0]?.address as string });
    const listed = await c.listModels();
    assert.deepEqual(
      listed.map((m) => [m.name, m.task, m.builtin, m.loaded]),
      [
        ['colour', 'classify', false, false],
        ['ppocr-cls', 'ocr-cls', true, false],
        ['ppocr-det', 'ocr-det', true, false],
        ['ppocr-rec', 'ocr-rec', true, false],
        ['short-labels', 'classify', false, false],
      ],
    );
    const loaded = await c.loadModel('colour');
    assert.equal(loaded.loaded, true);
    assert.equal(loaded.labels, 3);
    assert.deepEqual(loaded.inputs, [{ name: 'image', dtype: 'float32', shape: [1, 3, 32, 32] }]);
    assert.equal((await c.describeModel('ppocr-rec')).labels, 6624);
    await c.unloadModel('colour');
    assert.equal((await c.describeModel('colour')).loaded, false);
    assert.equal(agent.stats().models.loaded, 0);
    const notLoaded = await rejection(c.unloadModel('colour'));
    assert.equal(notLoaded.code, Code.FAILED_PRECONDITION);
  });

  it('answers bad images and bad models with clear errors, and keeps serving', async (t) => {
    const dir = await tempDir(t);
    const agent = await startAgent(t, {
      listen: [`unix://${join(dir, 'a.sock')}`],
      modelDir: await modelDir(t),
      limits: { maxImagePixels: 100_000, maxImageBytes: 200_000 },
    });
    const c = client(t, { address: agent.listeners[0]?.address as string });
    const png = await solidImage([200, 10, 10]);
    const huge = await solidImage([1, 2, 3], { width: 1000, height: 500 });
    const expectations: [() => Promise<unknown>, number, string][] = [
      [
        () => c.classify(new TextEncoder().encode('not an image at all'), { model: 'colour' }),
        Code.INVALID_ARGUMENT,
        'IMAGE_UNDECODABLE',
      ],
      [
        () => c.classify(png.subarray(0, png.length / 2), { model: 'colour' }),
        Code.INVALID_ARGUMENT,
        'IMAGE_UNDECODABLE',
      ],
      [() => c.classify(new Uint8Array(0), { model: 'colour' }), Code.INVALID_ARGUMENT, 'IMAGE_EMPTY'],
      [() => c.classify(huge, { model: 'colour' }), Code.INVALID_ARGUMENT, 'IMAGE_TOO_LARGE'],
      [() => c.classify(new Uint8Array(300_000), { model: 'colour' }), Code.INVALID_ARGUMENT, 'IMAGE_TOO_LARGE'],
      [() => c.classify(png, { model: 'no-such-model' }), Code.NOT_FOUND, 'MODEL_NOT_FOUND'],
      [() => c.classify(png, { model: '../etc' }), Code.INVALID_ARGUMENT, 'INVALID_MODEL_NAME'],
      [() => c.classify(png, { model: 'ppocr-det' }), Code.FAILED_PRECONDITION, 'TASK_MISMATCH'],
      [() => c.detect(png, { model: 'colour' }), Code.FAILED_PRECONDITION, 'TASK_MISMATCH'],
      [() => c.classify(png, { model: 'short-labels' }), Code.FAILED_PRECONDITION, 'LABELS_TOO_SHORT'],
    ];
    for (const [call, code, reason] of expectations) {
      const error = await rejection(call());
      assert.equal(error.code, code, `${reason}: ${error.message}`);
      assert.equal(error.reason, reason, error.message);
    }
    assert.equal((await c.classify(png, { model: 'colour' }))[0]?.label, 'red');
  });

  it('loads the same model bytes once for 64 tenants', async (t) => {
    const dir = await tempDir(t);
    const listen = Array.from({ length: 64 }, (_, i) => ({
      address: `unix://${join(dir, `t${i}.sock`)}`,
      tenant: `t${i}`,
    }));
    const agent = await startAgent(t, { listen });
    const results = await Promise.all(
      agent.listeners.map(async (l) => {
        const c = client(t, { address: l.address });
        const model = await c.registerModel(await c.createSession(), { bytes: colourClassifierModel() });
        return model.reused;
      }),
    );
    assert.equal(results.filter((reused) => !reused).length, 1);
    assert.deepEqual(agent.stats().models, { ...agent.stats().models, loaded: 1, loads: 1 });
    assert.equal(agent.stats().tenants.length, 64);
  });
});
