// Assertions of closeness to the float64 reference, with the tolerances of docs/loss.md.
import * as assert from 'uvu/assert';

import type { ContrastiveLossResult } from '../lib/types.js';
import { relativeError, type ReferenceResult } from '../lib/reference.js';
import { FP32_TOLERANCE, type Tolerance } from './backends.js';

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** Fails with a message naming the quantity, the error and the seed that reproduces it. */
export function assertMatchesReference(
  got: ContrastiveLossResult,
  want: ReferenceResult,
  context: string,
  tolerance: Tolerance = FP32_TOLERANCE,
): void {
  assert.ok(Number.isFinite(got.loss), `${context}: loss is ${got.loss}`);
  assert.ok(allFinite(got.gradX) && allFinite(got.gradY), `${context}: non-finite gradient`);
  assert.ok(Number.isFinite(got.gradLogScale), `${context}: gradLogScale is ${got.gradLogScale}`);
  const lossAbsolute = tolerance.lossAbsolute ?? 0;
  const lossError = (Math.abs(got.loss - want.loss) - lossAbsolute) / Math.max(1, Math.abs(want.loss));
  assert.ok(lossError < tolerance.loss, `${context}: loss ${got.loss} vs ${want.loss} (relative error ${lossError} beyond ${lossAbsolute})`);
  // Relative to the reference, except where the normalisation's projection cancels more than 99% of
  // the gradient (D = 1: the gradient is exactly zero): then relative to 1% of the unprojected size,
  // since no finite precision can do better than its rounding of the cancelled terms (a 16-bit G
  // rounds them coarser: tolerance.gRounding).
  // A 16-bit format also has a smallest value: gradients below it (a converged batch at scale 100
  // has them near 1e-24) are judged against that resolution instead (tolerance.gradientFloor).
  const floor = tolerance.gradientFloor ?? 0;
  // A 16-bit G: the error may reach its rounding (gRounding of roundingNorm) when that is larger.
  const gAllowance = (side: 'x' | 'y') => ((tolerance.gRounding ?? 0) * want.roundingNorm[side]) / tolerance.gradient;
  const gradX = relativeError(got.gradX, want.gradX, Math.max(1e-2 * want.unprojectedNorm.x, floor, gAllowance('x')));
  assert.ok(gradX < tolerance.gradient, `${context}: gradX relative error ${gradX}`);
  const gradY = relativeError(got.gradY, want.gradY, Math.max(1e-2 * want.unprojectedNorm.y, floor, gAllowance('y')));
  assert.ok(gradY < tolerance.gradient, `${context}: gradY relative error ${gradY}`);
  const thetaError =
    (Math.abs(got.gradLogScale - want.gradLogScale) - (tolerance.thetaAbsolute ?? 0)) / Math.max(1, Math.abs(want.gradLogScale));
  assert.ok(
    thetaError < tolerance.gradient,
    `${context}: gradLogScale ${got.gradLogScale} vs ${want.gradLogScale} (error ${thetaError})`,
  );
  // Accuracy may differ only on rows whose positive is tied with the best negative to the backend's
  // precision (the reference counts those near-ties at fp32 precision; 16-bit products blur more).
  if (tolerance === FP32_TOLERANCE) {
    assert.ok(
      Math.abs(got.accuracy.row - want.accuracy.row) <= want.nearTies.row + 1e-12,
      `${context}: row accuracy ${got.accuracy.row} vs ${want.accuracy.row}`,
    );
    assert.ok(
      Math.abs(got.accuracy.col - want.accuracy.col) <= want.nearTies.col + 1e-12,
      `${context}: column accuracy ${got.accuracy.col} vs ${want.accuracy.col}`,
    );
  } else {
    assert.ok(
      Math.abs(got.accuracy.row - want.accuracy.row) <= want.nearTies.row + 0.1 &&
        Math.abs(got.accuracy.col - want.accuracy.col) <= want.nearTies.col + 0.1,
      `${context}: accuracy ${JSON.stringify(got.accuracy)} vs ${JSON.stringify(want.accuracy)}`,
    );
  }
  if (want.prefixes) {
    assert.is(got.prefixes?.length, want.prefixes.length, `${context}: one result per Matryoshka prefix`);
    want.prefixes.forEach((prefix, k) => {
      const mine = got.prefixes![k]!;
      assert.is(mine.dim, prefix.dim, `${context}: prefix ${k}'s dim`);
      assert.is(mine.weight, prefix.weight, `${context}: prefix ${k}'s weight`);
      const error = (Math.abs(mine.loss - prefix.loss) - lossAbsolute) / Math.max(1, Math.abs(prefix.loss));
      assert.ok(error < tolerance.loss, `${context}: prefix ${prefix.dim}'s loss ${mine.loss} vs ${prefix.loss}`);
    });
  } else {
    assert.is(got.prefixes, undefined, `${context}: prefixes without matryoshka`);
  }
  const scale = Math.max(1, Math.abs(want.meanLogSumExp));
  assert.ok(
    (Math.abs(got.meanPositiveLogit - want.meanPositiveLogit) - lossAbsolute) / scale < tolerance.loss &&
      (Math.abs(got.meanLogSumExp - want.meanLogSumExp) - lossAbsolute) / scale < tolerance.loss,
    `${context}: mean positive logit ${got.meanPositiveLogit} vs ${want.meanPositiveLogit}, log-sum-exp ${got.meanLogSumExp} vs ${want.meanLogSumExp}`,
  );
}
