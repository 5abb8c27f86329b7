// The async API: many calls in flight resolve each to its own result, and the work runs off the
// event loop.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { contrastiveLoss, contrastiveLossSync } from '../lib/loss.js';
import { freshSeed, gaussianMatrix } from '../bench/random.js';

const test = suite('concurrency');

test('24 concurrent calls of different shapes each resolve to their own result', async () => {
  const seed = freshSeed();
  const calls = Array.from({ length: 24 }, (_, k) => {
    const M = 5 + 13 * k;
    const D = 3 + (k % 7) * 11;
    const x = gaussianMatrix(M, D, seed + 2 * k);
    const y = gaussianMatrix(M + (k % 3), D, seed + 2 * k + 1);
    const options = { rows: M, cols: M + (k % 3), dim: D, threads: 1 + (k % 3) };
    return { x, y, options, expected: contrastiveLossSync(x, y, options) };
  });
  const results = await Promise.all(calls.map((c) => contrastiveLoss(c.x, c.y, c.options)));
  results.forEach((r, k) => {
    const c = calls[k]!;
    assert.is(r.gradX.length, c.options.rows * c.options.dim);
    assert.is(r.loss, c.expected.loss, `call ${k} (seed ${seed}) got another call's loss`);
    assert.equal(r.gradY, c.expected.gradY, `call ${k} (seed ${seed}) got another call's gradY`);
  });
});

test('the event loop keeps turning while a loss is computed', async () => {
  const M = 3072; // ~0.1 s of work here
  const D = 256;
  const x = gaussianMatrix(M, D, 1);
  const y = gaussianMatrix(M, D, 2);
  let turns = 0;
  let spinning = true;
  const spin = () => {
    turns++;
    if (spinning) setImmediate(spin);
  };
  setImmediate(spin);
  const result = await contrastiveLoss(x, y, { rows: M, dim: D });
  spinning = false;
  assert.ok(Number.isFinite(result.loss));
  // A blocking call would let the loop turn at most once or twice before the promise settles.
  assert.ok(turns > 10, `the event loop turned only ${turns} times during the call`);
});

test.run();
