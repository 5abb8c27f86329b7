// Seeded random inputs, so that a failing test or a benchmark row can be reproduced from its seed.
import { fillGaussian, generator, permutation } from '../lib/util/random.js';

export { generator };

/** A fresh seed for each run; tests print it when they fail. */
export function freshSeed(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

/** rows × dim standard-normal floats, row-major. */
export function gaussianMatrix(rows: number, dim: number, seed: number): Float32Array {
  return fillGaussian(new Float32Array(rows * dim), seed);
}

/**
 * Pairs that look like a trained model's: row i of y is row i of x plus noise of relative size
 * `noise`, so each positive's logit stands far above the negatives (P ≈ 1 on the diagonal).
 */
export function alignedPairs(rows: number, cols: number, dim: number, noise: number, seed: number) {
  const x = gaussianMatrix(rows, dim, seed);
  const y = gaussianMatrix(cols, dim, seed + 1);
  for (let i = 0; i < rows * dim; i++) y[i] = x[i]! + noise * y[i]!;
  return { x, y };
}

/** A random permutation of [0, n) as an Int32Array, first `length` entries (distinct targets). */
export function distinctTargets(length: number, n: number, seed: number): Int32Array {
  return permutation(n, seed).slice(0, length);
}
