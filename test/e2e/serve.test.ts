import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { type Agent, createAgent } from '@ferry/agent';
import { createOnnxRuntimeBackend } from '@ferry/backend-onnxruntime';
import { type Client, createClient } from '@ferry/client';
import {
  type DType,
  type NumericTensor,
  stringTensor,
  type Tensor,
  type TensorMap,
  tensor,
  tensorValues,
} from '@ferry/core';
import { registryOf } from '@ferry/core/testing';
import { createServe, type Serve, type ServeLimits } from '@ferry/serve';
import sharp from 'sharp';
import { writeColourClassifier } from '../support/colour-classifier.js';
import { tempDir } from '../support/fixtures.js';
import { mixedExpected, mixedInputs, mixedModel } from '../support/models.js';

const OIP: Record<string, DType> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  INT64: 'int64',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};
const OIP_NAME = Object.fromEntries(Object.entries(OIP).map(([k, v]) => [v, k])) as Record<string, string>;

interface Setup {
  readonly url: string;
  readonly socket: string;
  readonly modelDir: string;
  readonly client: Client;
  readonly serve: Serve;
  agent: Agent;
}

async function startAgentAt(t: TestContext, socket: string, modelDir: string): Promise<Agent> {
  const agent = await createAgent({
    backends: registryOf(createOnnxRuntimeBackend()),
    listen: [`unix://${socket}`],
    modelDir,
  });
  t.after(() => agent.destroy());
  return agent;
}

async function setup(t: TestContext, limits: Partial<ServeLimits> = {}): Promise<Setup> {
  const dir = await tempDir(t);
  const modelDir = join(dir, 'models');
  await mkdir(join(modelDir, 'mixed'), { recursive: true });
  await writeFile(join(modelDir, 'mixed', 'model.onnx'), mixedModel());
  // Raw mean scores (no softmax), so the test can check them against the image's channels.
  await writeColourClassifier(modelDir, 'colors', { postprocess: { softmax: false } });
  const socket = join(dir, 'a.sock');
  const agent = await startAgentAt(t, socket, modelDir);
  const client = createClient({ address: `unix://${socket}` });
  t.after(() => client.destroy());
  const serve = await createServe({ client, limits });
  t.after(() => serve.destroy());
  const { url } = await serve.listen({ port: 0, host: '127.0.0.1' });
  return { url, socket, modelDir, client, serve, agent };
}

/** OIP JSON for a Ferry tensor, written here without @ferry/serve's encoder. */
function oipInput(name: string, t: Tensor, nested = false): Record<string, unknown> {
  let data: unknown[];
  if (t.dtype === 'string') data = [...t.data];
  else {
    const values = [...tensorValues(t)];
    data = values.map((v) => (t.dtype === 'bool' ? v === 1 : typeof v === 'bigint' ? Number(v) : v));
  }
  if (nested && t.shape.length === 2) {
    const [rows, cols] = t.shape as [number, number];
    data = Array.from({ length: rows }, (_, r) => data.slice(r * cols, (r + 1) * cols));
  }
  return { name, datatype: OIP_NAME[t.dtype], shape: t.shape, data };
}

function binaryOf(t: Tensor): Uint8Array {
  if (t.dtype !== 'string') return t.data;
  return Buffer.concat(
    t.data.map((s) => {
      const bytes = Buffer.from(s, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.byteLength);
      return Buffer.concat([length, bytes]);
    }),
  );
}

interface OipOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

function tensorFromOip(o: OipOutput, binary?: Uint8Array): Tensor {
  const dtype = OIP[o.datatype];
  assert.ok(dtype, `datatype ${o.datatype}`);
  if (binary) {
    if (dtype !== 'string') return { dtype, shape: o.shape, data: binary.slice() } as NumericTensor;
    const strings: string[] = [];
    for (let at = 0; at < binary.byteLength; ) {
      const n = Buffer.from(binary.buffer, binary.byteOffset).readUInt32LE(at);
      strings.push(Buffer.from(binary.subarray(at + 4, at + 4 + n)).toString('utf8'));
      at += 4 + n;
    }
    return stringTensor(o.shape, strings);
  }
  const data = o.data as unknown[];
  if (dtype === 'string') return stringTensor(o.shape, data as string[]);
  if (dtype === 'bool') return tensor('bool', o.shape, new Uint8Array(data.map((v) => (v ? 1 : 0))));
  if (dtype === 'int64') return tensor('int64', o.shape, new BigInt64Array(data.map((v) => BigInt(v as number))));
  return tensor(dtype, o.shape, data as number[]);
}

/** Splits a response of the binary tensor data extension into its JSON header and the tensors. */
async function readInferResponse(response: Response): Promise<{ json: Record<string, unknown>; outputs: TensorMap }> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headerLength = response.headers.get('inference-header-content-length');
  const jsonEnd = headerLength === null ? body.byteLength : Number(headerLength);
  const json = JSON.parse(Buffer.from(body.subarray(0, jsonEnd)).toString('utf8')) as Record<string, unknown>;
  const outputs: TensorMap = {};
  let at = jsonEnd;
  for (const o of json.outputs as OipOutput[]) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) outputs[o.name] = tensorFromOip(o);
    else {
      outputs[o.name] = tensorFromOip(o, body.subarray(at, at + size));
      at += size;
    }
  }
  assert.equal(at, body.byteLength, 'binary outputs fill the body exactly');
  return { json, outputs };
}

function binaryRequest(
  header: unknown,
  tensors: readonly Uint8Array[],
): { headers: Record<string, string>; body: Buffer } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return {
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.byteLength) },
    body: Buffer.concat([json, ...tensors]),
  };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  if (typeof body === 'string') return fetch(url, { method: 'POST', headers, body });
  if (body instanceof Uint8Array) return fetch(url, { method: 'POST', headers, body: new Uint8Array(body) });
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function errorOf(response: Response, status: number): Promise<{ error: string; reason: string }> {
  const body = (await response.json()) as { error: string; reason: string };
  assert.equal(response.status, status, `${status} expected, got ${response.status}: ${JSON.stringify(body)}`);
  assert.equal(typeof body.error, 'string');
  return body;
}

describe('@ferry/serve ↔ agent ↔ ONNX Runtime over real HTTP', () => {
  it('answers server metadata, liveness, readiness and model metadata', async (t) => {
    const { url } = await setup(t);
    const server = await (await fetch(`${url}/v2`)).json();
    assert.deepEqual(server, { name: 'ferry', version: '0.1.0', extensions: ['binary_tensor_data'] });
    assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
    const ready = await fetch(`${url}/v2/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });

    const expected = {
      name: 'mixed',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [-1, 3] },
        { name: 'i', datatype: 'INT64', shape: [-1] },
        { name: 'flag', datatype: 'BOOL', shape: [-1] },
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'px', datatype: 'UINT8', shape: [-1, 4] },
      ],
      outputs: [
        { name: 'f', datatype: 'FP32', shape: [-1, 2] },
        { name: 'n', datatype: 'INT64', shape: [-1] },
        { name: 'g', datatype: 'BOOL', shape: [-1] },
        { name: 'h', datatype: 'FP64', shape: [-1, 3] },
        { name: 's', datatype: 'BYTES', shape: [-1] },
        { name: 'u', datatype: 'UINT8', shape: [-1, 4] },
      ],
    };
    assert.deepEqual(await (await fetch(`${url}/v2/models/mixed`)).json(), expected);
    assert.deepEqual(await (await fetch(`${url}/v2/models/mixed/versions/1`)).json(), expected);
    assert.deepEqual(await (await fetch(`${url}/v2/models/mixed/ready`)).json(), { name: 'mixed', ready: true });
    const noVersion = await errorOf(await fetch(`${url}/v2/models/mixed/versions/2`), 404);
    assert.equal(noVersion.reason, 'MODEL_VERSION_NOT_FOUND');
    const unknown = await errorOf(await fetch(`${url}/v2/models/nope`), 404);
    assert.equal(unknown.reason, 'MODEL_NOT_FOUND');
    await errorOf(await fetch(`${url}/v2/models/nope/ready`), 404);
  });

  it('infers with JSON tensors (flat and nested data) exactly as the model computes in-process', async (t) => {
    const { url } = await setup(t);
    for (const [seed, batch] of [
      [1, 1],
      [2, 3],
    ] as const) {
      const inputs = mixedInputs(seed, batch);
      const request = {
        id: `req-${seed}`,
        inputs: Object.entries(inputs).map(([name, t]) => oipInput(name, t, seed === 2)),
      };
      const response = await post(`${url}/v2/models/mixed/infer`, request);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      const { json, outputs } = await readInferResponse(response);
      assert.equal(json.model_name, 'mixed');
      assert.equal(json.model_version, '1');
      assert.equal(json.id, `req-${seed}`);
      assert.deepEqual(
        (json.outputs as OipOutput[]).map((o) => o.name),
        ['f', 'n', 'g', 'h', 's', 'u'],
      );
      assert.deepEqual(outputs, mixedExpected(inputs));
    }
  });

  it('returns only the outputs asked for, in the order asked', async (t) => {
    const { url } = await setup(t);
    const inputs = mixedInputs(5, 2);
    const response = await post(`${url}/v2/models/mixed/infer`, {
      inputs: Object.entries(inputs).map(([name, t]) => oipInput(name, t)),
      outputs: [{ name: 's' }, { name: 'n' }],
    });
    const { json, outputs } = await readInferResponse(response);
    const expected = mixedExpected(inputs);
    assert.deepEqual(
      (json.outputs as OipOutput[]).map((o) => o.name),
      ['s', 'n'],
    );
    assert.deepEqual(outputs, { s: expected.s, n: expected.n });
  });

  it('takes binary tensor data and returns binary outputs (Inference-Header-Content-Length)', async (t) => {
    const { url } = await setup(t);
    const inputs = mixedInputs(7, 4);
    const names = Object.keys(inputs);
    const { headers, body } = binaryRequest(
      {
        inputs: names.map((name) => {
          const t = inputs[name] as Tensor;
          return {
            name,
            datatype: OIP_NAME[t.dtype],
            shape: t.shape,
            parameters: { binary_data_size: binaryOf(t).byteLength },
          };
        }),
        parameters: { binary_data_output: true },
        // `h` overrides binary_data_output and comes back as JSON.
        outputs: ['f', 'n', 'g', 'h', 's', 'u'].map((name) => ({
          name,
          ...(name === 'h' ? { parameters: { binary_data: false } } : {}),
        })),
      },
      names.map((name) => binaryOf(inputs[name] as Tensor)),
    );
    const response = await post(`${url}/v2/models/mixed/infer`, body, headers);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    assert.ok(response.headers.get('inference-header-content-length'));
    const { json, outputs } = await readInferResponse(response);
    const h = (json.outputs as OipOutput[]).find((o) => o.name === 'h');
    assert.ok(Array.isArray(h?.data), 'h was asked for as JSON');
    const expected = mixedExpected(inputs);
    const s = (json.outputs as OipOutput[]).find((o) => o.name === 's');
    assert.equal(s?.parameters?.binary_data_size, binaryOf(expected.s as Tensor).byteLength);
    assert.deepEqual(outputs, expected);
  });

  it('mixes JSON and binary inputs in one request', async (t) => {
    const { url } = await setup(t);
    const inputs = mixedInputs(9, 2);
    const binaryNames = ['x', 'label'];
    const { headers, body } = binaryRequest(
      {
        inputs: Object.entries(inputs).map(([name, t]) =>
          binaryNames.includes(name)
            ? {
                name,
                datatype: OIP_NAME[t.dtype],
                shape: t.shape,
                parameters: { binary_data_size: binaryOf(t).byteLength },
              }
            : oipInput(name, t),
        ),
      },
      binaryNames.map((name) => binaryOf(inputs[name] as Tensor)),
    );
    const response = await post(`${url}/v2/models/mixed/infer`, body, headers);
    assert.equal(response.status, 200);
    assert.deepEqual((await readInferResponse(response)).outputs, mixedExpected(inputs));
  });

  it('answers every bad request with 4xx and {"error"}, and keeps serving', async (t) => {
    const { url } = await setup(t, { maxBodyBytes: 64 * 1024 });
    const infer = `${url}/v2/models/mixed/infer`;
    const good = () => Object.entries(mixedInputs(3, 2)).map(([name, t]) => oipInput(name, t));
    const withInput = (name: string, patch: Record<string, unknown>) =>
      good().map((i) => (i.name === name ? { ...i, ...patch } : i));

    const cases: [string, Promise<Response>, number, string][] = [
      ['malformed JSON', post(infer, '{"inputs": [', { 'content-type': 'application/json' }), 400, 'MALFORMED_JSON'],
      ['empty body', post(infer, '', { 'content-type': 'application/json' }), 400, 'MALFORMED_JSON'],
      ['no inputs', post(infer, { inputs: [] }), 400, 'MALFORMED_REQUEST'],
      ['unknown model', post(`${url}/v2/models/nope/infer`, { inputs: good() }), 404, 'MODEL_NOT_FOUND'],
      [
        'unknown version',
        post(`${url}/v2/models/mixed/versions/7/infer`, { inputs: good() }),
        404,
        'MODEL_VERSION_NOT_FOUND',
      ],
      ['unknown datatype', post(infer, { inputs: withInput('x', { datatype: 'FLOAT' }) }), 400, 'UNKNOWN_DATATYPE'],
      [
        'datatype not the model’s',
        post(infer, { inputs: withInput('i', { datatype: 'INT32' }) }),
        400,
        'DATATYPE_MISMATCH',
      ],
      ['shape not the model’s', post(infer, { inputs: withInput('x', { shape: [3, 2] }) }), 400, 'SHAPE_MISMATCH'],
      [
        'data count ≠ shape',
        post(infer, { inputs: withInput('x', { data: [1, 2, 3, 4, 5] }) }),
        400,
        'TENSOR_SIZE_MISMATCH',
      ],
      [
        'nested data ≠ shape',
        post(infer, { inputs: withInput('x', { data: [[1, 2], [3, 4, 5], [6]] }) }),
        400,
        'TENSOR_SIZE_MISMATCH',
      ],
      [
        'string where a number goes',
        post(infer, { inputs: withInput('x', { data: [1, 2, 'three', 4, 5, 6] }) }),
        400,
        'INVALID_TENSOR_DATA',
      ],
      [
        'UINT8 out of range',
        post(infer, { inputs: withInput('px', { data: [0, 1, 2, 3, 4, 5, 6, 256] }) }),
        400,
        'INVALID_TENSOR_DATA',
      ],
      ['negative dimension', post(infer, { inputs: withInput('i', { shape: [-1] }) }), 400, 'INVALID_SHAPE'],
      ['missing input', post(infer, { inputs: good().filter((i) => i.name !== 'px') }), 400, 'MISSING_INPUT'],
      [
        'unknown input',
        post(infer, { inputs: [...good(), { name: 'zz', datatype: 'FP32', shape: [1], data: [1] }] }),
        400,
        'UNKNOWN_INPUT',
      ],
      ['unknown output', post(infer, { inputs: good(), outputs: [{ name: 'nope' }] }), 400, 'UNKNOWN_OUTPUT'],
      [
        'binary data without Inference-Header-Content-Length',
        post(infer, { inputs: withInput('x', { data: undefined, parameters: { binary_data_size: 24 } }) }),
        400,
        'MALFORMED_REQUEST',
      ],
      (() => {
        const { headers, body } = binaryRequest(
          { inputs: withInput('x', { data: undefined, parameters: { binary_data_size: 24 } }) },
          [new Uint8Array(20)],
        );
        return ['binary sizes beyond the body', post(infer, body, headers), 400, 'INVALID_BINARY_SIZE'] as [
          string,
          Promise<Response>,
          number,
          string,
        ];
      })(),
      (() => {
        const { headers, body } = binaryRequest(
          { inputs: withInput('x', { data: undefined, parameters: { binary_data_size: 24 } }) },
          [new Uint8Array(30)],
        );
        return ['bytes left over after the binary inputs', post(infer, body, headers), 400, 'INVALID_BINARY_SIZE'] as [
          string,
          Promise<Response>,
          number,
          string,
        ];
      })(),
      (() => {
        const { headers, body } = binaryRequest(
          { inputs: withInput('x', { data: undefined, parameters: { binary_data_size: 20 } }) },
          [new Uint8Array(20)],
        );
        return ['binary size ≠ shape', post(infer, body, headers), 400, 'TENSOR_SIZE_MISMATCH'] as [
          string,
          Promise<Response>,
          number,
          string,
        ];
      })(),
      [
        'header length beyond the body',
        post(infer, '{"inputs":[]}', {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': '999',
        }),
        400,
        'INVALID_HEADER_LENGTH',
      ],
      [
        'header length not a number',
        post(infer, '{"inputs":[]}', {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': 'ten',
        }),
        400,
        'INVALID_HEADER_LENGTH',
      ],
      [
        'body over maxBodyBytes',
        post(infer, new Uint8Array(65 * 1024), { 'content-type': 'application/json' }),
        413,
        'BODY_TOO_LARGE',
      ],
      [
        'image over maxBodyBytes',
        post(`${url}/ocr`, new Uint8Array(65 * 1024), { 'content-type': 'image/png' }),
        413,
        'BODY_TOO_LARGE',
      ],
      [
        'image of the wrong media type',
        post(`${url}/ocr`, 'hello', { 'content-type': 'text/plain' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['empty image', post(`${url}/ocr`, new Uint8Array(0), { 'content-type': 'image/png' }), 400, 'MISSING_IMAGE'],
      [
        'classify without a model',
        post(`${url}/classify`, new Uint8Array(8), { 'content-type': 'image/png' }),
        400,
        'MISSING_MODEL',
      ],
      [
        'classify with topK 0',
        post(`${url}/classify?model=m&topK=0`, new Uint8Array(8), { 'content-type': 'image/png' }),
        400,
        'INVALID_TOP_K',
      ],
      ['no such route', fetch(`${url}/v3/whatever`), 404, 'NO_ROUTE'],
    ];
    for (const [what, response, status, reason] of cases) {
      const body = await errorOf(await response, status);
      assert.equal(body.reason, reason, `${what}: ${body.error}`);
    }
    // The function is still there, and still right.
    const inputs = mixedInputs(4, 1);
    const response = await post(infer, { inputs: Object.entries(inputs).map(([name, t]) => oipInput(name, t)) });
    assert.deepEqual((await readInferResponse(response)).outputs, mixedExpected(inputs));
  });

  it('is not ready while the agent is away, and recovers (re-registering its models) when it returns', async (t) => {
    const s = await setup(t);
    const inputs = mixedInputs(11, 2);
    const request = { inputs: Object.entries(inputs).map(([name, t]) => oipInput(name, t)) };
    const infer = `${s.url}/v2/models/mixed/infer`;
    assert.equal((await post(infer, request)).status, 200);

    await s.agent.close();
    const notReady = await errorOf(await fetch(`${s.url}/v2/health/ready`), 503);
    assert.equal((notReady as unknown as { ready: boolean }).ready, false);
    await errorOf(await post(infer, request), 503);
    assert.equal((await fetch(`${s.url}/v2/health/live`)).status, 200, 'alive while the agent is away');

    s.agent = await startAgentAt(t, s.socket, s.modelDir);
    assert.equal((await fetch(`${s.url}/v2/health/ready`)).status, 200);
    const response = await post(infer, request);
    assert.equal(response.status, 200);
    assert.deepEqual((await readInferResponse(response)).outputs, mixedExpected(inputs));
  });

  it('recovers when the agent restarts between two requests without the function noticing', async (t) => {
    const s = await setup(t);
    const inputs = mixedInputs(12, 1);
    const request = { inputs: Object.entries(inputs).map(([name, t]) => oipInput(name, t)) };
    const infer = `${s.url}/v2/models/mixed/infer`;
    assert.equal((await post(infer, request)).status, 200);
    await s.agent.close();
    s.agent = await startAgentAt(t, s.socket, s.modelDir);
    const response = await post(infer, request);
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual((await readInferResponse(response)).outputs, mixedExpected(inputs));
  });
});

/** Black text on white, rendered by sharp (librsvg) with DejaVu Sans Mono 48px. */
async function textImage(text: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="120">
    <rect width="100%" height="100%" fill="white"/>
    <text x="24" y="76" font-family="DejaVu Sans Mono" font-size="48" fill="black">${text}</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

describe('@ferry/serve image endpoints (agent built-in OCR)', () => {
  it('POST /ocr reads the text of a raw image body and of a multipart file', async (t) => {
    const { url } = await setup(t);
    const png = await textImage('FERRY 2048');
    const raw = await post(`${url}/ocr`, png, { 'content-type': 'image/png' });
    const rawBody = (await raw.json()) as { lines: { text: string; score: number; box: unknown[] }[] };
    assert.equal(raw.status, 200, JSON.stringify(rawBody));
    assert.deepEqual(
      rawBody.lines.map((l) => l.text),
      ['FERRY 2048'],
    );
    assert.equal(rawBody.lines[0]?.box.length, 4);

    const form = new FormData();
    form.append('note', 'fields before the file are skipped');
    form.append('image', new Blob([png], { type: 'image/png' }), 'text.png');
    const multipart = await fetch(`${url}/ocr`, { method: 'POST', body: form });
    assert.equal(multipart.status, 200);
    assert.deepEqual(((await multipart.json()) as typeof rawBody).lines, rawBody.lines);
  });

  it('POST /detect finds the text line with the built-in detector', async (t) => {
    const { url } = await setup(t);
    const response = await post(`${url}/detect`, await textImage('FERRY 2048'), { 'content-type': 'image/png' });
    const body = (await response.json()) as { detections: { box: unknown[]; score: number }[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.detections.length, 1);
    assert.equal(body.detections[0]?.box.length, 4);
  });

  it('POST /classify answers the top-k labels of a repository classifier, raw or multipart', async (t) => {
    const { url } = await setup(t);
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 20, b: 60 } } })
      .png()
      .toBuffer();
    const response = await post(`${url}/classify?model=colors&topK=2`, png, { 'content-type': 'image/png' });
    const body = (await response.json()) as {
      model: string;
      results: { label: string; score: number; index: number }[];
    };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.model, 'colors');
    assert.deepEqual(
      body.results.map((r) => [r.label, r.index]),
      [
        ['red', 0],
        ['blue', 2],
      ],
    );
    assert.ok(Math.abs((body.results[0]?.score ?? 0) - 200 / 255) < 1e-3);
    assert.ok(Math.abs((body.results[1]?.score ?? 0) - 60 / 255) < 1e-3);

    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), 'red.png');
    const multipart = await fetch(`${url}/classify?model=colors`, { method: 'POST', body: form });
    const all = (await multipart.json()) as typeof body;
    assert.equal(multipart.status, 200, JSON.stringify(all));
    assert.deepEqual(
      all.results.map((r) => r.label),
      ['red', 'blue', 'green'],
      'the model’s configured topK (3) when none is asked',
    );

    const missing = await errorOf(await post(`${url}/classify?model=nope`, png, { 'content-type': 'image/png' }), 404);
    assert.match(missing.error, /nope/);
    // An OCR model is not a classifier: the agent says so, and the function passes it on as a 400.
    await errorOf(await post(`${url}/classify?model=ppocr-cls`, png, { 'content-type': 'image/png' }), 400);
  });
});
