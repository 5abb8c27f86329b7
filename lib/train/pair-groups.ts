// Which pairs must never be each other's negatives: pairs that share a text (a query or a positive,
// in either role: the same document twice, or one pair's query as another's positive, as neighbouring
// passages make them) or that name the same `group`, joined transitively (union-find). The trainer
// passes the result to the loss as `groups`, so a duplicate is never pushed away from its own twin.
// The texts are known by a digest (SHA-256), so that a file's pairs can be grouped as they stream by.
import { createHash } from 'node:crypto';

import type { Pair } from '../pairs/pair.js';

export interface PairGroups {
  /** The group of each pair: the index of the first pair of its component. */
  group: Int32Array;
  /** Pairs that share their group with at least one other pair. */
  grouped: number;
  /** Groups of more than one pair. */
  groups: number;
}

/** Groups pairs given one at a time, in their order (their indices 0, 1, …). */
export class PairGrouper {
  private parent = new Int32Array(1024);
  private count = 0;
  private readonly firstWith = new Map<string, number>();

  add(pair: Pair): void {
    const i = this.count++;
    if (i === this.parent.length) {
      const grown = new Int32Array(2 * i);
      grown.set(this.parent);
      this.parent = grown;
    }
    this.parent[i] = i;
    this.join(`t${pair.query}`, i);
    this.join(`t${pair.positive}`, i);
    if (pair.group !== undefined) this.join(`g${pair.group}`, i);
  }

  finish(): PairGroups {
    const group = new Int32Array(this.count);
    const size = new Map<number, number>();
    for (let i = 0; i < this.count; i++) {
      group[i] = this.find(i);
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

  private find(i: number): number {
    const parent = this.parent;
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!; // path halving
      i = parent[i]!;
    }
    return i;
  }

  private join(key: string, i: number): void {
    const digest = createHash('sha256').update(key).digest('base64');
    const first = this.firstWith.get(digest);
    if (first === undefined) {
      this.firstWith.set(digest, i);
      return;
    }
    const [a, b] = [this.find(first), this.find(i)];
    if (a !== b) this.parent[Math.max(a, b)] = Math.min(a, b);
  }
}

export function pairGroups(pairs: readonly Pair[]): PairGroups {
  const grouper = new PairGrouper();
  for (const p of pairs) grouper.add(p);
  return grouper.finish();
}
