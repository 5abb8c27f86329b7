// A few small GPU losses against the float64 reference, one line each: quick enough to run under
// compute-sanitizer (memcheck, racecheck), which finds out-of-bounds accesses and shared-memory
// races that a wrong answer alone would not locate. Exits non-zero if any case is off.
import { backendInfo } from '../lib/info.js';
import { contrastiveLoss } from '../lib/loss.js';
import { addon } from '../lib/native.js';
import type { Precision } from '../lib/types.js';
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
  const shapes = quick ? [{ rows: 37, cols: 53, dim: 19 }] : [{ rows: 37, cols: 53, dim: 19 }, { rows: 200, cols: 260, dim: 72 }];
  let failures = 0;
  for (const shape of shapes) {
    const x = gaussianMatrix(shape.rows, shape.dim, 11);
    const y = gaussianMatrix(shape.cols, shape.dim, 12);
    const want = referenceContrastiveLoss(x, y, shape);
    for (const precision of ['fp32', 'tf32', 'bf16', 'fp16'] as Precision[])
      for (const tiles of ['auto', 'small'] as const) {
        const got = await contrastiveLoss(x, y, { ...shape, device: 'cuda', precision, tiles });
        const tolerance = precision === 'fp32' ? 1e-4 : 1e-2;
        const lossError = Math.abs(got.loss - want.loss) / Math.max(1, want.loss);
        const gradError = Math.max(relativeError(got.gradX, want.gradX), relativeError(got.gradY, want.gradY));
        const ok = lossError < tolerance && gradError < tolerance;
        failures += ok ? 0 : 1;
        console.log(
          `${ok ? 'ok  ' : 'FAIL'} ${JSON.stringify(shape)} ${precision} ${tiles}: loss ${got.loss.toFixed(6)} vs ${want.loss.toFixed(6)}, ` +
            `loss error ${lossError.toExponential(2)}, gradient error ${gradError.toExponential(2)}, dθ ${got.gradLogScale.toFixed(6)} vs ${want.gradLogScale.toFixed(6)}`,
        );
      }
  }
  process.exit(failures ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
