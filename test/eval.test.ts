// The evaluation: each metric against hand-computed examples, the data formats, the tasks on toy
// models whose answers are known, and the built-in suite's splits.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import type { Embedder } from '../lib/eval/embedders.js';
import { readBeir, readLabelled, readScoredPairs } from '../lib/eval/formats.js';
import { accuracy, macroF1, ndcg, ranks, reciprocalRank, recall, spearman } from '../lib/eval/metrics.js';
import { codeSearch, suiteTrainingPairs, wordnetSearch } from '../lib/eval/suite.js';
import { evaluate } from '../lib/eval/run.js';
import { scoreTask } from '../lib/eval/tasks.js';
import { runDemo } from '../lib/demo-recipe.js';
import { addon } from '../lib/native.js';
import { rejection } from './caught.js';

const test = suite('evaluation');
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test('retrieval metrics, by hand', () => {
  const relevant = new Map([[7, 1], [3, 2]]);
  const ranking = [5, 3, 9, 7];
  close(reciprocalRank(ranking, relevant), 1 / 2, 'RR');
  close(reciprocalRank(ranking, relevant, 1), 0, 'RR@1');
  close(recall(ranking, relevant, 2), 1 / 2, 'recall@2');
  close(recall(ranking, relevant, 4), 1, 'recall@4');
  // DCG = (2²−1)/log2(3) + (2¹−1)/log2(5); ideal = (2²−1)/log2(2) + (2¹−1)/log2(3).
  const dcg = 3 / Math.log2(3) + 1 / Math.log2(5);
  const idcg = 3 + 1 / Math.log2(3);
  close(ndcg(ranking, relevant, 10), dcg / idcg, 'nDCG@10');
  close(ndcg(ranking, relevant, 1), 0, 'nDCG@1');
});

test('classification metrics and Spearman, by hand', () => {
  const labels = [0, 0, 1, 1, 2, 2];
  const predicted = [0, 1, 1, 1, 2, 0];
  close(accuracy(predicted, labels), 4 / 6, 'accuracy');
  // F1: class 0: tp 1, fp 1, fn 1 → 1/2; class 1: tp 2, fp 1, fn 0 → 4/5; class 2: tp 1, fp 0, fn 1 → 2/3.
  close(macroF1(predicted, labels), (1 / 2 + 4 / 5 + 2 / 3) / 3, 'macro-F1');
  assert.equal([...ranks([10, 20, 20, 5])], [2, 3.5, 3.5, 1]);
  close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233, 'Spearman with a tie');
  close(spearman([1, 2, 3], [3, 2, 1]), -1, 'Spearman reversed');
});

// A toy model whose geometry is known: texts are vectors of letter counts.
const letters: Embedder = {
  name: 'letters',
  dim: 26,
  async embed(texts) {
    const out = new Float32Array(texts.length * 26);
    texts.forEach((t, i) => {
      for (const ch of t.toLowerCase()) if (ch >= 'a' && ch <= 'z') out[i * 26 + ch.charCodeAt(0) - 97]! += 1;
    });
    addon.normalizeRows(out, 26);
    return out;
  },
};

test('a BEIR folder, streamed in chunks: the toy model and BM25 find each answer first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'infonce-beir-'));
  try {
    mkdirSync(join(dir, 'qrels'));
    const words = ['apple', 'banana', 'cherry', 'date', 'elder'];
    writeFileSync(join(dir, 'corpus.jsonl'), words.map((w, i) => JSON.stringify({ _id: `d${i}`, title: w, text: `${w} ${w}` })).join('\n'));
    writeFileSync(join(dir, 'queries.jsonl'), words.map((w, i) => JSON.stringify({ _id: `q${i}`, text: w })).join('\n'));
    writeFileSync(join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\n' + words.map((_, i) => `q${i}\td${i}\t1`).join('\n'));
    const task = await readBeir(dir, 'test', 2);
    const chunks: number[] = [];
    for await (const chunk of task.corpus()) chunks.push(chunk.length);
    assert.equal(chunks, [2, 2, 1]);
    for (const model of [letters, 'bm25' as const]) {
      const scores = await scoreTask(model, task);
      close(scores!['mrr@10']!, 1, `MRR@10 of ${model === 'bm25' ? 'BM25' : 'letters'}`);
      close(scores!['ndcg@10']!, 1, 'nDCG@10');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('code search with distractors, classification and similarity on the toy model', async () => {
  const pairs = ['abc', 'def', 'ghi', 'jkl'].map((s) => ({ query: s, positive: s.repeat(3) }));
  const code = await scoreTask(letters, { kind: 'code', name: 'toy', pairs, distractors: 2 });
  close(code!.mrr!, 1, 'MRR');
  const classify = await scoreTask(letters, {
    kind: 'classify',
    name: 'toy',
    labels: ['a', 'z'],
    train: Array.from({ length: 30 }, (_, i) => ({ text: i % 2 ? 'zzz zz' : 'aaa aa', label: i % 2 })),
    test: [
      { text: 'aaaa', label: 0 },
      { text: 'zz', label: 1 },
    ],
  });
  close(classify!.accuracy!, 1, 'probe accuracy');
  close(classify!['knn accuracy']!, 1, 'k-NN accuracy');
  close(classify!['zero-shot accuracy']!, 1, 'zero-shot accuracy');
  const similarity = await scoreTask(letters, {
    kind: 'similarity',
    name: 'toy',
    pairs: [
      { a: 'abc', b: 'abc', score: 5 },
      { a: 'abc', b: 'abd', score: 3 },
      { a: 'abc', b: 'xyz', score: 0 },
    ],
  });
  close(similarity!.spearman!, 1, 'Spearman');
});

test('evaluate stops at an aborted signal (between one task and the next), as does the demo', async () => {
  const pairs = ['abc', 'def', 'ghi'].map((s) => ({ query: s, positive: s.repeat(2) }));
  const tasks = [{ kind: 'code' as const, name: 'one', pairs }, { kind: 'code' as const, name: 'two', pairs }];
  const controller = new AbortController();
  let calls = 0;
  const stopping: Embedder = { ...letters, embed: (texts, side) => (++calls === 2 && controller.abort(), letters.embed(texts, side)) };
  const error = await evaluate([stopping], tasks, undefined, controller.signal).then(() => undefined, (e: Error) => e);
  assert.is(error?.name, 'AbortError');
  assert.is(calls, 2, 'the second task ran after the abort');
  const demo = await runDemo({ signal: AbortSignal.abort() }).then(() => undefined, (e: Error) => e);
  assert.is(demo?.name, 'AbortError');
});

test('labelled and scored-pair files: a bad line is named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'infonce-formats-'));
  try {
    writeFileSync(join(dir, 'labels.jsonl'), '{"text": "a", "label": "x"}\n{"text": "", "label": "y"}\n');
    assert.match((await rejection(readLabelled(join(dir, 'labels.jsonl'))))!.message, /labels\.jsonl:2: "text" must be a non-empty string/);
    writeFileSync(join(dir, 'sts.jsonl'), '{"a": "x", "b": "y", "score": 1}\n{"a": "x", "b": "y", "score": "high"}\n');
    assert.match((await rejection(readScoredPairs(join(dir, 'sts.jsonl'))))!.message, /sts\.jsonl:2: "score" must be a finite number/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the default suite: test documents never appear in its training pairs', () => {
  const wordnet = wordnetSearch(200);
  const code = codeSearch();
  assert.ok(wordnet.queries.length === 200 && code.pairs.length > 40);
  const training = suiteTrainingPairs();
  const trainedPositives = new Set(training.map((p) => p.positive));
  for (const p of code.pairs) assert.not.ok(trainedPositives.has(p.positive), `a test function is in the training pairs: ${p.positive.slice(0, 60)}`);
  const glosses = new Set(training.map((p) => p.positive));
  let shared = 0;
  for (const q of wordnet.queries) if (glosses.has(q.text)) shared++;
  assert.ok(shared < wordnet.queries.length); // lemmas may repeat across synsets; glosses do not leak:
  for (const id of wordnet.qrels.keys()) assert.ok(id.length > 0);
});

test.run();
