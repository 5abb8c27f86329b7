// Loads the native addon and describes its surface to TypeScript. The only file that knows where
// the binary lives: a prebuild under prebuilds/<platform>-<arch>/ when one matches, else the local
// build under build/Release/ (node-gyp-build's order).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

interface DeviceTensorClass {
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

interface Addon {
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
  backendInfo(): Omit<BackendInfo, 'addon'>;
  /** ln(1/0.07) and ln(10⁴): θ's default and largest value (native/include/infonce.h). */
  defaultLogScale: number;
  maxLogScale: number;
  /** The precision names the loss takes, from the native enum: what `Precision` lists. */
  precisions: Precision[];
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

/** The package's root directory: the nearest folder above this file whose package.json names infonce. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'infonce') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('infonce: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** This package's version (package.json). */
export function packageVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
}

// The CUDA backend ships as a package of its own (a CPU user never downloads it): if it is installed,
// tell the addon where its library is. Nothing is loaded until a GPU is asked for.
function useCudaPackage(addon: Addon): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  try {
    const manifest = createRequire(import.meta.url).resolve('@infonce/linux-x64-cuda/package.json');
    addon.setCudaLibraryPath(join(dirname(manifest), 'infonce_cuda.so'));
  } catch {
    // not installed: the addon falls back to a CUDA build beside itself, or says what to install
  }
}

function load(): { addon: Addon; binary: { file: string; origin: string } } {
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  const { chooseBinary } = require(join(root, 'bindings', 'binary.cjs')) as {
    chooseBinary(root: string): { file: string; origin: string } | null;
  };
  const binary = chooseBinary(root);
  if (!binary)
    throw new Error(
      `infonce: no native addon for ${process.platform}-${process.arch} in ${root}: no prebuild matches and nothing ` +
        `was built. Build it from source: \`npx cmake-js compile\` in that folder (needs cmake and a C++20 ` +
        `compiler), or reinstall with install scripts allowed (\`npm install-scripts approve infonce\`).`,
    );
  let addon: Addon;
  try {
    addon = require(binary.file) as Addon;
  } catch (cause) {
    throw new Error(
      `infonce: the native addon ${binary.file} (${binary.origin}) does not load here: ${(cause as Error).message}. ` +
        'If it is a prebuild for a newer system, build from source: INFONCE_BUILD_FROM_SOURCE=1 npm rebuild infonce.',
      { cause },
    );
  }
  useCudaPackage(addon);
  return { addon, binary };
}

const loaded = load();
export const addon: Addon = loaded.addon;
/** Which compiled addon was loaded, and why that one. */
export const addonBinary: { file: string; origin: string } = loaded.binary;
