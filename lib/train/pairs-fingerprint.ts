// A fingerprint of training pairs (their texts, hard negatives and groups, in order): a checkpoint
// records it, and a resume on other pairs is refused. Taken pair by pair, so that a file's pairs
// can be fingerprinted as they stream by, with the same result as the array's.
import { createHash, type Hash } from 'node:crypto';

import type { Pair } from '../pairs/pair.js';

export class PairsFingerprint {
  private readonly hash: Hash = createHash('sha256');

  add(p: Pair): void {
    this.hash.update(p.query).update('\u0000').update(p.positive).update('\u0001').update((p.negatives ?? []).join('\u0002'));
    if (p.group !== undefined) this.hash.update('\u0003').update(p.group);
  }

  digest(): string {
    return this.hash.digest('hex').slice(0, 16);
  }
}

export function fingerprint(pairs: readonly Pair[]): string {
  const f = new PairsFingerprint();
  for (const p of pairs) f.add(p);
  return f.digest();
}
