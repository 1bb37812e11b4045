import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DemoImage } from './demo-assets.js';
import { checkClassify, checkInfer, checkOcr, demoRequest, KINDS } from './demo-checks.js';

const image = (expected: string[]): DemoImage => ({
  bytes: new Uint8Array([1]),
  contentType: 'image/png',
  expected,
});
const images = { texts: [image(['FERRY 2048'])], colours: [image(['red']), image(['green'])] };

describe('demoRequest()', () => {
  it('cycles through OCR, classification and infer with the path each function route expects', () => {
    const requests = Array.from({ length: 6 }, (_, i) => demoRequest(i, images));
    assert.deepEqual(
      requests.map((r) => r.kind),
      [...KINDS, ...KINDS],
    );
    assert.deepEqual(
      requests.slice(0, 3).map((r) => r.path),
      ['/ocr', '/classify?model=colour&topK=1', '/v2/models/linear/infer'],
    );
  });

  it("judges an infer answer against the linear model's expected values", () => {
    const request = demoRequest(2, images);
    const body = JSON.parse(request.body as string) as { inputs: { data: number[] }[] };
    assert.deepEqual(body.inputs[0]?.data, [2, 1, -2, 0.5, 1, 3]);
    // relu([2, 1, -2]·W + b) and relu([0.5, 1, 3]·W + b), W = [[1, -1], [0.5, 2], [-0.25, 1]], b = [0.1, -0.2]
    assert.equal(request.check({ outputs: [{ data: [3.1, 0, 0.35, 4.3] }] }), undefined);
    assert.match(
      request.check({ outputs: [{ data: [3.1, 0, 0.35, 4.4] }] }) ?? '',
      /^infer answered \[3\.1,0,0\.35,4\.4\], expected \[3\.1,0,0\.35/,
    );
  });
});

describe('answer checks', () => {
  it('accept the exact answer and explain a wrong one', () => {
    assert.equal(checkOcr({ lines: [{ text: 'FERRY 2048' }] }, ['FERRY 2048']), undefined);
    assert.equal(
      checkOcr({ lines: [{ text: 'FERRY 2O48' }] }, ['FERRY 2048']),
      'answered ["FERRY 2O48"], expected ["FERRY 2048"]',
    );
    assert.equal(checkClassify({ results: [{ label: 'red' }] }, ['red']), undefined);
    assert.match(checkClassify({}, ['red']) ?? '', /answered \[""\]/);
    assert.match(checkInfer({ outputs: [] }, [1]) ?? '', /infer answered \[\]/);
  });
});
