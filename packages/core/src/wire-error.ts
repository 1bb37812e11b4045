import { toCode } from './code.js';
import { FerryError } from './ferry-error.js';

/**
 * A {@link FerryError} as plain data, to cross a thread boundary (`postMessage`'s structured clone keeps
 * no class): the agent's vision workers and the ONNX Runtime backend's workers send their failures so.
 */
export interface WireError {
  readonly code: number;
  readonly reason: string;
  readonly message: string;
}

/** Anything thrown, as a {@link WireError} (through `FerryError.from`). */
export function toWireError(error: unknown): WireError {
  const e = FerryError.from(error);
  return { code: e.code, reason: e.reason, message: e.rawMessage };
}

/** The FerryError a {@link WireError} stands for. */
export function fromWireError(error: WireError): FerryError {
  return new FerryError(toCode(error.code), error.message, { reason: error.reason });
}
