// A few small GPU losses against the float64 reference, one line each, every precision, tile shape
// and gradient schedule (the experimental panels too, with and without group masking, on the sm_80
// and, on 9.0 or 10.0 GPUs, the sm_90a or sm_100a main loop, each row asserting the loop that ran),
// each run twice and required bit-identical:
// quick enough to run under compute-sanitizer (memcheck, racecheck), which finds out-of-bounds
// accesses and shared-memory races that a wrong answer alone would not locate. Exits non-zero if any
// case is off.
import { backendInfo } from '../lib/info.js';
import { contrastiveLoss, contrastiveLossSync } from '../lib/loss.js';
import { addon } from '../lib/native.js';
import type { ContrastiveLossResult, GpuSchedule, Precision } from '../lib/types.js';
import { gaussianMatrix } from './random.js';
import { referenceContrastiveLoss, relativeError, type OperandRounding } from '../lib/reference.js';

// n rows near ±e₀ (the sign per row), with small noise in every component.
function nearAxis(n: number, dim: number, seed: number, sign: (k: number) => number): Float32Array {
  const m = gaussianMatrix(n, dim, seed).map((v) => 0.05 * v);
  for (let k = 0; k < n; k++) m[k * dim] = sign(k);
  return m;
}

async function main() {
  const info = backendInfo();
  if (!info.cuda.available) {
    console.log(`no GPU: ${info.cuda.reason}`);
    process.exit(2);
  }
  console.log(`GPU: ${info.cuda.devices.map((d) => `${d.name} (sm_${d.computeCapability.replace('.', '')})`).join(', ')}`);
  console.log(addon.cudaSelfTest());
  const quick = process.argv.includes('--quick');
  const panelsOnly = process.argv.includes('--panels-only');
  // The third shape runs the panel schedule with 3 panels, N in 5 splits and 2 tiles of D. The last
  // one, at scale 100 with every query near e₀ and the documents near e₀ (the first 32) or −e₀, makes
  // the panel epilogues take one exponential per logit in some warp parts and two in the others
  // (native/cuda/epilogue_math.h; test/cuda-panel.test.ts counts the same case on the host).
  // --multi-tile: shapes with more tiles than the GPU has SMs, so that a persistent block of the sm_90a
  // and sm_100a loops runs several (2,304² × 1,024: 324 tiles of 128²; 16,384² × 256 beside the
  // tiles), bf16 only, within the same 1e-2 as the other unrounded shapes. Their reference is the
  // CPU's fused fp32 loss (checked against float64 by the test suite; a float64 product of this size
  // in JavaScript would take minutes).
  const multiTile = process.argv.includes('--multi-tile');
  type Shape = { rows: number; cols: number; dim: number; memoryBudget?: number; logScale?: number; clustered?: boolean; large?: boolean };
  const shapes: Shape[] = [
    { rows: 37, cols: 53, dim: 19 },
    ...(quick
      ? []
      : [
          { rows: 200, cols: 260, dim: 72 },
          { rows: 300, cols: 1300, dim: 200, memoryBudget: 128 * 1408 * 2 },
          { rows: 128, cols: 160, dim: 16, logScale: Math.log(100), clustered: true },
        ]),
    ...(multiTile ? [{ rows: 2304, cols: 2304, dim: 1024, large: true }, { rows: 16384, cols: 16384, dim: 256, large: true }] : []),
  ];
  const configs = [
    ...(panelsOnly ? [] : ['fp32', 'tf32', 'bf16', 'fp16'] as Precision[]).flatMap((precision) =>
      (['auto', 'small'] as const).map((tiles) => ({ precision, tiles, gpuSchedule: 'tiles' as GpuSchedule })),
    ),
    ...(['bf16', 'fp16'] as Precision[]).flatMap((precision) =>
      [false, true].flatMap((masked) =>
        [false, true].map((wgmma) => ({ precision, tiles: 'auto' as const, gpuSchedule: 'panels' as GpuSchedule, masked, wgmma })),
      ),
    ),
  ];
  // The panel kernels' newer main loop (in development): sm_90a where the GPU is 9.0, sm_100a where it
  // is 10.0, each required by its switch (a call it cannot run fails). Elsewhere the "wgmma" rows are
  // skipped, and every row asserts the loop that ran (result.mainLoop).
  const capability = info.cuda.devices[0]?.computeCapability;
  const newer =
    capability === '9.0' ? { variable: 'INFONCE_CUDA_WGMMA', loop: 'sm90a' as const } : capability === '10.0' ? { variable: 'INFONCE_CUDA_TCGEN05', loop: 'sm100a' as const } : undefined;
  console.log(`built: ${info.cuda.built?.architectures.join(' ')}; main loops ${info.cuda.built?.mainLoops.join(' ')}`);
  const newerBuilt = newer !== undefined && info.cuda.built?.mainLoops.includes(newer.loop) === true;
  let failures = 0;
  if (!newer) console.log(`compute capability ${capability}: no newer main loop for this card, the "wgmma" rows are skipped`);
  else if (!newerBuilt) {
    failures++;
    console.log(`FAIL this backend has no ${newer.loop} loop for a ${capability} card: the "wgmma" rows are skipped`);
  }
  // A switch that cannot be honoured is an error: the sm_90a loop asked for an fp32 tile call.
  process.env.INFONCE_CUDA_WGMMA = '1';
  const refused = await contrastiveLoss(gaussianMatrix(8, 16, 1), gaussianMatrix(8, 16, 2), { rows: 8, dim: 16, backend: 'cuda', precision: 'fp32' }).then(
    (r) => `ran on ${r.mainLoop}`,
    (e: Error) => e.message,
  );
  delete process.env.INFONCE_CUDA_WGMMA;
  const refusedOk = /INFONCE_CUDA_WGMMA=1 asks for the sm_90a main loop/.test(refused);
  failures += refusedOk ? 0 : 1;
  console.log(`${refusedOk ? 'ok  ' : 'FAIL'} INFONCE_CUDA_WGMMA=1 on an fp32 tile call: ${refused}`);
  for (const shape of shapes) {
    const x = shape.clustered ? nearAxis(shape.rows, shape.dim, 11, () => 1) : gaussianMatrix(shape.rows, shape.dim, 11);
    const y = shape.clustered ? nearAxis(shape.cols, shape.dim, 12, (k) => (k < 32 ? 1 : -1)) : gaussianMatrix(shape.cols, shape.dim, 12);
    const { memoryBudget: _budget, clustered: _clustered, large: _large, ...problem } = shape;
    // False-negative masking (the panel schedule only): a few groups, some rows and columns in none.
    const groups = {
      rows: Int32Array.from({ length: shape.rows }, (_, i) => (i % 6) - 1),
      cols: Int32Array.from({ length: shape.cols }, (_, j) => (j % 4) - 1),
    };
    // At scale 100 a logit moves by ~0.2 with the operands' 16-bit rounding: that shape runs the panel
    // configs only, against the reference with the same rounding.
    const rounding = (precision: Precision) => (!shape.clustered ? undefined : precision === 'bf16' ? 'bfloat16' : 'float16') as OperandRounding | undefined;
    const references = new Map<string, { loss: number; gradX: ArrayLike<number>; gradY: ArrayLike<number>; gradLogScale: number }>();
    const reference = (precision: Precision, withGroups: boolean) => {
      const key = `${rounding(precision)}/${withGroups}`;
      if (!references.has(key))
        references.set(
          key,
          shape.large
            ? contrastiveLossSync(x, y, { ...problem, backend: 'cpu' })
            : referenceContrastiveLoss(x, y, { ...problem, ...(withGroups ? { groups } : {}), rounding: rounding(precision) }),
        );
      return references.get(key)!;
    };
    for (const { masked: withGroups, wgmma, ...config } of configs.map((c) => ({ masked: false, wgmma: false, ...c }))) {
      if (shape.clustered && config.gpuSchedule !== 'panels') continue;
      // The large shapes: bf16 without groups, the panels (on each main loop) beside the tiles.
      if (shape.large && (config.precision !== 'bf16' || withGroups || config.tiles !== 'auto')) continue;
      if (wgmma && !newerBuilt) continue;
      const want = reference(config.precision, withGroups);
      const expectedLoop = wgmma ? newer!.loop : config.gpuSchedule === 'panels' && config.tiles === 'auto' && Number(capability) >= 8 ? 'sm80' : 'tiles';
      const options = { ...problem, ...(shape.memoryBudget ? { memoryBudget: shape.memoryBudget } : {}), backend: 'cuda' as const, ...config, ...(withGroups ? { groups } : {}) };
      const label = `${JSON.stringify(shape)} ${config.precision} ${config.tiles} ${config.gpuSchedule}${withGroups ? ' groups' : ''}`;
      // A call that fails is this row's FAIL, not the end of the smoke: the rows after it still run.
      let got: ContrastiveLossResult, again: ContrastiveLossResult;
      try {
        // Read by each call (bindings/loss.cc).
        if (wgmma) process.env[newer!.variable] = '1';
        got = await contrastiveLoss(x, y, options);
        again = await contrastiveLoss(x, y, options);
      } catch (error) {
        failures++;
        console.log(`FAIL ${label} (expected ${expectedLoop}): ${(error as Error).message}`);
        continue;
      } finally {
        if (wgmma) delete process.env[newer!.variable];
      }
      const identical = again.loss === got.loss && Buffer.from(again.gradX.buffer).equals(Buffer.from(got.gradX.buffer)) &&
        Buffer.from(again.gradY.buffer).equals(Buffer.from(got.gradY.buffer));
      const tolerance = config.precision === 'fp32' ? 1e-4 : 1e-2;
      const lossError = Math.abs(got.loss - want.loss) / Math.max(1, want.loss);
      const gradError = Math.max(relativeError(got.gradX, want.gradX), relativeError(got.gradY, want.gradY));
      const ok = lossError < tolerance && gradError < tolerance && identical && got.mainLoop === expectedLoop;
      failures += ok ? 0 : 1;
      console.log(
        `${ok ? 'ok  ' : 'FAIL'} ${label} on ${got.mainLoop}${got.mainLoop === expectedLoop ? '' : ` (expected ${expectedLoop})`}: loss ${got.loss.toFixed(6)} vs ${want.loss.toFixed(6)}, ` +
          `loss error ${lossError.toExponential(2)}, gradient error ${gradError.toExponential(2)}, dθ ${got.gradLogScale.toFixed(6)} vs ${want.gradLogScale.toFixed(6)}` +
          `${identical ? ', bit-identical twice' : ', NOT bit-identical twice'}`,
      );
    }
  }
  process.exit(failures ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
