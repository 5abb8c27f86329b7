// The native addon's surface as TypeScript sees it: what each exported function takes and returns.
// Types only; lib/native.ts loads the binary and gives it this type.
import type {
  ContrastiveLossOptions,
  ContrastiveLossResult,
  CudaMainLoop,
  DeviceTensor,
  DeviceTensorOptions,
  Matrix,
  Precision,
} from './types.js';

export interface CpuBackendInfo {
  avx512: boolean;
  avx2: boolean;
  avx512bf16: boolean;
  /** Hardware threads this process may use: the default thread count of the kernels. */
  threads: number;
  /** The micro-kernel family `isa: 'auto'` picks on this CPU. */
  isa: 'avx512' | 'avx2' | 'portable';
  supportedIsas: Array<'avx512' | 'avx2' | 'portable'>;
}

export interface CudaDeviceInfo {
  index: number;
  name: string;
  computeCapability: string;
  multiprocessors: number;
  totalMemory: number;
  freeMemory: number;
  driverVersion: number;
  runtimeVersion: number;
}

export interface CudaBackendInfo {
  available: boolean;
  /** The infonce_cuda.so that was opened (or found), if any. */
  library: string | null;
  /**
   * INFONCE_CUDA_LIBRARY, when set: a developer override, opened instead of the installed backend only
   * if a GPU was asked for by name (backend 'cuda', a DeviceTensor) before the backend was first opened.
   * `library` says which one is in use.
   */
  override: string | null;
  /** Why the GPU cannot be used, when it cannot. */
  reason?: string;
  code?: string;
  devices: CudaDeviceInfo[];
  /**
   * What the CUDA backend was built with, read from the library (also without a GPU); null when there is
   * no backend to open. `architectures`: the GPU code it holds ('sm_80' machine code, 'compute_90' PTX,
   * 'sm_90a'); `mainLoops`: the main loops compiled in ('tiles', 'sm80', 'sm90a', 'sm100a').
   */
  built: { architectures: string[]; mainLoops: CudaMainLoop[] } | null;
}

export interface BackendInfo {
  /** The compiled addon in use: `origin` is 'prebuild', 'built from source' or 'local build'. */
  addon: { file: string; origin: string };
  cpu: CpuBackendInfo;
  cuda: CudaBackendInfo;
}

/** The GPU launch plan (tests check its arithmetic on machines without a GPU). */
export interface CudaLaunchPlan {
  tileRows: number;
  tileCols: number;
  paddedRows: number;
  paddedCols: number;
  paddedDim: number;
  rowTiles: number;
  colTiles: number;
  ranges: number;
  replicas: number;
  launches: number;
  blocks: Array<{ launch: number; replica: number; rowTileBegin: number; rowTileEnd: number; colTileBegin: number; colTileEnd: number }>;
  sharedBytes: { half: { statistics: number; gradients: number }; float: { statistics: number; gradients: number } };
}

/** The GPU panel schedule of the gradient pass (native/include/schedule/panel_plan.h), for tests without a GPU. */
export interface CudaPanelPlan {
  paddedRows: number;
  paddedCols: number;
  paddedDim: number;
  panelRows: number;
  panels: number;
  splits: number;
  gradientBytes: number;
  workspaceBytes: number;
  logScalePartials: number;
  /** Dynamic shared memory of the three kernels, bytes. */
  sharedBytes: { terms: number; rowGradient: number; columnGradient: number };
  /** The first column of G of each split of the dU product, and the end (splits + 1 entries). */
  splitBegins: number[];
  panelList: Array<{
    begin: number;
    height: number;
    logScalePartialOffset: number;
    /** Grids (x, y, z) of the three launches. */
    terms: [number, number, number];
    rowGradient: [number, number, number];
    columnGradient: [number, number, number];
    lastTermsOffset: number;
    lastRowGradientOffset: number;
    lastColumnGradientOffset: number;
    /** With `blocks: true`: each block's output offset, x fastest, then y, then z. */
    termsOffsets?: Float64Array;
    rowGradientOffsets?: Float64Array;
    columnGradientOffsets?: Float64Array;
  }>;
}

export interface DeviceTensorClass {
  fromFloat32Array(data: Float32Array, options: DeviceTensorOptions): DeviceTensor;
  prototype: DeviceTensor;
}

export interface BagShapeArgument {
  vocabulary: number;
  buckets: number;
  width: number;
  dim: number;
  pooling?: 'mean' | 'sqrt';
  threads?: number;
}

export interface BagParametersArgument {
  tokens: Float32Array;
  bigrams: Float32Array;
  projection: Float32Array;
  /** A positive weight per token id (idf pooling): pooling is then the weighted mean. */
  weights?: Float32Array;
}

export interface BagGradients {
  projection: Float32Array;
  tokenRows: Int32Array;
  tokenGrads: Float32Array;
  bigramRows: Int32Array;
  bigramGrads: Float32Array;
}

export interface AdamWArgument {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  step: number;
  gradientScale?: number;
  threads?: number;
}

export interface Addon {
  bagForward(
    ids: Int32Array,
    offsets: Int32Array,
    parameters: BagParametersArgument,
    shape: BagShapeArgument,
  ): Promise<{ pooled: Float32Array; out: Float32Array }>;
  bagBackward(
    ids: Int32Array,
    offsets: Int32Array,
    parameters: BagParametersArgument,
    shape: BagShapeArgument,
    pooled: Float32Array,
    gradOut: Float32Array,
  ): Promise<BagGradients>;
  /** A zeroed Float32Array over memory the addon owns: a call reading it keeps it alive (bindings/owned_tables.h). */
  newTable(length: number): Float32Array;
  isOwnedTable(array: Float32Array): boolean;
  adamwRows(
    table: Float32Array,
    m: Float32Array,
    v: Float32Array,
    width: number,
    rows: Int32Array | null,
    grads: Float32Array,
    options: AdamWArgument,
  ): void;
  sumOfSquares(x: Float32Array): number;
  normalizeRows(x: Float32Array, dim: number): void;
  addRows(table: Float32Array, width: number, rows: Int32Array | null, grads: Float32Array): void;
  takeRows(table: Float32Array, width: number, rows: Int32Array): Float32Array;
  zeroRows(table: Float32Array, width: number, rows: Int32Array): void;
  logisticRegression(
    trainX: Float32Array,
    trainY: Int32Array,
    testX: Float32Array,
    options: { dim: number; classes: number; lambda?: number; iterations?: number; threads?: number },
  ): Promise<Int32Array>;
  topK(queries: Float32Array, corpus: Float32Array, options: { dim: number; k: number; threads?: number }): Promise<{ indices: Int32Array; scores: Float32Array; k: number }>;
  contrastiveLoss(x: Matrix, y: Matrix, options: ContrastiveLossOptions): Promise<ContrastiveLossResult<Matrix>>;
  contrastiveLossSync(x: Matrix, y: Matrix, options: ContrastiveLossOptions): ContrastiveLossResult<Matrix>;
  mpiOpen(): { rank: number; size: number; library: string };
  mpiBytesSent(): number;
  mpiClose(): void;
  /** Every rank's bytes in rank order (`kind`: the element type's code, compared across ranks). */
  mpiAllGather(array: ArrayBufferView, kind: number): Promise<{ data: ArrayBuffer; lengths: number[] }>;
  mpiBroadcast(array: ArrayBufferView, kind: number, root: number): Promise<void>;
  mpiBarrier(): Promise<void>;
  distributedContrastiveLoss(x: Float32Array, y: Float32Array, options: object): Promise<ContrastiveLossResult>;
  /** Starts the process's NCCL communicator on `device` (over MPI when `overMpi`, else a world of one). */
  ncclOpen(device: number, overMpi: boolean): Promise<{ rank: number; size: number; device: number; library: string }>;
  ncclBytesSent(): number;
  ncclClose(): void;
  ncclDistributedContrastiveLoss(x: Matrix, y: Matrix, options: object): Promise<ContrastiveLossResult<Matrix>>;
  backendInfo(): Omit<BackendInfo, 'addon'>;
  /** ln(1/0.07) and ln(10⁴): θ's default and largest value (native/include/infonce.h). */
  defaultLogScale: number;
  maxLogScale: number;
  /** The precision names the loss takes, from the native enum: what `Precision` lists. */
  precisions: Precision[];
  /** Every error code the native core and the bindings give (lib/error-codes.ts lists them with the rest). */
  errorCodes: string[];
  DeviceTensor: DeviceTensorClass;
  setCudaLibraryPath(path: string): void;
  cudaSelfTest(): string;
  cudaLaunchPlan(options: {
    rows: number;
    cols: number;
    dim: number;
    residentBlocks: number;
    maxReplicas: number;
    tiles?: 'large' | 'small';
  }): CudaLaunchPlan;
  cudaPanelPlan(options: { rows: number; cols: number; dim: number; memoryBudget: number; blocks?: boolean }): CudaPanelPlan;
  cudaPanelEmulation(
    x: Float32Array,
    y: Float32Array,
    options: Pick<ContrastiveLossOptions, 'rows' | 'cols' | 'dim' | 'logScale' | 'symmetric' | 'targets' | 'memoryBudget'> & {
      precision: 'bf16' | 'fp16';
      /** Groups of rows and columns apart (the per-pair form is the caller's to expand). */
      groups?: { rows: Int32Array; cols: Int32Array };
      /** G's storage scale; 0 or absent: the kernel's 2¹⁴ (tests compare with 1). */
      storageScale?: number;
      /** Whose statistics epilogue to mirror: the warp part of a tile is 64 × 32 on sm_80 (default), 16 × 128 on sm_90a, 32 × 64 on sm_100a. */
      warpPart?: 'sm80' | 'sm90a' | 'sm100a';
      /** false: two exponentials per logit everywhere (default true: one where a block allows it). */
      oneExponential?: boolean;
    },
  ): ContrastiveLossResult & {
    /** Warp parts of statistics tiles and blocks of G, by how many exponentials per logit they took. */
    epilogueCounts: { statisticsOne: number; statisticsTwo: number; termsOne: number; termsTwo: number };
  };
  /** The GPU's choice of main loop (schedule/main_loop.h), for tests without a GPU. */
  cudaMainLoopChoice(
    required: 'auto' | 'sm90a' | 'sm100a',
    candidates: { panels?: boolean; sm90aBuilt?: boolean; sm100aBuilt?: boolean; computeCapability?: string },
  ): { loop: CudaMainLoop; refusal: string | null };
}
