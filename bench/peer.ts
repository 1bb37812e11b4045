/**
 * Baseline servers for `bench/table.ts`, each run in its own process as the agent is:
 *   node --import tsx bench/peer.ts echo <socket>   raw unix-socket echo (bytes back as they come)
 *   node --import tsx bench/peer.ts grpc <socket>   @grpc/grpc-js unary server running an identity model
 *                                                    on ONNX Runtime (float32 bytes in, the output's bytes out)
 * Prints "ready" once it listens; exits on SIGTERM.
 */
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { bytesMethod } from './grpc-bytes.js';
import { identityModel } from './models.js';

const [mode, path] = process.argv.slice(2);
if (!path) throw new Error('usage: peer.ts echo|grpc <socket>');

if (mode === 'echo') {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(path, () => process.stdout.write('ready\n'));
} else if (mode === 'grpc') {
  const session = await InferenceSession.create(identityModel(), {
    intraOpNumThreads: Math.max(1, availableParallelism() - 1),
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  const method = bytesMethod('/bench.Model/Infer');
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20 });
  server.addService({ infer: method } as grpc.ServiceDefinition, {
    infer: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const bytes = call.request;
      const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      session.run({ x: new OrtTensor('float32', x, [x.length]) }).then(
        (out) => {
          const y = out.y?.data as Float32Array;
          callback(null, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
        },
        (error: Error) => callback(error),
      );
    },
  });
  server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (error) => {
    if (error) throw error;
    process.stdout.write('ready\n');
  });
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.on('SIGTERM', () => process.exit(0));
