// Errors of the TypeScript layer, with the same `code`s the native bindings give theirs, so that a
// caller can branch on err.code whichever layer found the problem.

/** A value of the wrong type (code ERR_INVALID_ARG_TYPE). */
export function invalidType(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

/** A value of the right type but out of range or inconsistent (code ERR_OUT_OF_RANGE). */
export function outOfRange(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

/** A file whose content is not what it should be (code ERR_INVALID_FILE): names the file and what is wrong. */
export function invalidFile(file: string, message: string): RangeError {
  return Object.assign(new RangeError(`${file}: ${message}`), { code: 'ERR_INVALID_FILE' });
}
