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

/** Fraction of predictions equal to the labels. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hits++;
  return labels.length ? hits / labels.length : 0;
}

/** The mean over the classes present in the labels of each class's F1 (a class never predicted right scores 0). */
export function macroF1(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  const classes = new Set<number>();
  for (let i = 0; i < labels.length; i++) classes.add(labels[i]!);
  let total = 0;
  for (const c of classes) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < labels.length; i++) {
      if (predicted[i] === c && labels[i] === c) tp++;
      else if (predicted[i] === c) fp++;
      else if (labels[i] === c) fn++;
    }
    total += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return classes.size ? total / classes.size : 0;
}

/** Ranks 1..n with ties given their average rank. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const out = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && values[order[end + 1]!] === values[order[start]!]) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) out[order[k]!] = rank;
    start = end + 1;
  }
  return out;
}

/** Spearman's rank correlation: Pearson's correlation of the (tie-averaged) ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const mean = (n + 1) / 2;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    cov += (ra[i]! - mean) * (rb[i]! - mean);
    va += (ra[i]! - mean) ** 2;
    vb += (rb[i]! - mean) ** 2;
  }
  return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0;
}
