import type { DescMessage, DescMethod, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, FerryError } from '@ferry/core';
import { statusFromError, type TtrpcStatus, VaccelErrorSchema, VaccelErrorType } from '@ferry/protocol';
import type { CallContext, HandlerTraits, MethodHandler } from './accelerator-service.js';

/** vAccel's error numbers (`VACCEL_E*` in vaccel's error.h: the Linux errno values). */
const VaccelErrno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENOMEM: 12,
  EBUSY: 16,
  EINVAL: 22,
  EPROTO: 71,
  ENOTSUP: 95,
  ECONNRESET: 104,
} as const;

/** The type URL a vAccel agent gives the `vaccel.Error` it packs into `Status.details`. */
const VACCEL_ERROR_TYPE_URL = 'type.googleapis.com/vaccel.Error';

function errnoFor(code: Code): number {
  switch (code) {
    case Code.INVALID_ARGUMENT:
      return VaccelErrno.EINVAL;
    case Code.NOT_FOUND:
      return VaccelErrno.ENOENT;
    case Code.PERMISSION_DENIED:
      return VaccelErrno.EPERM;
    case Code.RESOURCE_EXHAUSTED:
      return VaccelErrno.ENOMEM;
    case Code.UNIMPLEMENTED:
    case Code.FAILED_PRECONDITION:
      return VaccelErrno.ENOTSUP;
    case Code.UNAVAILABLE:
      return VaccelErrno.EBUSY;
    case Code.DEADLINE_EXCEEDED:
      return VaccelErrno.EIO;
    case Code.CANCELLED:
      return VaccelErrno.ECONNRESET;
    default:
      return VaccelErrno.EPROTO;
  }
}

/**
 * A failure in vAccel's shape, as vaccel-rust's agent answers: NOT_FOUND and INVALID_ARGUMENT as a plain
 * Status; anything else carries a `vaccel.Error` (type FFI, `ffi_error` the vAccel error number) in its
 * details, and what Ferry lacks (UNIMPLEMENTED) reads INTERNAL + `VACCEL_ENOTSUP`, as a vAccel agent
 * without a plugin for the op answers. Ferry's reason follows as an `ErrorInfo`, which vAccel clients skip.
 */
export function vaccelStatus(error: FerryError): TtrpcStatus {
  const status = statusFromError(error);
  if (error.code === Code.NOT_FOUND || error.code === Code.INVALID_ARGUMENT) return status;
  const detail = create(VaccelErrorSchema, { type: VaccelErrorType.FFI, ffiError: errnoFor(error.code) });
  return {
    ...status,
    code: error.code === Code.UNIMPLEMENTED ? Code.INTERNAL : error.code,
    details: [{ typeUrl: VACCEL_ERROR_TYPE_URL, value: toBinary(VaccelErrorSchema, detail) }],
  };
}

type Impl<M extends DescMethod> = (
  input: MessageShape<M['input']>,
  context: CallContext,
) => Promise<MessageInitShape<M['output'] & DescMessage>>;

/** A handler of a vAccel RPC: its failures answer in vAccel's shape ({@link vaccelStatus}). */
export function vaccelHandler<M extends DescMethod>(method: M, traits: HandlerTraits, impl: Impl<M>): MethodHandler {
  return {
    method,
    runsModel: traits.runsModel,
    status: vaccelStatus,
    async handle(input, context) {
      return create(method.output, await impl(input as MessageShape<M['input']>, context));
    },
  };
}

/** A vAccel session id (uint32 in v1, int64 in v3) as the tenant's session id; out of range is NOT_FOUND. */
export function vaccelId(id: bigint | number, what: 'Session' | 'Resource', tenant: string): number {
  const n = typeof id === 'bigint' ? (id >= 1n && id <= 0xffff_ffffn ? Number(id) : 0) : id;
  if (!Number.isSafeInteger(n) || n < 1 || n > 0xffff_ffff) {
    throw new FerryError(Code.NOT_FOUND, `${what} ${id} does not exist for tenant "${tenant}"`, {
      reason: what === 'Session' ? 'SESSION_NOT_FOUND' : 'MODEL_NOT_FOUND',
    });
  }
  return n;
}
