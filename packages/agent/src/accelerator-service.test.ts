import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Accelerator } from '@ferry/protocol';
import { acceleratorHandlers } from './accelerator-service.js';

describe('acceleratorHandlers', () => {
  it('has exactly one handler per ferry.v1.Accelerator method', () => {
    assert.deepEqual(
      acceleratorHandlers.map((h) => h.method.name).sort(),
      Accelerator.methods.map((m) => m.name).sort(),
    );
  });

  it('declares the model-running methods, whose successful calls the metrics count as inferences', () => {
    assert.deepEqual(
      acceleratorHandlers
        .filter((h) => h.runsModel)
        .map((h) => h.method.name)
        .sort(),
      ['Classify', 'Detect', 'Infer', 'Ocr'],
    );
  });
});
