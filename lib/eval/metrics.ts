// Retrieval metrics over ranked lists (best first). `relevant` holds the relevant document ids of a
// query, with graded relevance for nDCG (1 when binary).
export type Ranking = ArrayLike<number>;
export type Relevance = Map<number, number>;

/** Reciprocal rank of the first relevant document within the top k (0 when none). */
export function reciprocalRank(ranking: Ranking, relevant: Relevance, k = Infinity): number {
  const n = Math.min(k, ranking.length);
  for (let r = 0; r < n; r++) if ((relevant.get(ranking[r]!) ?? 0) > 0) return 1 / (r + 1);
  return 0;
}

/** Fraction of the relevant documents found in the top k. */
export function recall(ranking: Ranking, relevant: Relevance, k: number): number {
  let total = 0;
  for (const g of relevant.values()) if (g > 0) total++;
  if (total === 0) return 0;
  let found = 0;
  const n = Math.min(k, ranking.length);
  for (let r = 0; r < n; r++) if ((relevant.get(ranking[r]!) ?? 0) > 0) found++;
  return found / total;
}

/** nDCG@k with gains 2^rel − 1 and log₂(rank + 1) discounts (the BEIR / trec_eval definition). */
export function ndcg(ranking: Ranking, relevant: Relevance, k: number): number {
  const gain = (g: number) => 2 ** g - 1;
  let dcg = 0;
  const n = Math.min(k, ranking.length);
  for (let r = 0; r < n; r++) dcg += gain(relevant.get(ranking[r]!) ?? 0) / Math.log2(r + 2);
  const ideal = [...relevant.values()].filter((g) => g > 0).sort((a, b) => b - a).slice(0, k);
  let idcg = 0;
  ideal.forEach((g, r) => (idcg += gain(g) / Math.log2(r + 2)));
  return idcg > 0 ? dcg / idcg : 0;
}

export interface RetrievalScores {
  'mrr@10': number;
  'ndcg@10': number;
  'recall@1': number;
  'recall@10': number;
  'recall@100': number;
  mrr: number;
}

/** Means over queries of the usual retrieval metrics. */
export function retrievalScores(rankings: Ranking[], relevant: Relevance[]): RetrievalScores {
  const mean = (f: (i: number) => number) => rankings.reduce((s, _, i) => s + f(i), 0) / Math.max(1, rankings.length);
  return {
    'mrr@10': mean((i) => reciprocalRank(rankings[i]!, relevant[i]!, 10)),
    'ndcg@10': mean((i) => ndcg(rankings[i]!, relevant[i]!, 10)),
    'recall@1': mean((i) => recall(rankings[i]!, relevant[i]!, 1)),
    'recall@10': mean((i) => recall(rankings[i]!, relevant[i]!, 10)),
    'recall@100': mean((i) => recall(rankings[i]!, relevant[i]!, 100)),
    mrr: mean((i) => reciprocalRank(rankings[i]!, relevant[i]!)),
  };
}
