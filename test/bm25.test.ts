// The BM25 index against wink-bm25-text-search, the package it replaced (a devDependency kept for
// this check): the same Okapi scores (k1 = 1.2, b = 0.75; wink rounds each term weight to 4 decimals)
// and the same rankings wherever the scores are not within that rounding of a tie.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { freshSeed } from '../bench/random.js';
import { winkBm25 } from '../bench/wink-bm25.js';
import { Bm25Index, bm25Words } from '../lib/eval/bm25.js';
import { generator } from '../lib/util/random.js';

const test = suite('BM25');

const seed = freshSeed();
const random = generator(seed);
// Zipf-like words, so that some are in most documents and some in one; lengths vary (b matters).
const vocabulary = Array.from({ length: 400 }, (_, i) => `w${i.toString(36)}`);
const word = () => vocabulary[Math.floor(vocabulary.length * random() ** 3)]!;
const documents = Array.from({ length: 600 }, () => Array.from({ length: 3 + Math.floor(random() * 60) }, word).join(random() < 0.5 ? ' ' : ', '));
const queries = Array.from({ length: 150 }, () => Array.from({ length: 1 + Math.floor(random() * 6) }, word).join(' '));

test(`the scores and rankings of wink-bm25-text-search (seed ${seed})`, () => {
  const wink = winkBm25(documents);
  const index = new Bm25Index(documents);
  let compared = 0;
  for (const query of queries) {
    const want = wink.search(query, 50);
    const got = index.search(query, 50);
    assert.is(got.ids.length, want.length, `${query}: hits`);
    // wink's weights are rounded to 4 decimals: a score may differ by that much per query word; ours
    // are float32, a few ulps off the exact sum (seed 1934760008 found a score 5.0087e-5 from wink's
    // with one word: 2.28465009 in float32 against 2.2846).
    const rounding = 5e-5 * bm25Words(query).length + 1e-9;
    const float32Slack = (score: number) => 2 ** -20 * Math.abs(score);
    want.forEach(([id, score], r) => {
      const mine = got.scores[Array.from(got.ids).indexOf(Number(id))];
      if (mine !== undefined)
        assert.ok(Math.abs(mine - score) <= rounding + float32Slack(score), `${query}: document ${id} scores ${mine}, wink ${score}`);
      const separated = (r === 0 || want[r - 1]![1] - score > 2 * rounding) && (r + 1 === want.length || score - want[r + 1]![1] > 2 * rounding);
      if (separated && r + 1 < want.length) {
        assert.is(got.ids[r], Number(id), `${query}: rank ${r}`);
        compared++;
      }
    });
  }
  assert.ok(compared > 1000, `only ${compared} ranks compared`);
});

test('top k: best first, ties by id, only documents sharing a word; the index is reusable', () => {
  const index = new Bm25Index(['red apple', 'green apple', 'red red car', 'blue sky', 'apple apple apple pie']);
  const first = index.search('red apple', 10);
  assert.equal(Array.from(first.ids), [0, 2, 4, 1]);
  for (let r = 1; r < first.scores.length; r++) assert.ok(first.scores[r - 1]! >= first.scores[r]!);
  assert.equal(Array.from(index.search('red apple', 2).ids), [0, 2]);
  assert.equal(Array.from(index.search('zebra', 3).ids), []);
  assert.equal(index.rank('sky', 5), [3]);
  // Same query again: no score left over from the last one.
  assert.equal(Array.from(index.search('red apple', 10).scores), Array.from(first.scores));
});

test.run();
