/** A unary @grpc/grpc-js method that carries raw bytes both ways (no protobuf): the bench's gRPC peers. */
export function bytesMethod(path: string) {
  const identity = (b: Buffer) => b;
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}
