// Ctrl-C (SIGINT) or SIGTERM during a long command: the first asks the work to stop at its next safe
// point (an AbortSignal the work checks), the second exits at once. The command reports what was
// kept and exits 130, as a shell expects of an interrupted program.
import { say } from './io.js';

export interface Interrupt {
  signal: AbortSignal;
  /** Removes the handlers (when the command ends either way). */
  release(): void;
}

/**
 * `what`: what the first signal does, in a few words ("finishing this step and writing a checkpoint").
 * `quiet`: say nothing (the ranks other than 0 of an MPI job, which mpirun signals all at once).
 */
export function onInterrupt(what: string, quiet = false): Interrupt {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (!quiet) say(`${signal}: ${what} (${signal} again stops at once)`);
    controller.abort();
    process.once(signal, () => process.exit(130));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return {
    signal: controller.signal,
    release: () => {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    },
  };
}

/** True for the error an aborted signal makes the work throw. */
export const isAbort = (error: unknown) => error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR');
