// Where an asynchronous call was made, for its rejection. A worker thread's error reaches JavaScript
// with no frame of the caller's code (the stack begins in the event loop); capturing the stack when
// the call is made, and giving it to the error when the promise rejects, makes the trace point at
// the caller's line (sharp does the same for its pipeline).

/**
 * `promise`, whose rejection (an Error) gets the stack of the place that called `entry`: its own
 * message, then the caller's frames. Call it synchronously in the public function, before any await.
 */
export function withCallerStack<T>(promise: Promise<T>, entry: (...args: never[]) => unknown): Promise<T> {
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, entry);
  return promise.catch((error: unknown) => {
    if (error instanceof Error && site.stack) {
      const frames = site.stack.slice(site.stack.indexOf('\n'));
      error.stack = `${error.name}: ${error.message}${frames}`;
    }
    throw error;
  });
}
