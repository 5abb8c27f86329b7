// The one rule that changes with the batch size, fixed across sizes so that the batch size is the only
// variable: equal epochs (every size sees the same pairs the same number of times, so a big batch takes
// fewer steps), and AdamW's learning rate scaled with the square root of the batch (the scaling rule
// for adaptive optimisers: Adam's update noise falls as 1/√B, so a √B larger step keeps it constant;
// Malladi et al., 2022), anchored at the trainer's default, 2·10⁻³ at 4,096 pairs. Warm-up is the
// trainer's default 5% of the steps (at least one); θ, the log inverse temperature, is learned from
// the same start (temperature 0.07) at every size.
export const ANCHOR_BATCH = 4096;
export const ANCHOR_LEARNING_RATE = 2e-3;

export function learningRateFor(batchSize: number): number {
  return ANCHOR_LEARNING_RATE * Math.sqrt(batchSize / ANCHOR_BATCH);
}

/** Steps for `epochs` passes over `pairs` pairs (the trainer drops an epoch's incomplete last batch). */
export function stepsFor(pairs: number, batchSize: number, epochs: number): number {
  return epochs * Math.max(1, Math.floor(pairs / batchSize));
}

/**
 * Bytes the naive loss holds at batch M (= N): the fp32 logit matrix, its softmax and the softmax's
 * gradient, each M × N (PyTorch's cross_entropy keeps the log-softmax for the backward pass; the
 * backward allocates the gradient). A lower bound: autograd may keep more.
 */
export function naiveLossBytes(batchSize: number): number {
  return 3 * 4 * batchSize * batchSize;
}
