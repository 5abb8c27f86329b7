// Every implementation of the loss that this machine can run, so that one suite checks them all
// (the pattern of websockets/bufferutil). A backend this machine lacks is listed with the reason,
// and its tests are reported as skipped, never silently passed.
import { toDevice } from '../lib/device-tensor.js';
import { backendInfo } from '../lib/info.js';
import { contrastiveLoss } from '../lib/loss.js';
import { addon } from '../lib/native.js';
import type { ContrastiveLossOptions, ContrastiveLossResult, DeviceTensor, InternalLossOptions } from '../lib/types.js';
import { sideGroups, type OperandRounding } from '../lib/reference.js';

export interface Tolerance {
  loss: number;
  gradient: number;
  /** Gradient norm below which only the absolute error counts (a format's resolution). */
  gradientFloor?: number;
  /**
   * The relative rounding of G (a backend that keeps it in 16 bits): the gradients may then differ by
   * that much of the reference's roundingNorm (‖s·Σ|G||v|/‖x‖‖) where the relative tolerance allows less.
   */
  gRounding?: number;
  /** Absolute error allowed on top of the relative one: the loss and the mean logits, and dθ (fuzz.test.ts). */
  lossAbsolute?: number;
  thetaAbsolute?: number;
}

/** docs/loss.md: fp32 backends vs the float64 reference, and 16-bit (or TF32) products. */
export const FP32_TOLERANCE: Tolerance = { loss: 1e-5, gradient: 1e-4 };
export const LOW_PRECISION_TOLERANCE: Tolerance = { loss: 1e-2, gradient: 1e-2 };
// fp16 G (stored as G/w_r, so O(1)) resolves nothing below its smallest subnormal, 6e-8: with the
// test shapes (M ≤ 300, scale ≤ 100) that is a gradient norm of about 1e-5 at most.
export const FP16_TOLERANCE: Tolerance = { ...LOW_PRECISION_TOLERANCE, gradientFloor: 1e-5 };
// The CPU's bf16 paths against a reference that rounds the operands as they do: the products of
// rounded operands are exact in fp32, so the loss keeps fp32 accuracy (measured ≤ 1e-6 at the suite's
// scales, s ≤ 100) except where the two round differently: the kernel rounds its fp32 u to bf16, the
// reference its float64 u, one bf16 step apart when u sits within a few fp32 ulps of a rounding
// midpoint. A fixed allowance for that (1e-4, once) was too small for one such element of 0.4 at D = 17,
// M = 33 (1.95e-4): test/rounding-boundary.ts gives each case the worst effect of its own at-risk
// elements instead. The gradients carry a rounding the reference does not model: G in bf16, 2⁻⁹ of
// each element, so about 2⁻⁹ of the reference's roundingNorm (s·Σ_j |G_ij|·|v_j| / ‖x_i‖), which
// neither the projection nor G's rows summing to zero shrink. A relative 1e-2 alone failed where both
// cancel (M = 3, D = 7, Matryoshka 2/5/7, a row rescaled 12× for its prefix of 2: seeds 1055185098 and
// 1451713495, 1.4% and 1.25% of the projected gradient, 1.6e-3 and 1.8e-3 of roundingNorm). Over 400
// draws of that shape, with and without Matryoshka, the error reached 2.8e-3 of roundingNorm (G is
// rounded after fp32 exponentials, and Matryoshka's combined C_m once more): allowed 2⁻⁷ (7.8e-3).
export const CPU_BF16_TOLERANCE: Tolerance = { loss: FP32_TOLERANCE.loss, gradient: LOW_PRECISION_TOLERANCE.gradient, gRounding: 2 ** -7 };

export interface Backend {
  name: string;
  tolerance: Tolerance;
  /** How the backend rounds the normalised rows before its products (checked against a reference that does the same). */
  rounding?: OperandRounding;
  /** How it stores the inputs themselves (bf16 DeviceTensors round x and y before anything else). */
  inputRounding?: OperandRounding;
  /** Why this machine cannot run it; undefined when it can. */
  unavailable?: string;
  /** Why it cannot take `groups` (false-negative masking); undefined when it can. */
  withoutGroups?: string;
  /** Why it cannot take `matryoshka` (nested prefixes); undefined when it can. */
  withoutMatryoshka?: string;
  /** Why it cannot take `positives: 'groups'`; undefined when it can. */
  withoutPositives?: string;
  /** Computes the loss with host inputs and host gradients, however the backend holds them. */
  run(x: Float32Array, y: Float32Array, options: ContrastiveLossOptions): Promise<ContrastiveLossResult>;
}

function withOptions(extra: Partial<InternalLossOptions>) {
  return (x: Float32Array, y: Float32Array, options: ContrastiveLossOptions) => contrastiveLoss(x, y, { ...options, ...extra });
}

// The panel kernels on their sm_90a or sm_100a main loop (in development: INFONCE_CUDA_WGMMA=1 or
// INFONCE_CUDA_TCGEN05=1, read by each call), and that loop alone: a result from another is an error.
function withSwitch(name: 'INFONCE_CUDA_WGMMA' | 'INFONCE_CUDA_TCGEN05', run: Backend['run']): Backend['run'] {
  const loop = name === 'INFONCE_CUDA_WGMMA' ? 'sm90a' : 'sm100a';
  return async (x, y, options) => {
    process.env[name] = '1';
    try {
      const result = await run(x, y, options);
      if (result.mainLoop !== loop) throw new Error(`${name}=1 ran the ${result.mainLoop} loop, not ${loop}`);
      return result;
    } finally {
      delete process.env[name];
    }
  };
}

// Inputs uploaded as DeviceTensors of `dtype`, gradients downloaded: the path of a training loop
// that keeps everything on the GPU.
function viaDeviceTensors(dtype: 'float32' | 'bfloat16') {
  return async (x: Float32Array, y: Float32Array, options: ContrastiveLossOptions): Promise<ContrastiveLossResult> => {
    const cols = options.cols ?? options.rows;
    const tx = toDevice(x, { rows: options.rows, cols: options.dim, dtype });
    const ty = toDevice(y, { rows: cols, cols: options.dim, dtype });
    try {
      const r = await contrastiveLoss(tx, ty, { ...options, backend: 'cuda' });
      const gx = r.gradX as DeviceTensor;
      const gy = r.gradY as DeviceTensor;
      const result = { ...r, gradX: await gx.toFloat32Array(), gradY: await gy.toFloat32Array() };
      gx.dispose();
      gy.dispose();
      return result;
    } finally {
      tx.dispose();
      ty.dispose();
    }
  };
}

// The GPU's panel gradient pass run on the host (native/cuda/emulation/panel_emulation.cpp): its schedule, its
// epilogue and its 16-bit G, with a budget of one 128-row panel, so that every case with M > 128 runs
// several panels. It runs on every machine; the kernels themselves are the 'cuda-* panels' backends.
// warpPart: whose statistics epilogue (the part of a tile one warp reduces, where the choice between
// one and two exponentials per logit is made) to mirror.
function panelEmulation(precision: 'bf16' | 'fp16', warpPart: 'sm80' | 'sm90a' | 'sm100a' = 'sm80') {
  return async (x: Float32Array, y: Float32Array, options: ContrastiveLossOptions): Promise<ContrastiveLossResult> => {
    const { rows, dim, logScale, symmetric, targets } = options;
    const cols = options.cols ?? rows;
    const memoryBudget = 128 * Math.ceil(cols / 128) * 128 * 2; // one panel of 128 rows of G
    const sides = sideGroups(options.groups, rows, cols, (i) => (targets ? targets[i]! : i));
    const groups = sides && { rows: Int32Array.from(sides.rows), cols: Int32Array.from(sides.cols) };
    return addon.cudaPanelEmulation(x, y, { rows, cols, dim, logScale, symmetric, targets, precision, memoryBudget, warpPart, ...(groups ? { groups } : {}) });
  };
}

// uvu counts skipped tests without saying why: say it once, for every GPU test of the run.
const gpuReason = backendInfo().cuda.available ? undefined : backendInfo().cuda.reason;
if (gpuReason) console.log(`GPU backends skipped on this machine: ${gpuReason}`);

const NO_GPU_GROUPS = 'the CUDA tile schedule does not mask groups (the panel schedule does)';
const NO_GPU_MATRYOSHKA = 'the CUDA backend does not run Matryoshka prefixes yet';
const NO_GPU_POSITIVES = 'the CUDA backend does not take positives from groups yet';

export function lossBackends(): Backend[] {
  const info = backendInfo();
  const isas = info.cpu.supportedIsas as string[];
  const cpuIsa = (isa: 'avx512' | 'avx2' | 'portable'): Backend => ({
    name: `cpu-fused-${isa}`,
    tolerance: FP32_TOLERANCE,
    unavailable: isas.includes(isa) ? undefined : `this CPU has no ${isa}`,
    run: withOptions({ backend: 'cpu', algorithm: 'fused', isa }),
  });
  const gpu = (name: string, tolerance: Tolerance, run: Backend['run'], rounding?: OperandRounding): Backend => ({
    name,
    tolerance,
    unavailable: gpuReason && `no GPU: ${gpuReason}`,
    withoutGroups: NO_GPU_GROUPS,
    withoutMatryoshka: NO_GPU_MATRYOSHKA,
    withoutPositives: NO_GPU_POSITIVES,
    run,
    ...(rounding ? { rounding } : {}),
  });
  const hasBf16 = info.cpu.avx512bf16;
  return [
    cpuIsa('avx512'),
    {
      ...cpuIsa(isas.includes('avx512') ? 'avx512' : 'portable'),
      name: 'cpu-fused recomputing S (memoryBudget 0)',
      run: withOptions({ backend: 'cpu', memoryBudget: 0 }),
    },
    cpuIsa('avx2'),
    cpuIsa('portable'),
    {
      name: 'cpu-fused-bf16 (AVX512-BF16 dot products)',
      tolerance: CPU_BF16_TOLERANCE,
      rounding: 'bfloat16',
      unavailable: hasBf16 ? undefined : 'this CPU has no AVX512-BF16',
      run: withOptions({ backend: 'cpu', precision: 'bf16' }),
    },
    {
      name: 'cpu-fused-bf16 portable (rounded operands, fp32 products)',
      tolerance: CPU_BF16_TOLERANCE,
      rounding: 'bfloat16',
      run: withOptions({ backend: 'cpu', precision: 'bf16', isa: 'portable', memoryBudget: 0 }),
    },
    { name: 'cpu-naive', tolerance: FP32_TOLERANCE, run: withOptions({ backend: 'cpu', algorithm: 'naive' }) },
    gpu('cuda-fp32 (3xTF32)', FP32_TOLERANCE, withOptions({ backend: 'cuda', precision: 'fp32' })),
    gpu('cuda-tf32', LOW_PRECISION_TOLERANCE, withOptions({ backend: 'cuda', precision: 'tf32' }), 'tf32'),
    gpu('cuda-bf16', LOW_PRECISION_TOLERANCE, withOptions({ backend: 'cuda', precision: 'bf16' }), 'bfloat16'),
    gpu('cuda-fp16', FP16_TOLERANCE, withOptions({ backend: 'cuda', precision: 'fp16' }), 'float16'),
    gpu('cuda-fp32 small tiles', FP32_TOLERANCE, withOptions({ backend: 'cuda', precision: 'fp32', tiles: 'small' })),
    gpu('cuda-bf16 small tiles', LOW_PRECISION_TOLERANCE, withOptions({ backend: 'cuda', precision: 'bf16', tiles: 'small' }), 'bfloat16'),
    gpu('cuda-fp32 DeviceTensors', FP32_TOLERANCE, viaDeviceTensors('float32')),
    // bf16 tensors round x and y themselves, then the normalised rows again: the reference does both.
    { ...gpu('cuda-bf16 DeviceTensors', LOW_PRECISION_TOLERANCE, viaDeviceTensors('bfloat16'), 'bfloat16'), inputRounding: 'bfloat16' },
    // The experimental panel gradient pass: on the GPU, and its host emulation (runs here too).
    // Both mask groups (the only GPU path that does).
    { ...gpu('cuda-bf16 panels', LOW_PRECISION_TOLERANCE, withOptions({ backend: 'cuda', precision: 'bf16', gpuSchedule: 'panels' }), 'bfloat16'), withoutGroups: undefined },
    { ...gpu('cuda-fp16 panels', FP16_TOLERANCE, withOptions({ backend: 'cuda', precision: 'fp16', gpuSchedule: 'panels' }), 'float16'), withoutGroups: undefined },
    {
      ...gpu('cuda-bf16 panels, sm_90a wgmma loop', LOW_PRECISION_TOLERANCE, withSwitch('INFONCE_CUDA_WGMMA', withOptions({ backend: 'cuda', precision: 'bf16', gpuSchedule: 'panels' })), 'bfloat16'),
      withoutGroups: undefined,
      unavailable: gpuReason ? `no GPU: ${gpuReason}` : info.cuda.devices[0]?.computeCapability === '9.0' ? undefined : 'wgmma needs a GPU of compute capability 9.0',
    },
    {
      ...gpu('cuda-bf16 panels, sm_100a tcgen05 loop', LOW_PRECISION_TOLERANCE, withSwitch('INFONCE_CUDA_TCGEN05', withOptions({ backend: 'cuda', precision: 'bf16', gpuSchedule: 'panels' })), 'bfloat16'),
      withoutGroups: undefined,
      unavailable: gpuReason ? `no GPU: ${gpuReason}` : info.cuda.devices[0]?.computeCapability === '10.0' ? undefined : 'tcgen05 as built needs a GPU of compute capability 10.0',
    },
    { name: 'cuda-bf16 panels, emulated on the host', withoutMatryoshka: NO_GPU_MATRYOSHKA, withoutPositives: NO_GPU_POSITIVES, tolerance: LOW_PRECISION_TOLERANCE, rounding: 'bfloat16', run: panelEmulation('bf16') },
    { name: 'cuda-fp16 panels, emulated on the host', withoutMatryoshka: NO_GPU_MATRYOSHKA, withoutPositives: NO_GPU_POSITIVES, tolerance: FP16_TOLERANCE, rounding: 'float16', run: panelEmulation('fp16') },
    { name: 'cuda-bf16 panels, sm_90a epilogue, emulated on the host', withoutMatryoshka: NO_GPU_MATRYOSHKA, withoutPositives: NO_GPU_POSITIVES, tolerance: LOW_PRECISION_TOLERANCE, rounding: 'bfloat16', run: panelEmulation('bf16', 'sm90a') },
    { name: 'cuda-fp16 panels, sm_100a epilogue, emulated on the host', withoutMatryoshka: NO_GPU_MATRYOSHKA, withoutPositives: NO_GPU_POSITIVES, tolerance: FP16_TOLERANCE, rounding: 'float16', run: panelEmulation('fp16', 'sm100a') },
  ];
}
