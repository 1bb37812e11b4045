import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, type NumericTensor, tensor } from '@ferry/core';
import { ModelTask, parseModelConfig } from '@ferry/vision';
import sharp from 'sharp';
import type { OpRequest } from './vision-messages.js';
import { VisionWorkers } from './vision-workers.js';

const limits = { maxImageBytes: 1 << 20, maxImagePixels: 1 << 20 };
const config = parseModelConfig({
  task: ModelTask.classify,
  labels: ['dark', 'light'],
  preprocess: { resize: 'stretch', width: 4, height: 4, mean: [0, 0, 0], std: [1, 1, 1], scale: 1 / 255 },
  postprocess: { topK: 2 },
});

async function grey(level: number): Promise<Uint8Array> {
  const image = sharp({ create: { width: 8, height: 8, channels: 3, background: { r: level, g: level, b: level } } });
  return new Uint8Array(await image.png().toBuffer());
}

/** The "model" of these tests runs here, on the main thread, as the agent's scheduler would: mean brightness. */
function brightness(input: NumericTensor) {
  const values = new Float32Array(input.data.slice().buffer);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Promise.resolve(tensor('float32', [1, 2], [1 - mean, mean]));
}

describe('VisionWorkers', () => {
  it('decodes and post-processes on a worker while the model runs on the calling thread', async (t) => {
    const workers = new VisionWorkers({ size: 2, limits });
    t.after(() => workers.close());
    const request = (image: Uint8Array): OpRequest => ({ op: 'classify', image, model: { config }, topK: 1 });
    const [dark, light] = await Promise.all([
      workers.run(request(await grey(20)), (_role, input) => brightness(input)),
      workers.run(request(await grey(230)), (_role, input) => brightness(input)),
    ]);
    assert.deepEqual(
      (dark as { label: string }[]).map((r) => r.label),
      ['dark'],
    );
    assert.deepEqual(
      (light as { label: string }[]).map((r) => r.label),
      ['light'],
    );
  });

  it('fails the ops of a crashed worker at once with UNAVAILABLE, and serves the next op on a new one', async (t) => {
    const workers = new VisionWorkers({ size: 1, limits });
    t.after(() => workers.close());
    let started: () => void = () => {};
    const modelStarted = new Promise<void>((resolve) => (started = resolve));
    // A model run that never ends: the op can only finish by failing.
    const stuck = workers.run({ op: 'classify', image: await grey(20), model: { config }, topK: 1 }, () => {
      started();
      return new Promise(() => {});
    });
    await modelStarted;
    assert.deepEqual(workers.inflight, [1]);
    await workers.crash(0);
    await assert.rejects(stuck, (e: { code: number; reason: string }) => {
      return e.code === Code.UNAVAILABLE && e.reason === 'VISION_WORKER_CRASHED';
    });
    assert.deepEqual(workers.inflight, [0]);
    const after = await workers.run({ op: 'classify', image: await grey(230), model: { config }, topK: 1 }, (_r, i) =>
      brightness(i),
    );
    assert.equal((after as { label: string }[])[0]?.label, 'light');
  });

  it('stops a worker that makes no progress past its watchdog: its ops fail UNAVAILABLE (WORKER_HUNG)', async (t) => {
    const workers = new VisionWorkers({ size: 1, limits, watchdogMs: 200 });
    t.after(() => workers.close());
    const request = (image: Uint8Array): OpRequest => ({ op: 'classify', image, model: { config }, topK: 1 });
    // Start the worker, then make it spin: the op behind the spin can only fail.
    await workers.run(request(await grey(20)), (_r, i) => brightness(i));
    workers.hang(0);
    await assert.rejects(
      workers.run(request(await grey(20)), (_r, i) => brightness(i)),
      {
        code: Code.UNAVAILABLE,
        reason: 'WORKER_HUNG',
      },
    );
    const after = await workers.run(request(await grey(230)), (_r, i) => brightness(i));
    assert.equal((after as { label: string }[])[0]?.label, 'light', 'a fresh worker serves the next op');
  });

  it('answers a bad image from the worker with the image error, and an aborted op with CANCELLED', async (t) => {
    const workers = new VisionWorkers({ size: 1, limits });
    t.after(() => workers.close());
    await assert.rejects(
      workers.run({ op: 'classify', image: new Uint8Array([1, 2, 3]), model: { config }, topK: 1 }, (_r, i) =>
        brightness(i),
      ),
      { reason: 'IMAGE_UNDECODABLE' },
    );
    const controller = new AbortController();
    const op = workers.run(
      { op: 'classify', image: await grey(20), model: { config }, topK: 1 },
      () => new Promise(() => {}),
      { signal: controller.signal },
    );
    controller.abort();
    await assert.rejects(op, { code: Code.CANCELLED });
  });
});
