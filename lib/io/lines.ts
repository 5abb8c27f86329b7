// The one reader of line-oriented files (plain lines, JSON Lines, TSV): streamed, so that a file of
// any size is read in bounded memory and a bad line is reported before the rest is read; a leading
// byte-order mark (Windows editors) is not content; \r\n and \n both end a line; blank lines are
// skipped; every error names the file and the line.
import { createInterface } from 'node:readline';

import { regularFileStream } from './read-file.js';

export interface Line {
  text: string;
  /** 1-based, counting blank lines. */
  line: number;
}

/** A file's (or a stream's: stdin) non-blank lines, in order. */
export async function* textLines(source: string | NodeJS.ReadableStream): AsyncGenerator<Line> {
  const input = typeof source === 'string' ? regularFileStream(source) : source;
  let line = 0;
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    line++;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() !== '') yield { text, line };
  }
}

/**
 * A JSON Lines file's objects, in order. `expected` says what a line should hold (`{"query", "positive"}`),
 * for the error when a line is valid JSON but not an object.
 */
export async function* jsonObjectLines(file: string, expected: string): AsyncGenerator<{ value: Record<string, unknown>; line: number }> {
  for await (const { text, line } of textLines(file)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new RangeError(`${file}:${line}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new RangeError(`${file}:${line}: expected a JSON object ${expected}, got ${text.trim().slice(0, 40)}`);
    yield { value: value as Record<string, unknown>, line };
  }
}

/** A tab-separated file's rows (cells as written, the line's ends trimmed). */
export async function* tsvRows(file: string): AsyncGenerator<{ cells: string[]; line: number }> {
  for await (const { text, line } of textLines(file)) yield { cells: text.trim().split('\t'), line };
}

/** Everything an async generator yields, in an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
