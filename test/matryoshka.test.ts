// Matryoshka prefixes (`matryoshka`): what the loss suite's comparison with the reference cannot see:
// that each prefix's reported loss is the loss of that prefix alone, that coordinates beyond the
// last prefix get no gradient, that the call is deterministic, and where it runs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { alignedPairs, freshSeed } from '../bench/random.js';
import { contrastiveLoss, contrastiveLossSync } from '../lib/loss.js';

const test = suite('matryoshka');

const seed = freshSeed();
const M = 131;
const D = 97;
const { x, y } = alignedPairs(M, M, D, 0.5, seed);
const dims = [7, 32, 64];

function prefix(m: Float32Array, d: number): Float32Array {
  const out = new Float32Array(M * d);
  for (let r = 0; r < M; r++) out.set(m.subarray(r * D, r * D + d), r * d);
  return out;
}

test('each prefix reports the loss and accuracy of a plain call on its columns; the total is their weighted sum', async () => {
  const weights = [0.5, 2, 1];
  const r = await contrastiveLoss(x, y, { rows: M, dim: D, matryoshka: { dims, weights }, backend: 'cpu' });
  assert.is(r.prefixes?.length, dims.length);
  let total = 0;
  for (const [k, d] of dims.entries()) {
    const alone = await contrastiveLoss(prefix(x, d), prefix(y, d), { rows: M, dim: d, backend: 'cpu' });
    const mine = r.prefixes![k]!;
    assert.is(mine.dim, d);
    assert.is(mine.weight, weights[k]);
    assert.ok(Math.abs(mine.loss - alone.loss) < 1e-5 * Math.max(1, alone.loss), `seed ${seed}, prefix ${d}: ${mine.loss} vs ${alone.loss}`);
    assert.equal(mine.accuracy, alone.accuracy, `seed ${seed}, prefix ${d}`);
    total += weights[k]! * alone.loss;
  }
  assert.ok(Math.abs(r.loss - total) < 1e-5 * total, `seed ${seed}: ${r.loss} vs ${total}`);
});

test('coordinates beyond the last prefix get exactly no gradient', async () => {
  const r = await contrastiveLoss(x, y, { rows: M, dim: D, matryoshka: { dims }, backend: 'cpu' });
  for (const grad of [r.gradX, r.gradY])
    for (let row = 0; row < M; row++)
      for (let k = 64; k < D; k++) assert.is(grad[row * D + k], 0, `row ${row}, coordinate ${k}`);
  let inside = 0;
  for (let k = 0; k < 64; k++) inside += Math.abs(r.gradX[k]!);
  assert.ok(inside > 0, 'the prefix coordinates do get a gradient');
});

test('one prefix of the whole dim is the plain loss', async () => {
  const nested = await contrastiveLoss(x, y, { rows: M, dim: D, matryoshka: { dims: [D] }, backend: 'cpu' });
  const plain = await contrastiveLoss(x, y, { rows: M, dim: D, backend: 'cpu' });
  assert.ok(Math.abs(nested.loss - plain.loss) < 1e-6 * plain.loss, `seed ${seed}: ${nested.loss} vs ${plain.loss}`);
  assert.is(plain.prefixes, undefined);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < plain.gradX.length; i++) {
    diff += (nested.gradX[i]! - plain.gradX[i]!) ** 2;
    norm += plain.gradX[i]! ** 2;
  }
  assert.ok(Math.sqrt(diff / norm) < 1e-5, `seed ${seed}: gradX differs by ${Math.sqrt(diff / norm)}`);
});

test('bit for bit the same from run to run, sync and async, with a given thread count', async () => {
  const options = { rows: M, dim: D, matryoshka: { dims }, backend: 'cpu' as const, threads: 2 };
  const a = await contrastiveLoss(x, y, options);
  const b = contrastiveLossSync(x, y, options);
  assert.is(a.loss, b.loss);
  assert.equal(a.gradX, b.gradX);
  assert.equal(a.gradY, b.gradY);
  assert.is(a.gradLogScale, b.gradLogScale);
});

test("'auto' runs Matryoshka prefixes on the CPU (not yet checked on a GPU)", async () => {
  const r = await contrastiveLoss(x, y, { rows: M, dim: D, matryoshka: { dims }, backend: 'auto' });
  assert.is(r.backend, 'cpu');
});

test('dims as an Int32Array and weights as a Float64Array', async () => {
  const r = await contrastiveLoss(x, y, { rows: M, dim: D, matryoshka: { dims: Int32Array.from(dims), weights: Float64Array.of(1, 1, 1) }, backend: 'cpu' });
  const s = await contrastiveLoss(x, y, { rows: M, dim: D, matryoshka: { dims }, backend: 'cpu' });
  assert.is(r.loss, s.loss);
});

test.run();
