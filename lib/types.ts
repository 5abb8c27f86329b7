// The public types of the loss API (shared/docs/architecture.md, "The public contract").

/** Where the loss runs. `'auto'` uses a GPU when the CUDA backend and a GPU are available, else the CPU. */
export type Device = 'cpu' | 'cuda' | 'auto';

/** CPU micro-kernel family; `'auto'` picks the best this CPU supports. For tests and benchmarks. */
export type CpuIsa = 'auto' | 'avx512' | 'avx2' | 'portable';

export interface ContrastiveLossOptions {
  /** M: the number of queries, rows of `x`. */
  rows: number;
  /** N ≥ M: the number of documents, rows of `y`. Rows M..N-1 are extra negatives shared by the batch. Default M. */
  cols?: number;
  /** D: the embedding dimension (row length of `x` and `y`). */
  dim: number;
  /** θ: logits are cos·exp(θ). Default ln(1/0.07) ≈ 2.659 (CLIP's initial temperature). At most ln(10⁴). */
  logScale?: number;
  /** Average the row (query → document) and column (document → query) cross-entropies. Default true. */
  symmetric?: boolean;
  /** The column of `y` that is row i's positive; distinct values in [0, N). Default `targets[i] = i`. */
  targets?: Int32Array;
  /** Default `'auto'`. */
  device?: Device;
  /** Worker threads of the CPU kernel. Default: the hardware threads this process may use. */
  threads?: number;
  /** `'fused'` (default) never holds the M×N logits; `'naive'` materialises them (a baseline for benchmarks). */
  algorithm?: 'fused' | 'naive';
  /** CPU micro-kernel family. Default `'auto'`. */
  isa?: CpuIsa;
}

export interface ContrastiveLossResult {
  /** The loss L of shared/docs/loss.md (the mean cross-entropy; the average of both directions if symmetric). */
  loss: number;
  /** dL/dx, M×D row-major. */
  gradX: Float32Array;
  /** dL/dy, N×D row-major. */
  gradY: Float32Array;
  /** dL/dθ. */
  gradLogScale: number;
  /** Top-1 accuracy: the fraction of rows (columns) whose positive has the largest logit. */
  accuracy: { row: number; col: number };
  /** Mean logit of the positives, exp(θ)·cos. */
  meanPositiveLogit: number;
  /** Mean row log-sum-exp; meanLogSumExp − meanPositiveLogit is the row loss. */
  meanLogSumExp: number;
}
