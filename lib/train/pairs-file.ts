// Training pairs from JSON Lines: one {"query": …, "positive": …, "negatives"?: […], "group"?: …} object a line.
// A malformed line is an error naming the file and the line; blank lines are skipped.
import { jsonObjectLines, textLines } from '../io/lines.js';
import type { Pair } from '../pairs/pair.js';
import { PairGrouper, type PairGroups } from './pair-groups.js';
import { PairsFingerprint } from './pairs-fingerprint.js';

export type { Pair };

function checkPair(value: unknown, where: string): Pair {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RangeError(`${where}: expected an object {"query", "positive", "negatives"?}`);
  const { query, positive, negatives, group } = value as Record<string, unknown>;
  for (const [name, text] of [['query', query], ['positive', positive]] as const)
    if (typeof text !== 'string' || text.trim() === '') throw new RangeError(`${where}: "${name}" must be a non-empty string`);
  if (group !== undefined && (typeof group !== 'string' || group === ''))
    throw new RangeError(`${where}: "group" must be a non-empty string (pairs of one group are never each other's negatives)`);
  const pair: Pair = { query: query as string, positive: positive as string };
  if (negatives !== undefined) {
    if (!Array.isArray(negatives) || negatives.some((n) => typeof n !== 'string' || n.trim() === ''))
      throw new RangeError(`${where}: "negatives" must be an array of non-empty strings`);
    pair.negatives = negatives as string[];
  }
  if (group !== undefined) pair.group = group as string;
  return pair;
}

/** All pairs of a JSONL file, checked. */
export async function readPairs(file: string): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for await (const { value, line } of jsonObjectLines(file, '{"query", "positive", "negatives"?, "group"?}')) pairs.push(checkPair(value, `${file}:${line}`));
  if (pairs.length === 0) throw new RangeError(`${file}: no pairs (expected one JSON object a line)`);
  return pairs;
}

/** The pairs of an array, checked as if they came from a file. */
export function checkPairs(values: readonly unknown[], name = 'pairs'): Pair[] {
  if (values.length === 0) throw new RangeError(`${name}: expected at least one pair`);
  return values.map((v, i) => checkPair(v, `${name}[${i}]`));
}

/** What training needs to know of a pairs file without holding its pairs: read once, every line checked. */
export interface PairsFileScan {
  file: string;
  count: number;
  /** As `fingerprint(pairs)` of the file's pairs. */
  fingerprint: string;
  /** As `pairGroups(pairs)`. */
  groups: PairGroups;
}

export async function scanPairsFile(file: string): Promise<PairsFileScan> {
  const fingerprint = new PairsFingerprint();
  const grouper = new PairGrouper();
  let count = 0;
  for await (const { value, line } of jsonObjectLines(file, '{"query", "positive", "negatives"?, "group"?}')) {
    const pair = checkPair(value, `${file}:${line}`);
    fingerprint.add(pair);
    grouper.add(pair);
    count++;
  }
  if (count === 0) throw new RangeError(`${file}: no pairs (expected one JSON object a line)`);
  return { file, count, fingerprint: fingerprint.digest(), groups: grouper.finish() };
}

/**
 * The pairs of a file at these indices (0-based among its pairs, as `readPairs` numbers them); only
 * their lines are parsed (the file is read to its end, which also says whether it was cut short).
 */
export async function readPairsAt(file: string, indices: ArrayLike<number>): Promise<Map<number, Pair>> {
  const wanted = new Set<number>(Array.from(indices));
  const pairs = new Map<number, Pair>();
  let index = 0;
  for await (const { text, line } of textLines(file)) {
    if (wanted.has(index)) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new RangeError(`${file}:${line}: not valid JSON (${(error as Error).message})`);
      }
      pairs.set(index, checkPair(value, `${file}:${line}`));
    }
    index++;
  }
  if (pairs.size !== wanted.size) throw new RangeError(`${file}: has ${index} pairs, fewer than the ${Math.max(...wanted) + 1} it had when the run began`);
  return pairs;
}

/** The texts of a file's pairs (each side and the hard negatives), a chunk at a time. */
export async function* pairTextChunks(file: string, chunk = 4096): AsyncGenerator<string[]> {
  let texts: string[] = [];
  for await (const { value, line } of jsonObjectLines(file, '{"query", "positive", "negatives"?, "group"?}')) {
    const p = checkPair(value, `${file}:${line}`);
    texts.push(p.query, p.positive, ...(p.negatives ?? []));
    if (texts.length >= chunk) {
      yield texts;
      texts = [];
    }
  }
  if (texts.length > 0) yield texts;
}
