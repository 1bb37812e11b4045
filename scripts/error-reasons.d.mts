/** Where a FerryError reason is raised: the code(s) found beside it and the files that raise it. */
export interface ErrorReasonUse {
  readonly codes: Set<string>;
  readonly files: Set<string>;
}

/** Every FerryError reason the packages raise, by reason (see scripts/error-reasons.mjs). */
export function errorReasons(): Map<string, ErrorReasonUse>;
