// Hybrid search: reciprocal-rank fusion of BM25 and a dense model, and the cross-fitting that keeps
// the fusion weight from ever being chosen on the queries it scores.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { crossFit, fuseRankings, RRF_K } from '../lib/eval/hybrid.js';
import type { Embedder } from '../lib/eval/embedders.js';
import { scoreTask, type SearchTask } from '../lib/eval/tasks.js';
import { addon } from '../lib/native.js';
import { permutation } from '../lib/util/random.js';

const test = suite('hybrid search');

test('fusion: weight 1 is the dense ranking, 0 the lexical one; agreement wins in between', () => {
  const dense = [3, 1, 2];
  const lexical = [2, 4, 1];
  assert.equal(fuseRankings(dense, lexical, 1, 3).map((h) => h.id), [3, 1, 2]);
  assert.equal(fuseRankings(dense, lexical, 0, 3).map((h) => h.id), [2, 4, 1]);
  const even = fuseRankings(dense, lexical, 0.5, 5);
  // 1 and 2 are in both lists (ranks 2+3 and 3+1); 2 has the better sum of reciprocal ranks.
  assert.equal(even.map((h) => h.id).slice(0, 2), [2, 1]);
  assert.ok(Math.abs(even[0]!.score - (0.5 / (RRF_K + 3) + 0.5 / (RRF_K + 1))) < 1e-15);
  assert.is(even.length, 4);
});

test('cross-fitting: each half is scored with the weight the other half chose', () => {
  // Queries 0..9 want the dense side (score w), 10..19 the lexical side (score 1 − w): the mean over
  // a half is linear in w, so a half chooses 1 or 0 by its majority (½ on a tie).
  const { results, weights } = crossFit(20, (q, w) => ({ score: q < 10 ? w : 1 - w, weight: w }));
  const order = Array.from(permutation(20, 31));
  const halves = [order.slice(0, 10), order.slice(10)];
  const choice = (half: number[]) => {
    const dense = half.filter((q) => q < 10).length;
    return dense > half.length - dense ? 1 : dense < half.length - dense ? 0 : 0.5;
  };
  assert.equal(weights, [choice(halves[1]!), choice(halves[0]!)]);
  halves.forEach((half, h) => half.forEach((q) => assert.is(results[q]!.weight, weights[h], `query ${q}`)));
});

test('cross-fitting never uses a query to choose its own weight', () => {
  // A query scores 1 only at the weight equal to its index / 10 (queries 0..10): a fit on the query
  // itself would find it; a fit on the other half cannot, unless both halves agree.
  const seen: Array<{ q: number; w: number }> = [];
  const { results } = crossFit(2, (q, w) => {
    seen.push({ q, w });
    return { score: Math.abs(w - (q === 0 ? 0.1 : 0.9)) < 1e-9 ? 1 : 0 };
  });
  // Query 0 gets query 1's favourite (0.9) and scores 0; query 1 gets 0.1 and scores 0.
  assert.equal(results.map((r) => r.score), [0, 0]);
});

// Dense: one vector per first letter of the text; lexical: BM25 over the words.
const firstLetter: Embedder = {
  name: 'first letter',
  dim: 26,
  async embed(texts) {
    const out = new Float32Array(texts.length * 26);
    texts.forEach((t, i) => (out[i * 26 + (t.toLowerCase().charCodeAt(0) - 97)] = 1));
    addon.normalizeRows(out, 26);
    return out;
  },
};

test('a task where each side alone finds half the answers: hybrid finds them all', async () => {
  // Queries 'a…' find their document by first letter (dense) but share no word with it; queries with
  // a shared rare word find it by BM25 but start with a letter every document starts with.
  const docs = ['apple pie', 'banana split', 'zebra xylophone', 'zebra quokka', 'zebra umbrella', 'zebra vellum'];
  const queries = ['another', 'bright', 'zzz xylophone', 'zzz quokka', 'zzz umbrella', 'zzz vellum'];
  const task: SearchTask = {
    kind: 'search',
    name: 'toy',
    queries: queries.map((text, i) => ({ id: `q${i}`, text })),
    corpus: async function* () {
      yield docs.map((text, i) => ({ id: `d${i}`, text }));
    },
    qrels: new Map(queries.map((_, i) => [`q${i}`, new Map([[`d${i}`, 1]])])),
  };
  const dense = (await scoreTask(firstLetter, task))!['recall@1']!;
  const lexical = (await scoreTask('bm25', task))!['recall@1']!;
  const hybrid = (await scoreTask({ hybrid: firstLetter }, task))!;
  assert.ok(dense < 1 && lexical < 1, `dense ${dense}, BM25 ${lexical}`);
  // Any dense weight strictly between 0 and ~0.98 ranks every answer first: cross-fitting must land there.
  assert.is(hybrid['recall@1'], 1, JSON.stringify(hybrid));
  assert.ok(hybrid['dense weight']! >= 0 && hybrid['dense weight']! <= 1);
});

test.run();
