// The BM25 index against wink-bm25-text-search, the package it replaced (a devDependency kept for
// this check): the same Okapi scores (at the defaults k1 = 0.9, b = 0.4, at wink's own 1.2 and 0.75,
// and with identifiers split; wink rounds each term weight to 4 decimals) and the same rankings
// wherever the scores are not within that rounding of a tie.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { freshSeed } from '../bench/random.js';
import { winkBm25 } from '../bench/wink-bm25.js';
import { Bm25Index, bm25Words, type Bm25Parameters } from '../lib/eval/bm25.js';
import { generator } from '../lib/util/random.js';

const test = suite('BM25');

const seed = freshSeed();
const random = generator(seed);
// Zipf-like words, so that some are in most documents and some in one; lengths vary (b matters).
// A fifth of them compound identifiers (snake_case, camelCase), whose parts are words of their own too.
const vocabulary = Array.from({ length: 400 }, (_, i) => (i % 5 === 4 ? (i % 2 ? `w${i % 37}_w${i % 53}` : `w${i % 41}W${i % 29}`) : `w${i.toString(36)}`));
const word = () => vocabulary[Math.floor(vocabulary.length * random() ** 3)]!;
const documents = Array.from({ length: 600 }, () => Array.from({ length: 3 + Math.floor(random() * 60) }, word).join(random() < 0.5 ? ' ' : ', '));
const queries = Array.from({ length: 150 }, () => Array.from({ length: 1 + Math.floor(random() * 6) }, word).join(' '));

const settings: Bm25Parameters[] = [{}, { k1: 1.2, b: 0.75 }, { identifiers: true }, { k1: 0.5, b: 1, identifiers: true }];
for (const parameters of settings)
  test(`the scores and rankings of wink-bm25-text-search, ${JSON.stringify(parameters)} (seed ${seed})`, () => {
    const wink = winkBm25(documents, parameters);
    const index = new Bm25Index(documents, parameters);
    let compared = 0;
    for (const query of queries) {
      const want = wink.search(query, 50);
      const got = index.search(query, 50);
      assert.is(got.ids.length, want.length, `${query}: hits`);
      // wink's weights are rounded to 4 decimals: a score may differ by that much per query word; ours
      // are float32, a few ulps off the exact sum (seed 1934760008 found a score 5.0087e-5 from wink's
      // with one word: 2.28465009 in float32 against 2.2846).
      const rounding = 5e-5 * bm25Words(query, parameters.identifiers).length + 1e-9;
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

test('identifiers: a compound name is found by its words, and keeps its own term', () => {
  const code = ['function invMatrix(m) { return np.linalg.inv(m) }', 'def parse_http_response(text): pass', 'const matrix = []'];
  const split = new Bm25Index(code, { identifiers: true });
  assert.equal(split.rank('inverse of a matrix inv', 3).slice(0, 1), [0]);
  assert.equal(split.rank('parse an HTTP response', 3), [1]);
  assert.equal(split.rank('parse_http_response', 3), [1]);
  assert.equal(new Bm25Index(code).rank('parse an HTTP response', 3), []);
  assert.equal(bm25Words('parseHTTPResponse x', true), ['parsehttpresponse', 'x', 'parse', 'http', 'response']);
});

test('bad parameters: RangeError naming them', () => {
  assert.throws(() => new Bm25Index(['a'], { k1: -1 }), (e: Error) => e instanceof RangeError && /k1/.test(e.message));
  assert.throws(() => new Bm25Index(['a'], { b: 1.5 }), (e: Error) => e instanceof RangeError && /\bb\b/.test(e.message));
  assert.throws(() => new Bm25Index(['a'], { k1: Number.NaN }), RangeError);
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
