import type { BackendModel, Tensor, TensorMap } from '@ferry/core';
import { bytesPerElement } from '@ferry/core';

/** Size given to dimensions a model leaves open: large enough for conv nets' strides, small enough to be quick. */
const OPEN_DIM = 32;

/**
 * One run on zeros right after a load, so the first guest call does not pay for ONNX Runtime's lazy
 * initialisation. Open dimensions get 1 (batch, the first) or 32; a model that rejects those is simply
 * not warmed.
 */
export async function warmUp(model: BackendModel): Promise<void> {
  const inputs: TensorMap = {};
  for (const info of model.inputs) {
    const shape = info.shape.map((d, i) => (typeof d === 'number' && d >= 0 ? d : i === 0 ? 1 : OPEN_DIM));
    const count = shape.reduce((a, b) => a * b, 1);
    const tensor: Tensor =
      info.dtype === 'string'
        ? { dtype: 'string', shape, data: new Array<string>(count).fill('') }
        : { dtype: info.dtype, shape, data: new Uint8Array(count * bytesPerElement(info.dtype)) };
    inputs[info.name] = tensor;
  }
  await model.run(inputs);
}
