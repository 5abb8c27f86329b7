// A few small GPU losses against the float64 reference, one line each, every precision, tile shape
// and gradient schedule (the experimental panels too, with and without group masking, on the sm_80
// and, on 9.0 GPUs, the sm_90a main loop), each run twice and required bit-identical:
// quick enough to run under compute-sanitizer (memcheck, racecheck), which finds out-of-bounds
// accesses and shared-memory races that a wrong answer alone would not locate. Exits non-zero if any
// case is off.
import { backendInfo } from '../lib/info.js';
import { contrastiveLoss } from '../lib/loss.js';
import { addon } from '../lib/native.js';
import type { GpuSchedule, Precision } from '../lib/types.js';
import { gaussianMatrix } from './random.js';
import { referenceContrastiveLoss, relativeError } from './reference.js';

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
  // The last shape runs the panel schedule with 3 panels, N in 5 splits and 2 tiles of D.
  const shapes = [
    { rows: 37, cols: 53, dim: 19 },
    ...(quick ? [] : [{ rows: 200, cols: 260, dim: 72 }, { rows: 300, cols: 1300, dim: 200, memoryBudget: 128 * 1408 * 2 }]),
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
  // The panel kernels' sm_90a main loop (in development) runs where the GPU is 9.0; elsewhere the
  // wgmma rows repeat the sm_80 loop.
  const sm90 = info.cuda.devices[0]?.computeCapability === '9.0';
  if (!sm90) console.log('not compute capability 9.0: the "wgmma" rows run the sm_80 loop');
  let failures = 0;
  for (const shape of shapes) {
    const x = gaussianMatrix(shape.rows, shape.dim, 11);
    const y = gaussianMatrix(shape.cols, shape.dim, 12);
    const { memoryBudget: _budget, ...problem } = shape;
    // False-negative masking (the panel schedule only): a few groups, some rows and columns in none.
    const groups = {
      rows: Int32Array.from({ length: shape.rows }, (_, i) => (i % 6) - 1),
      cols: Int32Array.from({ length: shape.cols }, (_, j) => (j % 4) - 1),
    };
    const plain = referenceContrastiveLoss(x, y, problem);
    const masked = referenceContrastiveLoss(x, y, { ...problem, groups });
    for (const { masked: withGroups, wgmma, ...config } of configs.map((c) => ({ masked: false, wgmma: false, ...c }))) {
      const want = withGroups ? masked : plain;
      if (wgmma) process.env.INFONCE_CUDA_WGMMA = '1'; // read by each call (bindings/loss.cc)
      else delete process.env.INFONCE_CUDA_WGMMA;
      const options = { ...shape, backend: 'cuda' as const, ...config, ...(withGroups ? { groups } : {}) };
      const got = await contrastiveLoss(x, y, options);
      const again = await contrastiveLoss(x, y, options);
      const identical = again.loss === got.loss && Buffer.from(again.gradX.buffer).equals(Buffer.from(got.gradX.buffer)) &&
        Buffer.from(again.gradY.buffer).equals(Buffer.from(got.gradY.buffer));
      const tolerance = config.precision === 'fp32' ? 1e-4 : 1e-2;
      const lossError = Math.abs(got.loss - want.loss) / Math.max(1, want.loss);
      const gradError = Math.max(relativeError(got.gradX, want.gradX), relativeError(got.gradY, want.gradY));
      const ok = lossError < tolerance && gradError < tolerance && identical;
      failures += ok ? 0 : 1;
      console.log(
        `${ok ? 'ok  ' : 'FAIL'} ${JSON.stringify(shape)} ${config.precision} ${config.tiles} ${config.gpuSchedule}${wgmma ? ' wgmma' : ''}${withGroups ? ' groups' : ''}: loss ${got.loss.toFixed(6)} vs ${want.loss.toFixed(6)}, ` +
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
