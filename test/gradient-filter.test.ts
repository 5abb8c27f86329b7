// The gradient filter (off by default) skips the dX/dY products of tiles whose softmax probabilities
// are all below a threshold. The loss and dθ never change; the gradients change by at most what the
// skipped tiles held.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { contrastiveLoss } from '../lib/loss.js';
import { alignedPairs, freshSeed, gaussianMatrix } from '../bench/random.js';
import { relativeError } from '../lib/reference.js';

const test = suite('gradient filter');
const M = 500;
const D = 64;

test('off by default: nothing skipped, and the same as an explicit 0', async () => {
  const x = gaussianMatrix(M, D, 1);
  const y = gaussianMatrix(M, D, 2);
  const implicit = await contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  const explicit = await contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu', gradientFilter: 0 });
  assert.is(implicit.kernel!.tilesSkipped, 0);
  assert.equal(implicit.gradX, explicit.gradX);
});

test('on half-trained pairs at scale 50 it skips tiles, keeps loss and dθ, and moves gradients little', async () => {
  // The first half of the pairs look learned (positives far above every negative), the rest random:
  // tiles among the learned pairs hold only negligible probabilities, the others do not.
  const seed = freshSeed();
  const { x, y: aligned } = alignedPairs(M, M, D, 0.3, seed);
  const y = gaussianMatrix(M, D, seed + 7);
  y.set(aligned.subarray(0, (M / 2) * D));
  const options = { rows: M, dim: D, backend: 'cpu' as const, logScale: Math.log(50) };
  const exact = await contrastiveLoss(x, y, options);
  const filtered = await contrastiveLoss(x, y, { ...options, gradientFilter: 1e-6 });
  assert.ok(filtered.kernel!.tilesSkipped > 0, `nothing skipped (seed ${seed})`);
  assert.is(filtered.loss, exact.loss);
  assert.is(filtered.gradLogScale, exact.gradLogScale);
  const error = Math.max(relativeError(filtered.gradX, exact.gradX), relativeError(filtered.gradY, exact.gradY));
  assert.ok(error < 1e-3, `gradient moved by ${error} (seed ${seed})`);
});

test('on random pairs (no probability below 1e-6) it skips nothing and changes nothing', async () => {
  const x = gaussianMatrix(M, D, 3);
  const y = gaussianMatrix(M, D, 4);
  const exact = await contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  const filtered = await contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu', gradientFilter: 1e-6 });
  assert.is(filtered.kernel!.tilesSkipped, 0);
  assert.equal(filtered.gradX, exact.gradX);
});

test('a filter outside [0, 1) is a RangeError naming it', async () => {
  const x = gaussianMatrix(4, 3, 5);
  for (const gradientFilter of [1, -0.5, NaN]) {
    const outcome = await contrastiveLoss(x, x, { rows: 4, dim: 3, gradientFilter }).then(
      () => undefined,
      (error: Error) => error,
    );
    assert.instance(outcome, RangeError);
    assert.match(outcome!.message, /^gradientFilter: expected a number in \[0, 1\)/);
  }
});

test.run();
