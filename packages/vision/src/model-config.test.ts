import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '@ferry/core';
import { builtinModels } from './builtin-models.js';
import { parseModelConfig } from './model-config.js';

const invalid = (field: string) => (e: { code: number; reason: string; message: string }) =>
  e.code === Code.FAILED_PRECONDITION && e.reason === 'MODEL_CONFIG_INVALID' && e.message.includes(field);

describe('parseModelConfig()', () => {
  it('fills in defaults for a minimal classifier', () => {
    const config = parseModelConfig({
      task: 'classify',
      labels: 'labels.txt',
      preprocess: { width: 224, height: 224 },
    });
    assert.deepEqual(config, {
      task: 'classify',
      labelsFile: 'labels.txt',
      preprocess: {
        resize: 'stretch',
        width: 224,
        height: 224,
        shorterSide: 256,
        multipleOf: 1,
        mean: [0, 0, 0],
        std: [1, 1, 1],
        scale: 1 / 255,
        layout: 'NCHW',
        channels: 'RGB',
        dtype: 'float32',
      },
      postprocess: {
        softmax: false,
        topK: 5,
        threshold: 0,
        boxThreshold: 0.6,
        unclipRatio: 1.5,
        maxCandidates: 1000,
        spaceChar: false,
      },
    });
  });

  it('keeps every given field and inline labels', () => {
    const config = parseModelConfig({
      task: 'ocr-det',
      labels: ['text'],
      input: 'x',
      output: 'maps',
      preprocess: {
        width: 960,
        height: 960,
        resize: 'limit-side',
        multipleOf: 32,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        scale: 0.00392156862745098,
        layout: 'NHWC',
        channels: 'BGR',
        dtype: 'float32',
      },
      postprocess: { threshold: 0.25, boxThreshold: 0.5, unclipRatio: 2, maxCandidates: 50 },
    });
    assert.deepEqual(config.labels, ['text']);
    assert.equal(config.input, 'x');
    assert.equal(config.output, 'maps');
    assert.equal(config.preprocess?.layout, 'NHWC');
    assert.equal(config.preprocess?.channels, 'BGR');
    assert.equal(config.preprocess?.multipleOf, 32);
    assert.deepEqual(config.postprocess, {
      softmax: false,
      topK: 5,
      threshold: 0.25,
      boxThreshold: 0.5,
      unclipRatio: 2,
      maxCandidates: 50,
      spaceChar: false,
    });
  });

  it('accepts a generic model without preprocessing, and an absent task as generic', () => {
    const config = parseModelConfig({});
    assert.equal(config.task, 'generic');
    assert.equal(config.preprocess, undefined);
    assert.equal(config.batching, undefined, 'no batching field: the agent default applies');
  });

  it('reads batching as false, true, or an object of overrides', () => {
    assert.deepEqual(parseModelConfig({ batching: false }).batching, { enabled: false });
    assert.deepEqual(parseModelConfig({ batching: true }).batching, { enabled: true });
    assert.deepEqual(parseModelConfig({ batching: { maxBatch: 16, maxQueueDelayUs: 500 } }).batching, {
      enabled: true,
      maxBatch: 16,
      maxQueueDelayUs: 500,
    });
    assert.deepEqual(parseModelConfig({ batching: { maxQueueDelayUs: 0 } }).batching, {
      enabled: true,
      maxQueueDelayUs: 0,
    });
  });

  it('throws FAILED_PRECONDITION MODEL_CONFIG_INVALID naming the field and the source', () => {
    const cases: [unknown, string][] = [
      [null, 'must be an object'],
      [[], 'must be an object'],
      [{ task: 'segment' }, 'task must be one of'],
      // Detection is text detection (ocr-det): no task promises a generic object detector.
      [{ task: 'detect' }, 'task must be one of classify, ocr-det, ocr-rec, ocr-cls, generic'],
      [{ task: 'classify' }, 'needs a preprocess section'],
      [{ preprocess: { height: 10 } }, 'preprocess.width is required'],
      [{ preprocess: { width: 0, height: 10 } }, 'preprocess.width must be an integer'],
      [{ preprocess: { width: 10.5, height: 10 } }, 'preprocess.width must be an integer'],
      [{ preprocess: { width: 10, height: 10, mean: [1, 2] } }, 'preprocess.mean must be a list of 3 numbers'],
      [{ preprocess: { width: 10, height: 10, std: [1, 0, 1] } }, 'preprocess.std must not contain 0'],
      [{ preprocess: { width: 10, height: 10, layout: 'CHW' } }, 'preprocess.layout must be one of NCHW, NHWC'],
      [{ preprocess: { width: 10, height: 10, dtype: 'float16' } }, 'preprocess.dtype must be one of float32'],
      [{ preprocess: { width: 10, height: 10, resize: 'crop' } }, 'preprocess.resize must be one of'],
      [{ preprocess: { width: 10, height: 10, mena: [0, 0, 0] } }, 'unknown field "preprocess.mena"'],
      [
        { preprocess: { width: 224, height: 224, resize: 'shorter-side+center-crop', shorterSide: 200 } },
        'shorterSide must be at least',
      ],
      [{ postprocess: { topK: -1 } }, 'postprocess.topK'],
      [{ postprocess: { threshold: 2 } }, 'postprocess.threshold must be a number in [0, 1]'],
      [{ postprocess: { softmax: 'yes' } }, 'postprocess.softmax must be true or false'],
      [{ labels: '../../etc/passwd' }, 'labels must name a file beside the model'],
      [{ labels: '/etc/passwd' }, 'labels must name a file beside the model'],
      [{ labels: ['a', 1] }, 'labels must be a list of strings'],
      [{ input: '' }, 'input must be a non-empty tensor name'],
      [{ extra: true }, 'unknown field "extra"'],
      [{ batching: 'yes' }, 'batching (false, true or an object) must be an object'],
      [{ batching: { maxBatch: 0 } }, 'batching.maxBatch must be an integer in [1, 1024]'],
      [{ batching: { maxQueueDelayUs: -1 } }, 'batching.maxQueueDelayUs must be an integer'],
      [{ batching: { size: 4 } }, 'unknown field "batching.size"'],
    ];
    for (const [json, field] of cases) {
      assert.throws(() => parseModelConfig(json, { source: 'm/ferry.json' }), invalid(field), JSON.stringify(json));
      assert.throws(() => parseModelConfig(json, { source: 'm/ferry.json' }), /m\/ferry\.json: /);
    }
  });
});

describe('builtinModels()', () => {
  it('describes the PP-OCR det, rec and cls models with their PaddleOCR preprocessing', () => {
    const models = builtinModels('/models');
    assert.deepEqual(
      models.map((m) => [m.name, m.modelPath, m.labelsPath, m.config.task]),
      [
        ['ppocr-det', '/models/ch_PP-OCRv4_det_infer.onnx', undefined, 'ocr-det'],
        ['ppocr-rec', '/models/ch_PP-OCRv4_rec_infer.onnx', '/models/ppocr_keys_v1.txt', 'ocr-rec'],
        ['ppocr-cls', '/models/ch_ppocr_mobile_v2.0_cls_infer.onnx', undefined, 'ocr-cls'],
      ],
    );
    const [det, rec, cls] = models.map((m) => m.config);
    assert.deepEqual(
      [det?.preprocess?.resize, det?.preprocess?.width, det?.preprocess?.multipleOf, det?.preprocess?.channels],
      ['limit-side', 960, 32, 'BGR'],
    );
    assert.deepEqual(det?.preprocess?.mean, [0.485, 0.456, 0.406]);
    assert.deepEqual(det?.preprocess?.std, [0.229, 0.224, 0.225]);
    assert.deepEqual(
      [det?.postprocess.threshold, det?.postprocess.boxThreshold, det?.postprocess.unclipRatio],
      [0.3, 0.6, 1.5],
    );
    assert.deepEqual(
      [rec?.preprocess?.height, rec?.preprocess?.width, rec?.preprocess?.resize],
      [48, 320, 'fit-height'],
    );
    assert.deepEqual(
      [rec?.preprocess?.mean, rec?.preprocess?.std],
      [
        [0.5, 0.5, 0.5],
        [0.5, 0.5, 0.5],
      ],
    );
    assert.equal(rec?.postprocess.spaceChar, true);
    assert.deepEqual([cls?.preprocess?.height, cls?.preprocess?.width, cls?.labels], [48, 192, ['0', '180']]);
    assert.equal(cls?.postprocess.threshold, 0.9);
  });
});
