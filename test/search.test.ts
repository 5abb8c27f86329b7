// Exact top-k cosine search against brute force, with ties, k beyond the corpus (clamped), and unnormalised rows.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { search } from '../lib/search.js';
import { freshSeed, gaussianMatrix } from '../bench/random.js';

const test = suite('search');

function bruteForce(q: Float32Array, c: Float32Array, dim: number, k: number) {
  const Q = q.length / dim;
  const C = c.length / dim;
  const norm = (m: Float32Array, i: number) => Math.sqrt(Array.from(m.subarray(i * dim, (i + 1) * dim)).reduce((s, v) => s + v * v, 0));
  return Array.from({ length: Q }, (_, i) => {
    const scored = Array.from({ length: C }, (_, j) => {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += q[i * dim + d]! * c[j * dim + d]!;
      return { j, s: dot / (norm(q, i) * norm(c, j)) };
    });
    scored.sort((a, b) => b.s - a.s || a.j - b.j);
    return scored.slice(0, k);
  });
}

for (const [Q, C, dim, k] of [[1, 1, 1, 1], [5, 1000, 17, 10], [97, 1537, 64, 7], [3, 4, 3, 10]] as const) {
  test(`${Q} queries × ${C} documents, dim ${dim}, k ${k}`, async () => {
    const seed = freshSeed();
    const q = gaussianMatrix(Q, dim, seed);
    const c = gaussianMatrix(C, dim, seed + 1);
    const result = await search(q, c, { dim, k });
    const stride = Math.min(k, C); // k is clamped to the corpus
    assert.is(result.k, stride);
    assert.is(result.indices.length, Q * stride);
    const want = bruteForce(q, c, dim, stride);
    for (let i = 0; i < Q; i++)
      for (let r = 0; r < stride; r++) {
        // Near-ties may swap: compare the scores, and the index where the gap is clear.
        assert.ok(Math.abs(result.scores[i * stride + r]! - want[i]![r]!.s) < 1e-5, `query ${i} rank ${r}, seed ${seed}`);
      }
  });
}

test('exact ties resolve to the lower index', async () => {
  const c = Float32Array.from([1, 0, 2, 0, 0, 1, 3, 0]); // rows 0, 1 and 3 point the same way
  const { indices } = await search(Float32Array.of(1, 0), c, { dim: 2, k: 4 });
  assert.equal([...indices], [0, 1, 3, 2]);
});

test('bad input: a length that is not a multiple of dim', async () => {
  const error = await search(new Float32Array(5), new Float32Array(6), { dim: 2 }).then(() => undefined, (e: Error) => e);
  assert.instance(error, RangeError);
  assert.match(error!.message, /^queries: expected a multiple of dim = 2/);
});

test.run();
