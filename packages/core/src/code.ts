/** gRPC status codes, the numbering every Ferry error carries on the wire. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type Code = (typeof Code)[keyof typeof Code];
export type CodeName = keyof typeof Code;

const names = new Map<number, CodeName>(Object.entries(Code).map(([name, value]) => [value, name as CodeName]));

/** `Code.NOT_FOUND` → `"NOT_FOUND"`; unknown numbers read as `"UNKNOWN"`. */
export function codeName(code: number): CodeName {
  return names.get(code) ?? 'UNKNOWN';
}

/** Narrows an untrusted number (from the wire) to a known code. */
export function toCode(value: number): Code {
  return names.has(value) ? (value as Code) : Code.UNKNOWN;
}

/** The one table from Ferry codes to HTTP statuses (the mapping grpc-gateway and KServe use). */
const httpStatuses: Record<Code, number> = {
  [Code.OK]: 200,
  [Code.CANCELLED]: 499,
  [Code.UNKNOWN]: 500,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.PERMISSION_DENIED]: 403,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.ABORTED]: 409,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNIMPLEMENTED]: 501,
  [Code.INTERNAL]: 500,
  [Code.UNAVAILABLE]: 503,
  [Code.DATA_LOSS]: 500,
  [Code.UNAUTHENTICATED]: 401,
};

export function httpStatusFor(code: Code): number {
  return httpStatuses[code];
}
