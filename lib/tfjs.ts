// `infonce/tfjs`: the fused loss as a TensorFlow.js op, for training code written with tfjs
// (`@tensorflow/tfjs`, `@tensorflow/tfjs-node`, or tfjs-core with any backend: an optional peer
// dependency). Differentiable with respect to the embeddings and θ, so it works inside
// `optimizer.minimize`, `tf.variableGrads` and `tf.grads` like any tfjs loss; θ can be a tf.Variable.
//
// tfjs computes gradients synchronously, so the op runs contrastiveLossSync: one native call computes
// the loss and all three gradients in the forward pass (fused, never the M×N logits), and the
// backward pass only scales them by the upstream gradient. The call blocks the event loop for its
// duration, as tfjs's own CPU kernels do; the embeddings go through host memory (dataSync).
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs-core';

import { contrastiveLossSync } from './loss.js';
import type { ContrastiveLossOptions } from './types.js';
import { invalidType, outOfRange } from './util/errors.js';
import { requirePackages } from './util/optional-packages.js';

/** The loss's options other than the shapes (read from the tensors) and θ (an argument). */
export type TfjsLossOptions = Omit<ContrastiveLossOptions, 'rows' | 'cols' | 'dim' | 'logScale'>;

let tfjs: typeof TF | undefined;
function core(): typeof TF {
  if (!tfjs) {
    requirePackages('infonce/tfjs', ['@tensorflow/tfjs-core']);
    tfjs = createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof TF;
  }
  return tfjs;
}

/**
 * The symmetric InfoNCE loss of `x` (M × D queries) against `y` (N × D documents, row i query i's
 * positive unless `targets` says otherwise) at logit scale exp(`logScale`), as a scalar tfjs tensor
 * with gradients for x, y and logScale.
 *
 * @example
 * const theta = tf.variable(tf.scalar(Math.log(1 / 0.07)));
 * optimizer.minimize(() => contrastiveLoss(encode(queries), encode(documents), theta), false, [...weights, theta]);
 */
export function contrastiveLoss(x: TF.Tensor, y: TF.Tensor, logScale: TF.Tensor, options: TfjsLossOptions = {}): TF.Scalar {
  const tf = core();
  const isTensor = (t: unknown) => t instanceof tf.Tensor;
  if (!isTensor(x) || x.rank !== 2) throw invalidType(`x: expected a rank-2 tf.Tensor (rows × dim), got ${isTensor(x) ? `rank ${x.rank}` : typeof x}`);
  if (!isTensor(y) || y.rank !== 2) throw invalidType(`y: expected a rank-2 tf.Tensor (cols × dim), got ${isTensor(y) ? `rank ${y.rank}` : typeof y}`);
  if (!isTensor(logScale) || logScale.size !== 1) throw invalidType('logScale: expected a scalar tf.Tensor (or tf.Variable)');
  const [rows, dim] = x.shape as [number, number];
  const [cols, dimY] = y.shape as [number, number];
  if (dimY !== dim) throw outOfRange(`y: expected ${dim} columns (x is ${rows} × ${dim}), got ${cols} × ${dimY}`);
  // float32 data as it is (contrastiveLossSync only reads it); other dtypes converted.
  const floats = (t: TF.Tensor) => {
    const data = t.dataSync();
    return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  };
  const op = tf.customGrad((...inputs: Array<TF.Tensor | TF.GradSaveFunc>) => {
    const [xs, ys, theta] = inputs as [TF.Tensor, TF.Tensor, TF.Tensor];
    const r = contrastiveLossSync(floats(xs), floats(ys), {
      ...options,
      rows,
      cols,
      dim,
      logScale: theta.dataSync()[0]!,
    });
    const gradX = r.gradX as Float32Array;
    const gradY = r.gradY as Float32Array;
    return {
      value: tf.scalar(r.loss),
      gradFunc: (dy: TF.Tensor) => [
        tf.mul(tf.tensor2d(gradX, [rows, dim]), dy),
        tf.mul(tf.tensor2d(gradY, [cols, dim]), dy),
        tf.mul(tf.reshape(tf.scalar(r.gradLogScale), theta.shape), dy),
      ],
    };
  });
  return op(x, y, logScale) as TF.Scalar;
}
