import { buildModel } from '@ferry/onnx';

/** Identity over a float32 vector of any length: what B2 and B4 send through Ferry and the gRPC peer. */
export function identityModel(): Uint8Array {
  return buildModel({
    name: 'identity',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['n'] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['n'] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}
