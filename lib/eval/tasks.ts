// The evaluation tasks of the cpt paper, and how a model is scored on each: search (nDCG@10, MRR@10,
// recall), code search (MRR against sampled distractors), classification (linear probe, k-NN,
// zero-shot: accuracy and macro-F1) and sentence similarity (Spearman).
import { addon } from '../native.js';
import { search } from '../search.js';
import { permutation } from '../util/random.js';
import { Bm25Index, EVAL_BM25, type Bm25Parameters } from './bm25.js';
import type { Embedder } from './embedders.js';
import { crossFit, fuseRankings, RRF_K } from './hybrid.js';
import { accuracy, macroF1, ndcg, retrievalScores, spearman, type Relevance } from './metrics.js';

export interface Document {
  id: string;
  text: string;
}

export interface SearchTask {
  kind: 'search';
  name: string;
  queries: Document[];
  /** The corpus, in chunks: embedded and searched a chunk at a time, so memory stays bounded. */
  corpus: () => AsyncIterable<Document[]>;
  /** query id → (document id → relevance grade). */
  qrels: Map<string, Map<string, number>>;
}

export interface CodeSearchTask {
  kind: 'code';
  name: string;
  pairs: Array<{ query: string; positive: string }>;
  /** Rank each positive against this many positives of other pairs (CodeSearchNet: 999); all when absent. */
  distractors?: number;
}

export interface ClassificationTask {
  kind: 'classify';
  name: string;
  labels: string[];
  /** What zero-shot embeds for each label (default: the label). */
  descriptions?: string[];
  train: Array<{ text: string; label: number }>;
  test: Array<{ text: string; label: number }>;
}

export interface SimilarityTask {
  kind: 'similarity';
  name: string;
  pairs: Array<{ a: string; b: string; score: number }>;
}

export type Task = SearchTask | CodeSearchTask | ClassificationTask | SimilarityTask;

/** Reciprocal-rank fusion of BM25 and a dense model (hybrid.ts), its weight cross-fitted per task. */
export interface HybridModel {
  hybrid: Embedder;
}

/** The lexical baseline with parameters of its own (bench/bm25-parameters.ts); 'bm25' is `{ bm25: {} }`. */
export interface LexicalModel {
  bm25: Bm25Parameters;
}

/** A model: an embedder, the lexical baseline, or the two fused. */
export type Model = Embedder | 'bm25' | LexicalModel | HybridModel;

const isHybrid = (m: Model): m is HybridModel => typeof m === 'object' && 'hybrid' in m;
const isLexical = (m: Model): m is 'bm25' | LexicalModel => m === 'bm25' || (typeof m === 'object' && 'bm25' in m);
// BM25's parameters: EVAL_BM25 (identifiers split), or the model's own.
const lexicalParameters = (m: Model): Bm25Parameters => (typeof m === 'object' && 'bm25' in m ? m.bm25 : EVAL_BM25);

export const modelName = (m: Model) =>
  m === 'bm25' ? 'BM25' : isLexical(m) ? `BM25 ${JSON.stringify(m.bm25)}` : isHybrid(m) ? `hybrid (BM25 + ${m.hybrid.name})` : m.name;

export type Scores = Record<string, number>;

const TOP = 100;

// Merges a chunk's top-k (indices into the chunk) into a query's running top-k (global ids).
function mergeTop(current: Array<{ id: number; score: number }>, hits: Array<{ id: number; score: number }>): Array<{ id: number; score: number }> {
  return [...current, ...hits].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, TOP);
}

// Each query's top documents by BM25 (ids in corpus order), and those ids.
async function lexicalRankings(task: SearchTask, parameters: Bm25Parameters): Promise<{ docIds: string[]; rankings: number[][] }> {
  const docIds: string[] = [];
  const texts: string[] = [];
  for await (const chunk of task.corpus()) for (const d of chunk) docIds.push(d.id), texts.push(d.text);
  const index = new Bm25Index(texts, parameters);
  return { docIds, rankings: task.queries.map((q) => index.rank(q.text, TOP)) };
}

// Each query's top documents by the dense model, the corpus embedded and searched a chunk at a time.
async function denseRankings(model: Embedder, task: SearchTask, progress?: (m: string) => void): Promise<{ docIds: string[]; rankings: number[][] }> {
  const docIds: string[] = [];
  const queries = await model.embed(task.queries.map((q) => q.text), 'query');
  let tops = task.queries.map(() => [] as Array<{ id: number; score: number }>);
  for await (const chunk of task.corpus()) {
    const base = docIds.length;
    for (const d of chunk) docIds.push(d.id);
    const docs = await model.embed(chunk.map((d) => d.text), 'document');
    const k = Math.min(TOP, chunk.length);
    const { indices, scores } = await search(queries, docs, { dim: model.dim, k });
    tops = tops.map((top, q) => mergeTop(top, Array.from({ length: k }, (_, r) => ({ id: base + indices[q * k + r]!, score: scores[q * k + r]! }))));
    progress?.(`${task.name}: ${docIds.length} documents`);
  }
  return { docIds, rankings: tops.map((top) => top.map((h) => h.id)) };
}

async function searchTask(model: Model, task: SearchTask, progress?: (m: string) => void): Promise<Scores> {
  const lexical = isLexical(model) || isHybrid(model) ? await lexicalRankings(task, lexicalParameters(model)) : undefined;
  const dense = isLexical(model) ? undefined : await denseRankings(isHybrid(model) ? model.hybrid : model, task, progress);
  const docIds = (lexical ?? dense)!.docIds;
  const position = new Map(docIds.map((id, i) => [id, i]));
  const relevant: Relevance[] = task.queries.map((q) => {
    const grades = task.qrels.get(q.id) ?? new Map<string, number>();
    return new Map([...grades].filter(([id]) => position.has(id)).map(([id, g]) => [position.get(id)!, g]));
  });
  let rankings: number[][];
  const extra: Scores = {};
  if (lexical && dense) {
    const fused = crossFit(task.queries.length, (q, w) => {
      const ranking = fuseRankings(dense.rankings[q]!, lexical.rankings[q]!, w, TOP).map((h) => h.id);
      return { ranking, score: ndcg(ranking, relevant[q]!, 10) };
    });
    rankings = fused.results.map((r) => r.ranking);
    extra['dense weight'] = (fused.weights[0] + fused.weights[1]) / 2;
  } else {
    rankings = (lexical ?? dense)!.rankings;
  }
  const s = retrievalScores(rankings, relevant);
  return { 'ndcg@10': s['ndcg@10'], 'mrr@10': s['mrr@10'], 'recall@1': s['recall@1'], 'recall@10': s['recall@10'], 'recall@100': s['recall@100'], ...extra };
}

// Each query's rank (1 = best) of every candidate and its score (higher is better): by BM25 (a
// candidate that shares no word with the query is absent: below all others) or by the model's cosine.
interface CandidateOrder {
  rank: Map<number, number>;
  score: (j: number) => number;
}

async function codeOrders(model: Embedder | LexicalModel, task: CodeSearchTask): Promise<CandidateOrder[]> {
  const n = task.pairs.length;
  if ('bm25' in model) {
    const index = new Bm25Index(task.pairs.map((p) => p.positive), model.bm25);
    return task.pairs.map((p) => {
      // Ordered by rank (ties in score broken by id, as BM25 lists them), unmatched candidates last.
      const rank = new Map(index.rank(p.query, n).map((id, r) => [id, r + 1]));
      return { rank, score: (j: number) => { const r = rank.get(j); return r === undefined ? 0 : 1 / r; } };
    });
  }
  const queries = await model.embed(task.pairs.map((p) => p.query), 'query');
  const codes = await model.embed(task.pairs.map((p) => p.positive), 'document');
  const { indices, scores } = await search(queries, codes, { dim: model.dim, k: n });
  return task.pairs.map((_, i) => {
    const rank = new Map<number, number>();
    const score = new Map<number, number>();
    for (let r = 0; r < n; r++) rank.set(indices[i * n + r]!, r + 1), score.set(indices[i * n + r]!, scores[i * n + r]!);
    return { rank, score: (j: number) => score.get(j)! };
  });
}

// Code search as CodeSearchNet scores it: the rank of each positive among itself and `distractors`
// positives of other pairs (all others when absent), mean reciprocal rank.
async function codeTask(model: Model, task: CodeSearchTask): Promise<Scores> {
  const n = task.pairs.length;
  const distractors = Math.min(task.distractors ?? n - 1, n - 1);
  const others = Array.from({ length: n }, (_, i) =>
    Array.from(permutation(n, 7919 * (i + 1)))
      .filter((j) => j !== i)
      .slice(0, distractors),
  );
  // The positive's rank among the distractors under a score. Ties count against the positive: a
  // model that scores everything equal ranks it last.
  const rankOf = (i: number, score: (j: number) => number) => {
    const mine = score(i);
    return 1 + others[i]!.filter((j) => score(j) >= mine).length;
  };
  let ranks: number[];
  const extra: Scores = {};
  if (isHybrid(model)) {
    const [lexical, dense] = [await codeOrders({ bm25: lexicalParameters(model) }, task), await codeOrders(model.hybrid, task)];
    const fused = crossFit(n, (i, w) => {
      const rank = rankOf(i, (j) => {
        const [d, l] = [dense[i]!.rank.get(j), lexical[i]!.rank.get(j)];
        return (d === undefined ? 0 : w / (RRF_K + d)) + (l === undefined ? 0 : (1 - w) / (RRF_K + l));
      });
      return { rank, score: 1 / rank };
    });
    ranks = fused.results.map((r) => r.rank);
    extra['dense weight'] = (fused.weights[0] + fused.weights[1]) / 2;
  } else {
    const orders = await codeOrders(isLexical(model) ? { bm25: lexicalParameters(model) } : model, task);
    ranks = orders.map((order, i) => rankOf(i, order.score));
  }
  const mean = (f: (rank: number) => number) => ranks.reduce((sum, r) => sum + f(r), 0) / n;
  return { mrr: mean((r) => 1 / r), 'mrr@10': mean((r) => (r <= 10 ? 1 / r : 0)), 'recall@1': mean((r) => (r === 1 ? 1 : 0)), ...extra };
}

// k-NN votes of the k nearest training examples, weighted by their cosine similarity.
async function knnPredict(train: Float32Array, labels: Int32Array, test: Float32Array, dim: number, neighbours: number, classes: number): Promise<Int32Array> {
  const { indices, scores, k } = await search(test, train, { dim, k: neighbours });
  const m = test.length / dim;
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const votes = new Float64Array(classes);
    for (let r = 0; r < k; r++) if (indices[i * k + r]! >= 0) votes[labels[indices[i * k + r]!]!]! += 1 + scores[i * k + r]!;
    out[i] = votes.indexOf(Math.max(...votes));
  }
  return out;
}

const take = (x: Float32Array, dim: number, rows: ArrayLike<number>) => {
  const out = new Float32Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) out.set(x.subarray(rows[r]! * dim, (rows[r]! + 1) * dim), r * dim);
  return out;
};

async function classifyTask(model: Embedder, task: ClassificationTask, progress?: (m: string) => void): Promise<Scores> {
  const dim = model.dim;
  const classes = task.labels.length;
  const trainX = await model.embed(task.train.map((e) => e.text), 'document');
  const testX = await model.embed(task.test.map((e) => e.text), 'document');
  const trainY = Int32Array.from(task.train.map((e) => e.label));
  const testY = Int32Array.from(task.test.map((e) => e.label));
  const n = task.train.length;
  const order = permutation(n, 17);

  // Linear probe: the L2 penalty chosen by 3-fold cross-validation on the training set.
  let bestLambda = 0;
  let bestAccuracy = -1;
  for (const lambda of [1e-4, 1e-3, 1e-2]) {
    let hits = 0;
    for (let fold = 0; fold < 3; fold++) {
      const held = Array.from(order).filter((_, i) => i % 3 === fold);
      const kept = Array.from(order).filter((_, i) => i % 3 !== fold);
      const predicted = await addon.logisticRegression(take(trainX, dim, kept), Int32Array.from(kept, (i) => trainY[i]!), take(trainX, dim, held), {
        dim,
        classes,
        lambda,
        iterations: 200,
      });
      hits += accuracy(predicted, Int32Array.from(held, (i) => trainY[i]!)) * held.length;
    }
    progress?.(`${task.name}: linear probe λ = ${lambda}: cross-validated accuracy ${(hits / n).toFixed(3)}`);
    if (hits > bestAccuracy) (bestAccuracy = hits), (bestLambda = lambda);
  }
  const probe = await addon.logisticRegression(trainX, trainY, testX, { dim, classes, lambda: bestLambda, iterations: 200 });

  // k-NN: k chosen on a fifth of the training set held out as a dev split.
  const devRows = Array.from(order).filter((_, i) => i % 5 === 0);
  const fitRows = Array.from(order).filter((_, i) => i % 5 !== 0);
  let bestK = 1;
  let bestDev = -1;
  for (const k of [1, 3, 5, 9, 15]) {
    const predicted = await knnPredict(take(trainX, dim, fitRows), Int32Array.from(fitRows, (i) => trainY[i]!), take(trainX, dim, devRows), dim, k, classes);
    const score = accuracy(predicted, Int32Array.from(devRows, (i) => trainY[i]!));
    if (score > bestDev) (bestDev = score), (bestK = k);
  }
  const knn = await knnPredict(trainX, trainY, testX, dim, bestK, classes);

  // Zero-shot: the nearest label description.
  const labelVectors = await model.embed(task.descriptions ?? task.labels, 'query');
  const nearest = await search(testX, labelVectors, { dim, k: 1 });

  return {
    accuracy: accuracy(probe, testY),
    macro_f1: macroF1(probe, testY),
    'knn accuracy': accuracy(knn, testY),
    'knn macro_f1': macroF1(knn, testY),
    'zero-shot accuracy': accuracy(nearest.indices, testY),
    'zero-shot macro_f1': macroF1(nearest.indices, testY),
  };
}

async function similarityTask(model: Embedder, task: SimilarityTask): Promise<Scores> {
  const a = await model.embed(task.pairs.map((p) => p.a), 'document');
  const b = await model.embed(task.pairs.map((p) => p.b), 'document');
  const cosine = task.pairs.map((_, i) => {
    let dot = 0;
    for (let d = 0; d < model.dim; d++) dot += a[i * model.dim + d]! * b[i * model.dim + d]!;
    return dot;
  });
  return { spearman: spearman(cosine, task.pairs.map((p) => p.score)) };
}

/** The scores of a model on a task; undefined where the model cannot do the task (BM25 and hybrid search classify nothing). */
export async function scoreTask(model: Model, task: Task, progress?: (m: string) => void): Promise<Scores | undefined> {
  switch (task.kind) {
    case 'search':
      return searchTask(model, task, progress);
    case 'code':
      return codeTask(model, task);
    case 'classify':
      return isLexical(model) || isHybrid(model) ? undefined : classifyTask(model, task, progress);
    case 'similarity':
      return isLexical(model) || isHybrid(model) ? undefined : similarityTask(model, task);
  }
}

/** The metric a task is summarised by in tables and charts. */
export function headlineMetric(task: Task): string {
  return { search: 'ndcg@10', code: 'mrr', classify: 'accuracy', similarity: 'spearman' }[task.kind];
}
