// Errors of the TypeScript layer, with the same `code`s the native bindings give theirs, so that a
// caller can branch on err.code whichever layer found the problem (every code: lib/error-codes.ts).
import type { InfonceErrorCode } from '../error-codes.js';

const withCode = <E extends Error>(error: E, code: InfonceErrorCode): E & { code: InfonceErrorCode } => Object.assign(error, { code });

/** A value of the wrong type (code ERR_INVALID_ARG_TYPE). */
export function invalidType(message: string): TypeError {
  return withCode(new TypeError(message), 'ERR_INVALID_ARG_TYPE');
}

/** A value of the right type but out of range or inconsistent (code ERR_OUT_OF_RANGE). */
export function outOfRange(message: string): RangeError {
  return withCode(new RangeError(message), 'ERR_OUT_OF_RANGE');
}

/** A file whose content is not what it should be (code ERR_INVALID_FILE): names the file and what is wrong. */
export function invalidFile(file: string, message: string): RangeError {
  return withCode(new RangeError(`${file}: ${message}`), 'ERR_INVALID_FILE');
}
