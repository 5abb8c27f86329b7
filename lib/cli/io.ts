// What the commands share: messages on stderr (stdout stays for data), and reading and writing the
// line-oriented files they take.
import { writeFileAtomic } from '../io/atomic.js';
import { jsonObjectLines, textLines } from '../io/lines.js';
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
  const lines: string[] = [];
  for await (const { text } of textLines(file ?? process.stdin)) lines.push(text);
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

export async function readCorpus(file: string, format: CorpusFormat = corpusFormat(file)): Promise<string[]> {
  const texts: string[] = [];
  if (format === 'lines') {
    for await (const { text } of textLines(file)) texts.push(text);
    return texts;
  }
  for await (const { value, line } of jsonObjectLines(file, '{"text"}')) {
    const text = value.text ?? value.positive;
    if (typeof text !== 'string') throw new RangeError(`${file}:${line}: no "text" field`);
    texts.push(text);
  }
  return texts;
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
