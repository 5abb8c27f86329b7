// The evaluation tasks of the cpt paper, and how a model is scored on each: search (nDCG@10, MRR@10,
// recall), code search (MRR against sampled distractors), classification (linear probe, k-NN,
// zero-shot: accuracy and macro-F1) and sentence similarity (Spearman).
import { addon } from '../native.js';
import { search } from '../search.js';
import { permutation } from '../util/random.js';
import { Bm25Index } from './bm25.js';
import type { Embedder } from './embedders.js';
import { accuracy, macroF1, retrievalScores, spearman, type Relevance } from './metrics.js';

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

/** A model: an embedder, or the lexical baseline. */
export type Model = Embedder | 'bm25';

export const modelName = (m: Model) => (m === 'bm25' ? 'BM25' : m.name);

export type Scores = Record<string, number>;

const TOP = 100;

// Merges a chunk's top-k (indices into the chunk) into a query's running top-k (global ids).
function mergeTop(current: Array<{ id: number; score: number }>, hits: Array<{ id: number; score: number }>): Array<{ id: number; score: number }> {
  return [...current, ...hits].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, TOP);
}

async function searchTask(model: Model, task: SearchTask, progress?: (m: string) => void): Promise<Scores> {
  const docIds: string[] = [];
  let rankings: number[][];
  if (model === 'bm25') {
    const texts: string[] = [];
    for await (const chunk of task.corpus()) for (const d of chunk) docIds.push(d.id), texts.push(d.text);
    const index = new Bm25Index(texts);
    rankings = task.queries.map((q) => index.rank(q.text, TOP));
  } else {
    const queries = await model.embed(task.queries.map((q) => q.text), 'query');
    let tops = task.queries.map(() => [] as Array<{ id: number; score: number }>);
    for await (const chunk of task.corpus()) {
      const base = docIds.length;
      for (const d of chunk) docIds.push(d.id);
      const docs = await model.embed(chunk.map((d) => d.text), 'document');
      const k = Math.min(TOP, chunk.length);
      const { indices, scores } = await search(queries, docs, { dim: model.dim, k });
      tops = tops.map((top, q) =>
        mergeTop(top, Array.from({ length: k }, (_, r) => ({ id: base + indices[q * k + r]!, score: scores[q * k + r]! }))),
      );
      progress?.(`${task.name}: ${docIds.length} documents`);
    }
    rankings = tops.map((top) => top.map((h) => h.id));
  }
  const position = new Map(docIds.map((id, i) => [id, i]));
  const relevant: Relevance[] = task.queries.map((q) => {
    const grades = task.qrels.get(q.id) ?? new Map<string, number>();
    return new Map([...grades].filter(([id]) => position.has(id)).map(([id, g]) => [position.get(id)!, g]));
  });
  const s = retrievalScores(rankings, relevant);
  return { 'ndcg@10': s['ndcg@10'], 'mrr@10': s['mrr@10'], 'recall@1': s['recall@1'], 'recall@10': s['recall@10'], 'recall@100': s['recall@100'] };
}

// Code search as CodeSearchNet scores it: the rank of each positive among itself and `distractors`
// positives of other pairs (all others when absent), mean reciprocal rank.
async function codeTask(model: Model, task: CodeSearchTask): Promise<Scores> {
  const n = task.pairs.length;
  const distractors = Math.min(task.distractors ?? n - 1, n - 1);
  // score[i][j]: how well query i matches positive j.
  let score: (i: number, j: number) => number;
  if (model === 'bm25') {
    const index = new Bm25Index(task.pairs.map((p) => p.positive));
    const maps = task.pairs.map((p) => new Map(index.rank(p.query, n).map((id, r) => [id, n - r])));
    score = (i, j) => maps[i]!.get(j) ?? 0;
  } else {
    const queries = await model.embed(task.pairs.map((p) => p.query), 'query');
    const codes = await model.embed(task.pairs.map((p) => p.positive), 'document');
    const { indices, scores } = await search(queries, codes, { dim: model.dim, k: n });
    const maps = task.pairs.map((_, i) => {
      const m = new Map<number, number>();
      for (let r = 0; r < n; r++) m.set(indices[i * n + r]!, scores[i * n + r]!);
      return m;
    });
    score = (i, j) => maps[i]!.get(j)!;
  }
  let reciprocal = 0;
  let reciprocal10 = 0;
  let top1 = 0;
  for (let i = 0; i < n; i++) {
    const others = Array.from(permutation(n, 7919 * (i + 1)))
      .filter((j) => j !== i)
      .slice(0, distractors);
    const mine = score(i, i);
    // Ties count against the positive: a model that scores everything equal ranks it last.
    const rank = 1 + others.filter((j) => score(i, j) >= mine).length;
    reciprocal += 1 / rank;
    reciprocal10 += rank <= 10 ? 1 / rank : 0;
    top1 += rank === 1 ? 1 : 0;
  }
  return { mrr: reciprocal / n, 'mrr@10': reciprocal10 / n, 'recall@1': top1 / n };
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

/** The scores of a model on a task; undefined where the model cannot do the task (BM25 classifies nothing). */
export async function scoreTask(model: Model, task: Task, progress?: (m: string) => void): Promise<Scores | undefined> {
  switch (task.kind) {
    case 'search':
      return searchTask(model, task, progress);
    case 'code':
      return codeTask(model, task);
    case 'classify':
      return model === 'bm25' ? undefined : classifyTask(model, task, progress);
    case 'similarity':
      return model === 'bm25' ? undefined : similarityTask(model, task);
  }
}

/** The metric a task is summarised by in tables and charts. */
export function headlineMetric(task: Task): string {
  return { search: 'ndcg@10', code: 'mrr', classify: 'accuracy', similarity: 'spearman' }[task.kind];
}
