// Hybrid search: BM25 and a dense model fused by weighted reciprocal-rank fusion,
//   score(d) = w / (60 + rank_dense(d)) + (1 − w) / (60 + rank_bm25(d))      (ranks from 1; absent: 0)
// Ranks, not scores: BM25 scores and cosines live on unrelated scales, and ranks need no calibration.
// w = 1 is the dense model alone, w = 0 BM25 alone. In evaluation the weight is cross-fitted: the
// queries are split in two seeded halves, each half is scored with the weight that did best on the
// other, so no query is ever scored with a weight chosen on it.
import { permutation } from '../util/random.js';

/** The constant of reciprocal-rank fusion (Cormack et al., 2009): damps the weight of the very top ranks. */
export const RRF_K = 60;
export const DEFAULT_HYBRID_WEIGHT = 0.5;
const WEIGHTS = Array.from({ length: 11 }, (_, i) => i / 10);

export interface FusedHit {
  id: number;
  score: number;
}

/** The two rankings (ids, best first) fused with dense weight `weight`; the best `limit` hits. */
export function fuseRankings(dense: ArrayLike<number>, lexical: ArrayLike<number>, weight: number, limit: number): FusedHit[] {
  const score = new Map<number, number>();
  for (let r = 0; r < dense.length; r++) score.set(dense[r]!, (score.get(dense[r]!) ?? 0) + weight / (RRF_K + r + 1));
  for (let r = 0; r < lexical.length; r++) score.set(lexical[r]!, (score.get(lexical[r]!) ?? 0) + (1 - weight) / (RRF_K + r + 1));
  return [...score]
    .map(([id, s]) => ({ id, score: s }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, limit);
}

export interface CrossFitted<T> {
  /** The per-query results, each computed with the weight chosen on the other half. */
  results: T[];
  /** The weight each half was scored with (chosen on the other half). */
  weights: [number, number];
}

/**
 * Cross-fitted fusion for `queries` queries: `evaluate(query, weight)` scores one query at one weight
 * (higher is better) and returns its result; each half is scored at the weight with the best mean
 * score on the other half (ties: the weight nearest ½).
 */
export function crossFit<T extends { score: number }>(queries: number, evaluate: (query: number, weight: number) => T, seed = 31): CrossFitted<T> {
  const order = permutation(queries, seed);
  const halves = [Array.from(order.subarray(0, queries >> 1)), Array.from(order.subarray(queries >> 1))] as const;
  const best = (half: readonly number[]) => {
    let chosen = DEFAULT_HYBRID_WEIGHT;
    let top = -Infinity;
    for (const w of WEIGHTS) {
      const mean = half.reduce((sum, q) => sum + evaluate(q, w).score, 0) / Math.max(1, half.length);
      if (mean > top + 1e-12 || (Math.abs(mean - top) <= 1e-12 && Math.abs(w - 0.5) < Math.abs(chosen - 0.5))) {
        top = mean;
        chosen = w;
      }
    }
    return chosen;
  };
  // A half with no queries (one query in all) borrows the default.
  const weights: [number, number] = [halves[1].length ? best(halves[1]) : DEFAULT_HYBRID_WEIGHT, halves[0].length ? best(halves[0]) : DEFAULT_HYBRID_WEIGHT];
  const results = new Array<T>(queries);
  halves.forEach((half, h) => half.forEach((q) => (results[q] = evaluate(q, weights[h]!))));
  return { results, weights };
}
