// Training pairs from JSON Lines: one {"query": …, "positive": …, "negatives"?: […], "group"?: …} object a line.
// A malformed line is an error naming the file and the line; blank lines are skipped.
import { jsonObjectLines } from '../io/lines.js';
import type { Pair } from '../pairs/pair.js';

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
