// Finite differences: the reference's analytic gradients are the derivative of its loss, and every
// backend's gradients are the derivative of the true function (not merely equal to the reference).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { worstGradientCosine } from '../bench/invariants.js';
import { distinctTargets, freshSeed, gaussianMatrix } from '../bench/random.js';
import { referenceContrastiveLoss, relativeError, type ReferenceOptions } from '../lib/reference.js';
import { lossBackends } from './backends.js';

const test = suite('gradients vs central finite differences of the float64 loss');

const seed = Number(process.env.INFONCE_GRADIENT_SEED ?? freshSeed());
const M = 3;
const N = 5;
const D = 4;
const x = Float64Array.from(gaussianMatrix(M, D, seed));
const y = Float64Array.from(gaussianMatrix(N, D, seed + 1));
const options: ReferenceOptions = { rows: M, cols: N, dim: D, logScale: 1.3, targets: distinctTargets(M, N, seed + 2) };

// Central differences with step h: error O(h²) from the Taylor term, O(1e-16/h) from rounding.
const h = 1e-5;
function numericGradients(opts: ReferenceOptions) {
  const loss = (xs: Float64Array, ys: Float64Array, theta: number) =>
    referenceContrastiveLoss(xs, ys, { ...opts, logScale: theta }).loss;
  const theta = opts.logScale!;
  const differentiate = (m: Float64Array, isX: boolean) =>
    m.map((_, i) => {
      const plus = m.slice();
      const minus = m.slice();
      plus[i]! += h;
      minus[i]! -= h;
      return (loss(isX ? plus : x, isX ? y : plus, theta) - loss(isX ? minus : x, isX ? y : minus, theta)) / (2 * h);
    });
  return {
    gradX: differentiate(x, true),
    gradY: differentiate(y, false),
    gradLogScale: (loss(x, y, theta + h) - loss(x, y, theta - h)) / (2 * h),
  };
}

// Groups that mask one row's two other columns and leave one row in no group: the masked loss is a
// function too, and its gradients are its derivative.
const groups = { rows: Int32Array.of(4, -1, 2), cols: Int32Array.of(4, 2, 4, 0, 4) };
// Matryoshka: the weighted sum of the prefixes' losses is a function of the whole rows, and a prefix
// of 1 (whose normalised row is a sign, of derivative 0) and a last prefix below D (coordinates with
// no gradient) are its edges.
type Matryoshka = { dims: number[]; weights?: number[] };
const variants: Array<{ label: string; symmetric: boolean; groups?: typeof groups; matryoshka?: Matryoshka; positives?: 'groups' }> = [
  { label: 'symmetric', symmetric: true },
  { label: 'one-directional', symmetric: false },
  { label: 'symmetric, with groups', symmetric: true, groups },
  { label: 'Matryoshka 1, 3, 4 weighted, with groups', symmetric: true, groups, matryoshka: { dims: [1, 3, 4], weights: [0.5, 1, 2] } },
  { label: 'Matryoshka 2, 3 (the last coordinate untrained), one-directional', symmetric: false, matryoshka: { dims: [2, 3] } },
  { label: 'several positives from the groups', symmetric: true, groups, positives: 'groups' },
  { label: 'several positives from the groups, one-directional, Matryoshka 2, 4', symmetric: false, groups, positives: 'groups', matryoshka: { dims: [2, 4] } },
];

for (const { label, symmetric, groups: variantGroups, matryoshka, positives } of variants) {
  const opts: ReferenceOptions = {
    ...options,
    symmetric,
    ...(variantGroups ? { groups: variantGroups } : {}),
    ...(matryoshka ? { matryoshka } : {}),
    ...(positives ? { positives } : {}),
  };
  const numeric = numericGradients(opts);

  test(`reference, ${label}`, () => {
    const analytic = referenceContrastiveLoss(x, y, opts);
    assert.ok(relativeError(analytic.gradX, numeric.gradX) < 1e-7, `gradX, seed ${seed}`);
    assert.ok(relativeError(analytic.gradY, numeric.gradY) < 1e-7, `gradY, seed ${seed}`);
    assert.ok(Math.abs(analytic.gradLogScale - numeric.gradLogScale) < 1e-7, `gradLogScale, seed ${seed}`);
  });

  for (const backend of lossBackends()) {
    const name = `${backend.name}, ${label}`;
    if (backend.unavailable) {
      test.skip(`${name} (skipped: ${backend.unavailable})`, () => {});
      continue;
    }
    if (variantGroups && backend.withoutGroups) {
      test.skip(`${name} (skipped: ${backend.withoutGroups})`, () => {});
      continue;
    }
    if (positives && backend.withoutPositives) {
      test.skip(`${name} (skipped: ${backend.withoutPositives})`, () => {});
      continue;
    }
    if (matryoshka && backend.withoutMatryoshka) {
      test.skip(`${name} (skipped: ${backend.withoutMatryoshka})`, () => {});
      continue;
    }
    if (backend.rounding) {
      // Finite differences check the derivative of the exact function; a backend that rounds its
      // operands computes another one (loss.test.ts checks it against a reference that rounds too).
      test.skip(`${name} (skipped: ${backend.rounding} operands; see loss.test.ts)`, () => {});
      continue;
    }
    test(name, async () => {
      const got = await backend.run(Float32Array.from(x), Float32Array.from(y), {
        rows: M,
        cols: N,
        dim: D,
        logScale: opts.logScale!,
        symmetric,
        targets: Int32Array.from(opts.targets!),
        ...(variantGroups ? { groups: variantGroups } : {}),
        ...(matryoshka ? { matryoshka } : {}),
        ...(positives ? { positives } : {}),
      });
      // fp32 inputs are x rounded to fp32: a relative perturbation of 6e-8, far inside 1e-4.
      const tolerance = backend.tolerance.gradient;
      // With Matryoshka, the rule check.ts applies to every backend: where a normalisation's projection
      // cancels (a prefix of 1, whose derivative is exactly 0), the error is judged against 1% of the
      // unprojected gradient. The fused kernel removes each prefix's radial part with the epilogue's
      // Σ G·S, not from the gradient itself, so fp32 rounding scaled by 1/‖x[:d]‖ stays there (seed
      // 3194114436 gave 1.7e-4 of a gradient this small); without Matryoshka the bound is the plain one.
      const reference = matryoshka ? referenceContrastiveLoss(x, y, opts).unprojectedNorm : { x: 0, y: 0 };
      const errorX = relativeError(got.gradX, numeric.gradX, 1e-2 * reference.x);
      const errorY = relativeError(got.gradY, numeric.gradY, 1e-2 * reference.y);
      assert.ok(errorX < tolerance, `gradX ${errorX}, seed ${seed}`);
      assert.ok(errorY < tolerance, `gradY ${errorY}, seed ${seed}`);
      assert.ok(
        Math.abs(got.gradLogScale - numeric.gradLogScale) < tolerance * Math.max(1, Math.abs(numeric.gradLogScale)),
        `gradLogScale ${got.gradLogScale} vs ${numeric.gradLogScale}, seed ${seed}`,
      );
    });
  }
}

// The bench checks sizes too large for any reference by this invariant: the gradient of a
// normalised row has no radial part. It must hold for the exact gradients and catch a radial one.
test('the invariant the bench checks: gradients orthogonal to their rows', () => {
  const analytic = referenceContrastiveLoss(x, y, options);
  assert.ok(worstGradientCosine(analytic.gradX, x, D) < 1e-12, `gradX, seed ${seed}`);
  assert.ok(worstGradientCosine(analytic.gradY, y, D) < 1e-12, `gradY, seed ${seed}`);
  const radial = analytic.gradX.map((g, i) => g + 0.1 * x[i]!);
  assert.ok(worstGradientCosine(radial, x, D) > 1e-3, 'a radial component must be caught');
});

test.run();
