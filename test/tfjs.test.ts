// infonce/tfjs (with @tensorflow/tfjs, its CPU backend): the fused loss as a tfjs op against InfoNCE written in plain tfjs ops (loss and the
// gradients tfjs derives for it), inside tf.variableGrads with θ a variable, and a few optimizer
// steps of a small tfjs encoder that lower the loss.
import * as tf from '@tensorflow/tfjs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { freshSeed, gaussianMatrix } from '../bench/random.js';
import { relativeError } from '../lib/reference.js';
import { contrastiveLoss } from '../lib/tfjs.js';

const test = suite('tfjs op');
await tf.setBackend('cpu');

// The paper's symmetric loss in tfjs ops (targets i ↦ i, N = M): what tfjs users write by hand.
function plainInfoNce(x: tf.Tensor2D, y: tf.Tensor2D, theta: tf.Tensor): tf.Scalar {
  const normalise = (m: tf.Tensor2D) => tf.div(m, tf.norm(m, 'euclidean', 1, true)) as tf.Tensor2D;
  const logits = tf.mul(tf.matMul(normalise(x), normalise(y), false, true), tf.exp(theta)) as tf.Tensor2D;
  const labels = tf.oneHot(tf.range(0, x.shape[0], 1, 'int32'), x.shape[0]);
  const rows = tf.losses.softmaxCrossEntropy(labels, logits);
  const columns = tf.losses.softmaxCrossEntropy(labels, tf.transpose(logits));
  return tf.mul(0.5, tf.add(rows, columns)) as tf.Scalar;
}

const seed = freshSeed();
const M = 23;
const D = 9;

test(`loss and gradients (x, y, θ) equal plain tfjs InfoNCE's (seed ${seed})`, () => {
  const x = tf.tensor2d(gaussianMatrix(M, D, seed), [M, D]);
  const y = tf.tensor2d(gaussianMatrix(M, D, seed + 1), [M, D]);
  const theta = tf.scalar(1.7);
  const fused = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, t: tf.Tensor) => contrastiveLoss(a, b, t, { backend: 'cpu' }));
  const plain = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, t: tf.Tensor) => plainInfoNce(a as tf.Tensor2D, b as tf.Tensor2D, t));
  const got = fused([x, y, theta]);
  const want = plain([x, y, theta]);
  const lossGot = got.value.dataSync()[0]!;
  const lossWant = want.value.dataSync()[0]!;
  assert.ok(Math.abs(lossGot - lossWant) < 1e-5 * Math.max(1, lossWant), `loss ${lossGot} vs ${lossWant}`);
  for (let k = 0; k < 3; k++) {
    const error = relativeError(got.grads[k]!.dataSync(), want.grads[k]!.dataSync());
    assert.ok(error < 1e-4, `gradient ${['x', 'y', 'θ'][k]}: relative error ${error}`);
  }
});

test('a small tfjs encoder trains with it: θ a variable, a few Adam steps lower the loss', () => {
  // Queries and documents: noisy views of 64 items' 16 features; the encoder is a linear map to 8.
  const items = tf.tensor2d(gaussianMatrix(64, 16, seed + 2), [64, 16]);
  const queries = tf.add(items, tf.mul(0.8, tf.tensor2d(gaussianMatrix(64, 16, seed + 3), [64, 16])));
  const documents = tf.add(items, tf.mul(0.8, tf.tensor2d(gaussianMatrix(64, 16, seed + 4), [64, 16])));
  const weights = tf.variable(tf.tensor2d(gaussianMatrix(16, 8, seed + 5), [16, 8]));
  const theta = tf.variable(tf.scalar(Math.log(1 / 0.07)));
  const optimizer = tf.train.adam(0.05);
  const step = () => optimizer.minimize(() => contrastiveLoss(tf.matMul(queries, weights), tf.matMul(documents, weights), theta, { backend: 'cpu' }), true, [weights, theta])!;
  const first = step().dataSync()[0]!;
  let last = first;
  for (let k = 0; k < 30; k++) last = step().dataSync()[0]!;
  assert.ok(last < 0.7 * first, `loss ${first} → ${last}`);
  assert.ok(Math.abs(theta.dataSync()[0]! - Math.log(1 / 0.07)) > 1e-3, 'θ did not move');
});

test('bad input names the argument', () => {
  const x = tf.zeros([3, 4]);
  assert.throws(() => contrastiveLoss(tf.zeros([3]), x, tf.scalar(1)), /^x: expected a rank-2 tf.Tensor/);
  assert.throws(() => contrastiveLoss(x, tf.zeros([3, 5]), tf.scalar(1)), /^y: expected 4 columns/);
  assert.throws(() => contrastiveLoss(x, x, tf.zeros([2])), /^logScale: expected a scalar/);
});

test.run();
