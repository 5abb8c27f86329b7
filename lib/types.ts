// The public types of the loss API (README, "API"; docs/loss.md).

/** Where the loss runs: the CPU, the GPU, or `'auto'`: a GPU when the CUDA backend and a GPU are usable, else the CPU. */
export type Backend = 'cpu' | 'cuda' | 'auto';
/** @deprecated The old name of {@link Backend} (renamed in 0.2.0, see CHANGELOG.md; accepted until 0.3.0). */
export type Device = Backend;

/** CPU micro-kernel family; `'auto'` picks the best this CPU supports. For tests and benchmarks. */
export type CpuIsa = 'auto' | 'avx512' | 'avx2' | 'portable';

/**
 * How the products are computed on the GPU (accumulation is always fp32): `'fp32'` as 3xTF32 (fp32
 * accuracy), `'tf32'` (one TF32 product, ~10-bit mantissas), `'bf16'` or `'fp16'` (the normalised
 * rows rounded to 16 bits). The CPU computes in fp32.
 */
export type Precision = 'fp32' | 'tf32' | 'bf16' | 'fp16';

/** Element type of a {@link DeviceTensor}. */
export type Dtype = 'float32' | 'bfloat16' | 'float16';

/**
 * A row-major matrix in GPU memory, accepted by `contrastiveLoss` wherever a Float32Array is, so a
 * training loop can keep embeddings and gradients on the device. Free it with `dispose()` (the
 * garbage collector frees it too, eventually).
 */
export interface DeviceTensor {
  readonly rows: number;
  readonly cols: number;
  readonly dtype: Dtype;
  /** The GPU's index. */
  readonly gpu: number;
  /** @deprecated The old name of `gpu` (renamed in 0.2.0, see CHANGELOG.md; accepted until 0.3.0). */
  readonly device: number;
  readonly disposed: boolean;
  /** Copies the tensor to the host as fp32, on a worker thread. */
  toFloat32Array(): Promise<Float32Array>;
  toFloat32ArraySync(): Float32Array;
  /** Frees the GPU memory now. Throws (ERR_TENSOR_IN_USE) while a pending call uses the tensor. */
  dispose(): void;
}

export interface DeviceTensorOptions {
  rows: number;
  cols: number;
  /** Default `'float32'`; `'bfloat16'` and `'float16'` halve the memory and select that precision in the loss. */
  dtype?: Dtype;
  /** GPU index. Default 0. */
  gpu?: number;
  /** @deprecated The old name of `gpu` (renamed in 0.2.0, see CHANGELOG.md; accepted until 0.3.0). */
  device?: number;
}

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
  /**
   * False-negative masking. Logit (i, j) with j ≠ targets[i] whose row and column share a group (a
   * value ≥ 0; negative values are no group) leaves both softmaxes: a duplicate of pair i's document,
   * or a passage of the same source, is then not pushed away as a negative. Either one Int32Array of
   * a group per pair (needs cols = rows; column targets[i] gets pair i's group), or `{ rows, cols }`
   * with a group per row of `x` and per row of `y`. Verified on the CPU: `backend: 'auto'` runs a
   * call with groups there. On the GPU only the experimental panel schedule masks (`backend: 'cuda'`,
   * `gpuSchedule: 'panels'`, precision 'bf16' or 'fp16'; checked by its host emulation, not yet on a
   * GPU); any other `'cuda'` call with groups is a RangeError.
   */
  groups?: Int32Array | { rows: Int32Array; cols: Int32Array };
  /**
   * Several positives per query. `'target'` (default): row i's one positive is its target, and the
   * `groups` mask the rest of its group. `'groups'`: every column of row i's group is a positive of row
   * i (and every row of a target column's group one of that column), in SupCon's "out" form: the row's
   * loss is its log-sum-exp minus the mean logit of its positives (README, "Several positives"). Needs
   * `groups`. CPU only for now.
   */
  positives?: 'target' | 'groups';
  /**
   * Matryoshka (nested) dimensions: L = Σₖ weights[k]·L(x[:, :dims[k]], y[:, :dims[k]]), each prefix
   * normalised on its own, so that the first dims[k] coordinates of an embedding are a good embedding
   * by themselves (README, "Matryoshka dimensions"). Fused: one product along the depth serves every
   * prefix, so the call costs about one full-`dim` loss plus an epilogue per prefix, not k losses.
   * `dims` strictly increasing, each in [1, dim] (coordinates beyond the last get no gradient);
   * `weights` > 0, default 1 each (as sentence-transformers' MatryoshkaLoss). The result's `prefixes`
   * gives each prefix's loss and accuracy. CPU only for now: `backend: 'auto'` runs such a call there,
   * `'cuda'` is a RangeError.
   */
  matryoshka?: MatryoshkaOptions;
  /**
   * Default `'auto'`: the GPU when the CUDA backend and a GPU are usable, else the CPU. `'cuda'` fails
   * with a clear error (code ERR_CUDA_NOT_BUILT or ERR_CUDA_NO_DEVICE) when they are not.
   */
  backend?: Backend;
  /** @deprecated The old name of `backend` (renamed in 0.2.0, see CHANGELOG.md; accepted until 0.3.0); giving both is a RangeError. */
  device?: Backend;
  /**
   * Operand precision of the products. Default `'fp32'`, or the dtype of DeviceTensor inputs. The CPU
   * takes `'fp32'` and `'bf16'` (AVX512-BF16 dot products where the CPU has them, else bf16-rounded
   * operands in fp32 products); the GPU all four.
   */
  precision?: Precision;
  /**
   * CPU: bytes the fused kernel may spend keeping the logits S between its two passes, which skips
   * their recompute (6·M·N·D FLOPs instead of 8). S needs about 4·M·N bytes. Default 1 GiB (the cache
   * is on up to M = N ≈ 16,000); 0 turns it off.
   */
  memoryBudget?: number;
  /**
   * CPU: skip the dX/dY products of a tile whose largest softmax probability (M·|G|) is below this
   * (as Cut Cross-Entropy does for vocabularies). Default 0: exact. Gains on trained batches, where
   * most negatives have negligible probability; the loss and dθ stay exact.
   */
  gradientFilter?: number;
  /** Worker threads of the CPU kernel. Default: the hardware threads this process may use. */
  threads?: number;
  /**
   * Experimental, GPU: `'panels'` runs the gradient pass as panels of GEMM-shaped kernels (ldmatrix,
   * 4-stage cp.async; G for one panel of rows kept in 16 bits within `memoryBudget`), for the 16-bit
   * precisions on sm_80 and newer; other cases keep the tile kernel. Not yet checked on a GPU, so not
   * the default. Default `'tiles'`, or `'panels'` when the environment has INFONCE_CUDA_PANEL=1.
   */
  gpuSchedule?: GpuSchedule;
  /** The GPU that runs a call with host inputs (default 0). DeviceTensor inputs run on their own GPU. */
  gpu?: number;
}

/**
 * Knobs that force one implementation, for the project's tests and benchmarks (`infonce/internal`):
 * not part of the contract, and they may change in any release.
 */
export interface InternalLossOptions extends ContrastiveLossOptions {
  /** `'fused'` (default) never holds the M×N logits; `'naive'` materialises them (a baseline for benchmarks). */
  algorithm?: 'fused' | 'naive';
  /** CPU micro-kernel family. Default `'auto'`. */
  isa?: CpuIsa;
  /** GPU tile shape: `'small'` forces the one of GPUs with 64 KiB of shared memory (tests). Default `'auto'`. */
  tiles?: 'auto' | 'small';
}

/** Matryoshka prefixes of the loss: see {@link ContrastiveLossOptions.matryoshka}. */
export interface MatryoshkaOptions {
  /** Prefix lengths, strictly increasing, each in [1, dim]; e.g. `[64, 128, 256, 768]`. */
  dims: number[] | Int32Array;
  /** One weight > 0 per prefix. Default 1 each. */
  weights?: number[] | Float64Array;
}

/** One Matryoshka prefix's share of a loss result. */
export interface PrefixResult {
  /** The prefix length d. */
  dim: number;
  /** Its weight in the total loss. */
  weight: number;
  /** The loss of the prefix alone (before its weight). */
  loss: number;
  /** Top-1 accuracy of the prefix's logits. */
  accuracy: { row: number; col: number };
}

/** The GPU gradient pass: the verified tile kernel, or the experimental panels of GEMMs. */
export type GpuSchedule = 'tiles' | 'panels';

/**
 * The GPU code that multiplies: the tile kernels (the verified default), or the panel schedule on its
 * sm_80 main loop (mma.sync), its sm_90a one (wgmma + TMA, in development) or its sm_100a one (tcgen05 +
 * TMEM, in development).
 */
export type CudaMainLoop = 'tiles' | 'sm80' | 'sm90a' | 'sm100a';

/** What `x` and `y` may be: host memory, or a tensor already on the GPU. */
export type Matrix = Float32Array | DeviceTensor;

export interface ContrastiveLossResult<G = Float32Array> {
  /** The loss L of docs/loss.md (the mean cross-entropy; the average of both directions if symmetric). */
  loss: number;
  /** dL/dx, M×D row-major (a float32 DeviceTensor when an input was a DeviceTensor). */
  gradX: G;
  /** dL/dy, N×D row-major. */
  gradY: G;
  /** dL/dθ. */
  gradLogScale: number;
  /** Top-1 accuracy: the fraction of rows (columns) whose positive has the largest logit. */
  accuracy: { row: number; col: number };
  /** Mean logit of the positives, exp(θ)·cos. */
  meanPositiveLogit: number;
  /** Mean row log-sum-exp; meanLogSumExp − meanPositiveLogit is the row loss. */
  meanLogSumExp: number;
  /** Where it ran. */
  backend: 'cpu' | 'cuda';
  /** @deprecated The old name of `backend` (renamed in 0.2.0, see CHANGELOG.md; accepted until 0.3.0). */
  device: 'cpu' | 'cuda';
  /** What the fused CPU kernel did: S kept between the passes, tiles the gradient filter skipped. */
  kernel?: { logitsCached: boolean; tiles: number; tilesSkipped: number };
  /** On the GPU: the main loop that ran (a benchmark or check reads it to know what it measured). */
  mainLoop?: CudaMainLoop;
  /**
   * With `matryoshka`: each prefix, in the order of the dims. `loss` is then Σ weight·loss over them;
   * `accuracy` and the mean logits are those of the largest prefix.
   */
  prefixes?: PrefixResult[];
}
