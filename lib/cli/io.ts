// What the commands share: messages on stderr (stdout stays for data), and reading and writing the
// line-oriented files they take.
import { createInterface } from 'node:readline';

import { writeFileAtomic } from '../io/atomic.js';
import { readTextFile, regularFileStream } from '../io/read-file.js';
import type { Pair } from '../pairs/pair.js';

/** A message for the person at the terminal, on stderr. */
export const say = (message: string) => process.stderr.write(`infonce: ${message}\n`);

export function writePairs(pairs: Pair[], out: string | undefined): void {
  const text = pairs.map((p) => JSON.stringify(p) + '\n').join('');
  if (out) {
    writeFileAtomic(out, text);
    say(`${pairs.length} pairs written to ${out}`);
  } else {
    process.stdout.write(text);
  }
}

// Texts, one per line (blank lines skipped), from a file or from stdin.
export async function readLines(file: string | undefined): Promise<string[]> {
  const input = file ? regularFileStream(file) : process.stdin;
  const lines: string[] = [];
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    const line = lines.length === 0 ? raw.replace(/^\uFEFF/, '') : raw; // a byte-order mark is not text
    if (line.trim() !== '') lines.push(line);
  }
  return lines;
}

// A corpus file: one text a line, or JSON Lines with a "text" (or "positive") field.
// The format is said, or read from the extension (.jsonl, .ndjson, .json: JSON Lines), never guessed
// from a line's first character: a plain line may well start with "{".
export type CorpusFormat = 'lines' | 'jsonl';
export function corpusFormat(file: string, format?: string): CorpusFormat {
  if (format === 'lines' || format === 'jsonl') return format;
  if (format !== undefined) throw new RangeError(`--format takes lines or jsonl, got '${format}'`);
  return /\.(jsonl|ndjson|json)$/i.test(file) ? 'jsonl' : 'lines';
}

export function readCorpus(file: string, format: CorpusFormat = corpusFormat(file)): string[] {
  const lines = readTextFile(file).split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    if (format === 'lines') return line;
    try {
      const value = JSON.parse(line) as { text?: unknown; positive?: unknown };
      const text = value.text ?? value.positive;
      if (typeof text !== 'string') throw new Error('no "text" field');
      return text;
    } catch (error) {
      throw new RangeError(`${file}:${i + 1}: ${(error as Error).message}`);
    }
  });
}

/**
 * Status of long work on stderr: one rewritten line on a terminal; in a log or a pipe, a plain line at
 * most every 5 s, so that a piped run is never silent for long (stdout stays for the results).
 */
export function statusLine(): { update(message: string): void; done(): void } {
  if (process.stderr.isTTY)
    return {
      update: (message) => process.stderr.write(`\r\x1b[K${message.slice(0, 100)}`),
      done: () => process.stderr.write('\r\x1b[K'),
    };
  let last = 0;
  return {
    update(message) {
      const now = Date.now();
      if (now - last < 5000) return;
      last = now;
      say(message);
    },
    done() {},
  };
}
