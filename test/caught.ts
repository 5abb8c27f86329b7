// What a call threw or a promise rejected with, for tests that look at the error (its class, code
// and message) rather than only that there was one; undefined when it succeeded.
export type CaughtError = Error & { code?: string };

export const rejection = <T>(promise: Promise<T>): Promise<CaughtError | undefined> =>
  promise.then(() => undefined, (e: CaughtError) => e);

export function thrown(f: () => unknown): CaughtError | undefined {
  try {
    f();
  } catch (e) {
    return e as CaughtError;
  }
  return undefined;
}
