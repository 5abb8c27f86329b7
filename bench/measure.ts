// Timing and memory measurement for the benchmarks.
import { readFileSync, writeFileSync } from 'node:fs';

import { workNote } from '../lib/util/eta.js';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A "Name:   123 kB" line of a /proc file, in bytes. */
function procKilobytes(file: string, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(file, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface Measurement<T> {
  value: T;
  seconds: number;
  /** Peak resident memory of the whole process during the work. */
  peakResidentBytes: number;
  /** True when the peak was reset before the work (Linux), so it belongs to this work alone. */
  peakIsExact: boolean;
}

/**
 * Runs `work` once and measures its wall time and the process's peak resident memory. On Linux the
 * high-water mark is reset first (writing 5 to /proc/self/clear_refs), so the peak belongs to this
 * work, not to whatever ran before it in the process; elsewhere it is the lifetime peak.
 */
export async function measure<T>(work: () => Promise<T>): Promise<Measurement<T>> {
  let exact = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    exact = procKilobytes('/proc/self/status', 'VmHWM') !== undefined;
  } catch {
    exact = false;
  }
  const start = process.hrtime.bigint();
  const value = await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const peak = (exact ? procKilobytes('/proc/self/status', 'VmHWM') : undefined) ?? process.resourceUsage().maxRSS * 1024;
  return { value, seconds, peakResidentBytes: peak, peakIsExact: exact };
}

/** Memory a new allocation can still get without swapping (MemAvailable), if the OS says. */
export function availableMemoryBytes(): number | undefined {
  return procKilobytes('/proc/meminfo', 'MemAvailable');
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}

/**
 * Progress over benchmark sizes that cost about M²·D each: `say` adds the time so far and an estimate
 * of the rest (from the time per unit of the sizes done); call `sizeDone(M)` after each size.
 */
export function sizedProgress(sizes: readonly number[], dim: number, progress?: (message: string) => void) {
  const started = Date.now();
  const total = sizes.reduce((sum, m) => sum + m * m * dim, 0);
  let done = 0;
  return {
    say: (message: string) => progress?.(`${message} (${workNote(done, total, started)})`),
    sizeDone: (m: number) => {
      done += m * m * dim;
    },
  };
}
