// Seeded randomness: every random choice of the trainer (initial weights, data order) comes from
// here, so that a seed reproduces a run exactly.

/** mulberry32: a small, fast 32-bit generator with a full period. Returns floats in [0, 1). */
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

/** Standard-normal samples (Box–Muller) into `out`, times `scale`. */
export function fillGaussian(out: Float32Array, seed: number, scale = 1): Float32Array {
  const next = generator(seed);
  for (let i = 0; i < out.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - next())) * scale;
    const angle = 2 * Math.PI * next();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** A permutation of [0, n) (Fisher–Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const next = generator(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
