// "k of n, 12 s, about 40 s left" for long loops: the rest estimated from the mean time of the
// parts done so far (nothing said about the rest before the first part is done).
export function progressNote(done: number, total: number, startedMs: number, now = Date.now()): string {
  const elapsed = (now - startedMs) / 1000;
  const left = done > 0 && done < total ? `, about ${duration((elapsed / done) * (total - done))} left` : '';
  return `${Math.min(done + 1, total)} of ${total}, ${duration(elapsed)}${left}`;
}

/**
 * "40 s, about 2 min 5 s left" for work whose parts cost unequal amounts (a benchmark's sizes: M²·D
 * each): the rest estimated from the time per unit of the work done (nothing said before any is done).
 */
export function workNote(doneWork: number, totalWork: number, startedMs: number, now = Date.now()): string {
  const elapsed = (now - startedMs) / 1000;
  const left = doneWork > 0 && doneWork < totalWork ? `, about ${duration((elapsed / doneWork) * (totalWork - doneWork))} left` : '';
  return `${duration(elapsed)}${left}`;
}

/** Seconds as "42 s", "3 min 5 s" or "1 h 2 min". */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
