// False-negative masking (`groups`): what loss.test.ts cannot see by comparing with the reference:
// that the masking changes the loss where it should (a kernel ignoring groups fails here), the two
// forms of the option agree, and 'auto' runs a call with groups on the CPU.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { freshSeed, gaussianMatrix } from '../bench/random.js';
import { referenceContrastiveLoss } from '../lib/reference.js';
import { contrastiveLoss } from '../lib/loss.js';

const test = suite('groups: false-negative masking');

const seed = freshSeed();
const M = 150;
const D = 24;
const y = gaussianMatrix(M, D, seed + 1);
// Pairs 2k and 2k+1 share a document: without masking, each is the other's hardest negative.
for (let k = 0; k + 1 < M; k += 2) y.copyWithin((k + 1) * D, k * D, (k + 1) * D);
// Queries near their documents (trained-like), so that a positive stands out from the rest.
const noise = gaussianMatrix(M, D, seed);
const x = y.map((v, i) => v + 0.3 * noise[i]!);
const groups = Int32Array.from({ length: M }, (_, i) => i >> 1);

test('a duplicated document stops being a negative: the loss falls by what the reference says', async () => {
  const masked = await contrastiveLoss(x, y, { rows: M, dim: D, groups, backend: 'cpu' });
  const unmasked = await contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  const want = referenceContrastiveLoss(x, y, { rows: M, dim: D, groups });
  const wantUnmasked = referenceContrastiveLoss(x, y, { rows: M, dim: D });
  // The duplicates tie with the positives: each row's softmax loses about half its positive's mass.
  assert.ok(wantUnmasked.loss - want.loss > 0.3, `seed ${seed}: reference ${want.loss} vs ${wantUnmasked.loss}`);
  assert.ok(Math.abs(masked.loss - want.loss) < 1e-5 * Math.max(1, want.loss), `seed ${seed}: ${masked.loss} vs ${want.loss}`);
  assert.ok(Math.abs(unmasked.loss - wantUnmasked.loss) < 1e-5 * Math.max(1, wantUnmasked.loss), `seed ${seed}`);
});

test('one array per pair is { rows, cols } with column targets[i] in pair i\'s group (bit for bit)', async () => {
  const targets = Int32Array.from({ length: M }, (_, i) => (i + 7) % M);
  const cols = new Int32Array(M);
  targets.forEach((t, i) => (cols[t] = groups[i]!));
  const perPair = await contrastiveLoss(x, y, { rows: M, dim: D, targets, groups, backend: 'cpu' });
  const sides = await contrastiveLoss(x, y, { rows: M, dim: D, targets, groups: { rows: groups, cols }, backend: 'cpu' });
  assert.is(perPair.loss, sides.loss);
  assert.equal(perPair.gradX, sides.gradX);
  assert.equal(perPair.gradY, sides.gradY);
});

test('negative groups mask nothing', async () => {
  const none = new Int32Array(M).fill(-1);
  const withNone = await contrastiveLoss(x, y, { rows: M, dim: D, groups: none, backend: 'cpu' });
  const without = await contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  assert.is(withNone.loss, without.loss);
  assert.equal(withNone.gradX, without.gradX);
});

test("positives: 'groups' of exact duplicates is the unmasked loss; of one pair each, the plain loss", async () => {
  const positives = await contrastiveLoss(x, y, { rows: M, dim: D, groups, positives: 'groups', backend: 'cpu' });
  const want = referenceContrastiveLoss(x, y, { rows: M, dim: D, groups, positives: 'groups' });
  const unmasked = await contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  assert.ok(Math.abs(positives.loss - want.loss) < 1e-5 * Math.max(1, want.loss), `seed ${seed}: ${positives.loss} vs ${want.loss}`);
  // A duplicate's logit is the positive's: the mean over the two is the positive, and G's two shares
  // (P − ½ each) add up to the unmasked P + P − 1 on the same row of y. So only groups whose members
  // differ (neighbouring passages, paraphrases) make the two forms differ.
  assert.ok(Math.abs(unmasked.loss - positives.loss) < 1e-6 * unmasked.loss, `seed ${seed}: ${positives.loss} vs unmasked ${unmasked.loss}`);
  const own = Int32Array.from({ length: M }, (_, i) => i);
  const alone = await contrastiveLoss(x, y, { rows: M, dim: D, groups: own, positives: 'groups', backend: 'cpu' });
  assert.ok(Math.abs(alone.loss - unmasked.loss) < 1e-6 * unmasked.loss, `seed ${seed}: ${alone.loss} vs ${unmasked.loss}`);
});

test("positives: 'groups' with neighbours that differ: the reference's loss, above its floor log |P|", async () => {
  // Pairs 2k and 2k+1 have different documents of one topic: each is the other's close neighbour.
  const topics = gaussianMatrix(M, D, seed + 5);
  const near = y.map((_, i) => topics[(Math.floor(i / D) >> 1) * D + (i % D)]! + 0.5 * noise[i]!);
  const xs = near.map((v, i) => v + 0.3 * topics[i]!);
  const positives = await contrastiveLoss(xs, near, { rows: M, dim: D, groups, positives: 'groups', backend: 'cpu' });
  const want = referenceContrastiveLoss(xs, near, { rows: M, dim: D, groups, positives: 'groups' });
  assert.ok(Math.abs(positives.loss - want.loss) < 1e-5 * Math.max(1, want.loss), `seed ${seed}: ${positives.loss} vs ${want.loss}`);
  // −mean log p over two positives is at least log 2 (both at ½ of the row's softmax): the form asks
  // a row to spread its mass over its positives, not to pick one.
  const unmasked = referenceContrastiveLoss(xs, near, { rows: M, dim: D });
  assert.ok(positives.loss >= Math.log(2) - 1e-9, `seed ${seed}: ${positives.loss}`);
  assert.ok(Math.abs(positives.loss - unmasked.loss) > 0.1, `seed ${seed}: positives ${positives.loss}, unmasked ${unmasked.loss}`);
});

test("'auto' runs a call with groups on the CPU", async () => {
  const r = await contrastiveLoss(x, y, { rows: M, dim: D, groups, backend: 'auto' });
  assert.is(r.backend, 'cpu');
});

test.run();
