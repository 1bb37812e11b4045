import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend, BackendModel } from '../backend.js';
import { Code } from '../code.js';
import { isDType, type Tensor, type TensorMap } from '../tensor.js';
import { assertTensorsEqual } from './assert-tensors-equal.js';

export interface BackendContractFixture {
  /** Names the fixture in test titles. */
  readonly name?: string;
  readonly model: Uint8Array;
  readonly inputs: TensorMap;
  /** Every output of the model for `inputs`, compared bit-exactly. */
  readonly expected: TensorMap;
}

export interface BackendContractOptions {
  /** Creates a fresh backend: one shared by the suite, and one more for each test of `close`. */
  readonly create: () => Backend | Promise<Backend>;
  /** At least one model with inputs and the outputs it must produce. */
  readonly fixtures: readonly BackendContractFixture[];
  /**
   * Whether loaded models describe their inputs and outputs (ONNX Runtime does). When true, each fixture's
   * signature must name exactly its inputs and expected outputs; when false, it must be empty (the no-op
   * backend). Required, so that no backend passes the signature checks by declaring nothing.
   */
  readonly declaresSignature: boolean;
}

const clone = (inputs: TensorMap): TensorMap =>
  Object.fromEntries(
    Object.entries(inputs).map(([name, t]): [string, Tensor] => [
      name,
      t.dtype === 'string'
        ? { dtype: t.dtype, shape: [...t.shape], data: [...t.data] }
        : { dtype: t.dtype, shape: [...t.shape], data: t.data.slice() },
    ]),
  );

/**
 * The behaviour every {@link Backend} shares, as a node:test suite: loading, bit-exact runs, concurrent runs,
 * output selection, cancellation, release and close. Call it at the top level of a test file.
 */
export function describeBackendContract(name: string, options: BackendContractOptions): void {
  const { fixtures } = options;
  if (fixtures.length === 0) throw new TypeError('describeBackendContract needs at least one fixture');
  const first = fixtures[0] as BackendContractFixture;

  // One backend serves the suite (starting one can be costly: worker threads, device contexts); the tests
  // that close a backend create their own.
  let shared: Backend | undefined;
  const backendOf = (): Backend => {
    if (!shared) throw new Error('the shared backend was not created');
    return shared;
  };
  const load = (fixture: BackendContractFixture): Promise<BackendModel> => backendOf().load(fixture.model);

  describe(`${name} (backend contract)`, () => {
    before(async () => {
      shared = await options.create();
    });
    after(() => shared?.close());

    it('has a name', () => {
      const backend = backendOf();
      assert.equal(typeof backend.name, 'string');
      assert.notEqual(backend.name, '');
    });

    fixtures.forEach((fixture, index) => {
      const label = fixture.name ?? `fixture ${index}`;

      it(`runs ${label} and returns the expected outputs bit-exactly`, async () => {
        const model = await load(fixture);
        const before = clone(fixture.inputs);
        assertTensorsEqual(await model.run(fixture.inputs), fixture.expected);
        assertTensorsEqual(fixture.inputs, before, 'inputs were modified');
      });

      if (options.declaresSignature) {
        it(`describes the signature of ${label}: exactly its inputs and outputs`, async () => {
          const model = await load(fixture);
          for (const info of [...model.inputs, ...model.outputs]) {
            assert.equal(typeof info.name, 'string');
            assert.ok(isDType(info.dtype), `dtype ${info.dtype}`);
            for (const d of info.shape) assert.ok(d === null || typeof d === 'string' || Number.isSafeInteger(d));
          }
          assert.deepEqual(model.inputs.map((i) => i.name).sort(), Object.keys(fixture.inputs).sort());
          assert.deepEqual(model.outputs.map((o) => o.name).sort(), Object.keys(fixture.expected).sort());
          for (const info of model.inputs) {
            const given = fixture.inputs[info.name] as Tensor;
            assert.equal(info.dtype, given.dtype, `input ${info.name} dtype`);
            assert.equal(info.shape.length, given.shape.length, `input ${info.name} rank`);
          }
        });
      } else {
        it(`declares no signature for ${label}, as the backend says`, async () => {
          const model = await load(fixture);
          assert.deepEqual([model.inputs, model.outputs], [[], []]);
        });
      }

      it(`runs ${label} concurrently with the same results`, async () => {
        const model = await load(fixture);
        const results = await Promise.all([1, 2, 3, 4].map(() => model.run(fixture.inputs)));
        for (const result of results) assertTensorsEqual(result, fixture.expected);
      });

      it(`returns only the outputs named in outputNames for ${label}`, async () => {
        const model = await load(fixture);
        const [pick] = Object.keys(fixture.expected);
        assert.ok(pick, 'a fixture needs at least one expected output');
        const result = await model.run(fixture.inputs, { outputNames: [pick] });
        assertTensorsEqual(result, { [pick]: fixture.expected[pick] as Tensor });
      });
    });

    it('serves several models from one backend', async () => {
      const backend = backendOf();
      const models = await Promise.all(fixtures.map((f) => backend.load(f.model)));
      for (const [i, model] of models.entries()) {
        const fixture = fixtures[i] as BackendContractFixture;
        assertTensorsEqual(await model.run(fixture.inputs), fixture.expected);
      }
      await Promise.all(models.map((m) => m.release()));
    });

    it('rejects load with CANCELLED when the signal is already aborted', async () => {
      const backend = backendOf();
      await assert.rejects(backend.load(first.model, { signal: AbortSignal.abort() }), { code: Code.CANCELLED });
    });

    it('rejects run with CANCELLED when the signal is already aborted', async () => {
      const model = await load(first);
      await assert.rejects(model.run(first.inputs, { signal: AbortSignal.abort() }), { code: Code.CANCELLED });
      assertTensorsEqual(await model.run(first.inputs), first.expected);
    });

    it('rejects run with INVALID_ARGUMENT for an unknown output name', async () => {
      const model = await load(first);
      await assert.rejects(model.run(first.inputs, { outputNames: ['no such output'] }), {
        code: Code.INVALID_ARGUMENT,
      });
    });

    it('rejects run with FAILED_PRECONDITION (MODEL_RELEASED) after release, which is idempotent', async () => {
      const model = await load(first);
      await model.release();
      await model.release();
      await assert.rejects(model.run(first.inputs), { code: Code.FAILED_PRECONDITION, reason: 'MODEL_RELEASED' });
    });

    it('keeps other models running when one is released', async () => {
      const backend = backendOf();
      const a = await backend.load(first.model);
      const b = await backend.load(first.model);
      await a.release();
      assertTensorsEqual(await b.run(first.inputs), first.expected);
      await b.release();
    });

    it('closes idempotently and refuses work afterwards with FAILED_PRECONDITION', async () => {
      const backend = await options.create();
      const model = await backend.load(first.model);
      await Promise.all([backend.close(), backend.close()]);
      await backend.close();
      await assert.rejects(model.run(first.inputs), { code: Code.FAILED_PRECONDITION });
      await assert.rejects(backend.load(first.model), { code: Code.FAILED_PRECONDITION });
    });
  });
}
