// Which pairs must never be each other's negatives: pairs that share a text (a query or a positive,
// in either role: the same document twice, or one pair's query as another's positive, as neighbouring
// passages make them) or that name the same `group`, joined transitively (union-find). The trainer
// passes the result to the loss as `groups`, so a duplicate is never pushed away from its own twin.
import type { Pair } from '../pairs/pair.js';

export interface PairGroups {
  /** The group of each pair: the index of the first pair of its component. */
  group: Int32Array;
  /** Pairs that share their group with at least one other pair. */
  grouped: number;
  /** Groups of more than one pair. */
  groups: number;
}

export function pairGroups(pairs: readonly Pair[]): PairGroups {
  const parent = Int32Array.from({ length: pairs.length }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!; // path halving
      i = parent[i]!;
    }
    return i;
  };
  const union = (a: number, b: number) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const firstWith = new Map<string, number>();
  const join = (key: string, i: number) => {
    const first = firstWith.get(key);
    if (first === undefined) firstWith.set(key, i);
    else union(first, i);
  };
  pairs.forEach((p, i) => {
    join(`t${p.query}`, i);
    join(`t${p.positive}`, i);
    if (p.group !== undefined) join(`g${p.group}`, i);
  });
  const group = new Int32Array(pairs.length);
  const size = new Map<number, number>();
  for (let i = 0; i < pairs.length; i++) {
    group[i] = find(i);
    size.set(group[i]!, (size.get(group[i]!) ?? 0) + 1);
  }
  let grouped = 0;
  let groups = 0;
  for (const n of size.values())
    if (n > 1) {
      grouped += n;
      groups++;
    }
  return { group, grouped, groups };
}
