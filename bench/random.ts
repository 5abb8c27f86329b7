// Seeded random inputs, so that a failing test or a benchmark row can be reproduced from its seed.

/** mulberry32: a small, fast 32-bit generator with a full period; plenty for test data. */
export function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fresh seed for each run; tests print it when they fail. */
export function freshSeed(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

/** rows × dim standard-normal floats (Box–Muller), row-major. */
export function gaussianMatrix(rows: number, dim: number, seed: number): Float32Array {
  const next = generator(seed);
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < out.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - next()));
    const angle = 2 * Math.PI * next();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/**
 * Pairs that look like a trained model's: row i of y is row i of x plus noise of relative size
 * `noise`, so each positive's logit stands far above the negatives (P ≈ 1 on the diagonal).
 */
export function alignedPairs(rows: number, cols: number, dim: number, noise: number, seed: number) {
  const x = gaussianMatrix(rows, dim, seed);
  const y = gaussianMatrix(cols, dim, seed + 1);
  for (let i = 0; i < rows * dim; i++) y[i] = x[i] + noise * y[i];
  return { x, y };
}

/** A random permutation of [0, n) as an Int32Array, first `length` entries (distinct targets). */
export function distinctTargets(length: number, n: number, seed: number): Int32Array {
  const next = generator(seed);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.slice(0, length);
}
