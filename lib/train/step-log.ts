// The step log, train.jsonl: one JSON record a step, appended after each step. An interruption in
// the middle of an append (a kill, a full disk) leaves a torn last line; reading drops it, and says
// so, since the checkpoint the run resumes from never covers a step whose record was not complete.
// Any other line that is not a record is an error naming the file and the line.
import { existsSync } from 'node:fs';

import { readTextFile } from '../io/read-file.js';
import { invalidFile } from '../util/errors.js';

export interface StepLog<T> {
  records: T[];
  /** The torn last line, when there was one (dropped). */
  torn?: string;
}

export function readStepLog<T extends { step: number }>(file: string): StepLog<T> {
  if (!existsSync(file)) return { records: [] };
  const text = readTextFile(file);
  const lines = text.split('\n');
  const records: T[] = [];
  let torn: string | undefined;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      // Only the last line may be torn: it is the one an append was writing (no newline after it).
      if (i === lines.length - 1 && !text.endsWith('\n')) {
        torn = line;
        return;
      }
      throw invalidFile(file, `line ${i + 1} is not JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || !Number.isSafeInteger((value as { step?: unknown }).step))
      throw invalidFile(file, `line ${i + 1} is not a step record (expected an object with an integer "step")`);
    records.push(value as T);
  });
  return torn === undefined ? { records } : { records, torn };
}
