import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { stringTensor, tensor } from '@ferry/core';
import { buildModel } from './build-model.js';
import { ModelProtoSchema, TensorProtoSchema } from './gen/onnx/onnx_pb.js';
import { OnnxDataType } from './onnx-data-type.js';
import { tensorFromProto } from './tensor-from-proto.js';

describe('buildModel()', () => {
  const bytes = buildModel({
    name: 'demo',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 2, null] }],
    outputs: [{ name: 'y', dtype: 'int64' }],
    initializers: { k: tensor('float32', [1], [2]) },
    nodes: [
      { op: 'Mul', inputs: ['x', 'k'], outputs: ['m'] },
      { op: 'Cast', inputs: ['m'], outputs: ['y'], attributes: { to: OnnxDataType.INT64 } },
      {
        op: 'Custom',
        domain: 'ai.ferry',
        inputs: [],
        outputs: ['z'],
        attributes: {
          axis: 0,
          alpha: 0.5,
          whole: { float: 1 },
          perm: [1, 0],
          scales: [0.5, 2],
          mode: 'nearest',
          names: ['a', 'b'],
          value: stringTensor([1], ['v']),
          body: { graph: { inputs: [], outputs: [{ name: 'o', dtype: 'bool', shape: [] }], nodes: [] } },
        },
      },
    ],
  });
  const model = fromBinary(ModelProtoSchema, bytes);

  it('writes the opset, IR version and graph', () => {
    assert.deepEqual(
      model.opsetImport.map((o) => [o.domain, o.version]),
      [['', 17n]],
    );
    assert.equal(model.irVersion, 8n);
    assert.equal(model.graph?.name, 'demo');
    assert.deepEqual(
      model.graph?.node.map((n) => [n.opType, n.domain, n.input, n.output]),
      [
        ['Mul', '', ['x', 'k'], ['m']],
        ['Cast', '', ['m'], ['y']],
        ['Custom', 'ai.ferry', [], ['z']],
      ],
    );
  });

  it('writes fixed, symbolic and unknown dims, and leaves the shape out when unknown', () => {
    const input = model.graph?.input[0]?.type?.value;
    assert.equal(input?.case, 'tensorType');
    assert.equal(input?.value.elemType, OnnxDataType.FLOAT);
    assert.deepEqual(
      input?.value.shape?.dim.map((d) => d.value),
      [{ case: 'dimParam', value: 'batch' }, { case: 'dimValue', value: 2n }, { case: undefined }],
    );
    const output = model.graph?.output[0]?.type?.value;
    assert.equal(output?.value?.elemType, OnnxDataType.INT64);
    assert.equal(output?.value?.shape, undefined);
  });

  it('writes initializers as TensorProtos', () => {
    const init = model.graph?.initializer[0];
    assert.equal(init?.name, 'k');
    assert.ok(init);
    assert.deepEqual(tensorFromProto(toBinary(TensorProtoSchema, init)).tensor, tensor('float32', [1], [2]));
  });

  it('types attributes, writing zero values explicitly', () => {
    const attrs = Object.fromEntries((model.graph?.node[2]?.attribute ?? []).map((a) => [a.name, a]));
    assert.equal(attrs.axis?.type, 2);
    assert.equal(attrs.axis?.i, 0n);
    assert.equal(attrs.alpha?.type, 1);
    assert.equal(attrs.alpha?.f, 0.5);
    assert.equal(attrs.whole?.type, 1);
    assert.equal(attrs.whole?.f, 1);
    assert.deepEqual([attrs.perm?.type, attrs.perm?.ints], [7, [1n, 0n]]);
    assert.deepEqual([attrs.scales?.type, attrs.scales?.floats], [6, [0.5, 2]]);
    assert.deepEqual([attrs.mode?.type, new TextDecoder().decode(attrs.mode?.s)], [3, 'nearest']);
    assert.equal(attrs.names?.type, 8);
    assert.equal(attrs.names?.strings.length, 2);
    assert.equal(attrs.value?.type, 4);
    assert.equal(attrs.value?.t?.dataType, OnnxDataType.STRING);
    assert.equal(attrs.body?.type, 5);
    assert.equal(attrs.body?.g?.output[0]?.name, 'o');
  });

  it('throws TypeError for a node without op and RangeError for a bad opset', () => {
    assert.throws(
      () => buildModel({ inputs: [], outputs: [], nodes: [{ op: '', inputs: [], outputs: [] }] }),
      TypeError,
    );
    assert.throws(() => buildModel({ inputs: [], outputs: [], nodes: [], opset: 0 }), RangeError);
  });
});
