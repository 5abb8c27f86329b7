// Seeded fuzzing of contrastiveLoss against the float64 reference: random shapes (M from 1, N ≥ M,
// D from 1), targets or none, one- or two-directional, scales from e⁻³ to 10⁴, fp32 and bf16, the
// async and the sync call, every CPU micro-kernel family; plus random bad options, which must be a
// TypeError or RangeError, never a crash. Bounded in time; the seed of a failing case is printed
// (INFONCE_FUZZ_SEED=<seed> reruns exactly that sequence).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { backendInfo } from '../lib/info.js';
import { contrastiveLoss, contrastiveLossSync } from '../lib/loss.js';
import type { ContrastiveLossOptions, InternalLossOptions } from '../lib/types.js';
import { distinctTargets, freshSeed, gaussianMatrix, generator } from '../bench/random.js';
import { referenceContrastiveLoss } from '../lib/reference.js';
import { CPU_BF16_TOLERANCE, FP32_TOLERANCE, type Tolerance } from './backends.js';
import { assertMatchesReference } from './check.js';

const test = suite('fuzz');

// What fp32 can promise at logit scale s (the fixed tolerances of the loss suite assume s ≤ ~100):
// each logit carries an error δ ≈ s·(2 + √D)·2⁻²⁴ from the rounding of the normalised rows and the
// fp32 dot product. The loss and the mean logits move by at most 2δ (1-Lipschitz in each logit);
// dL/du_i by at most 2·s·δ/M (Σ_j |ΔG_ij| ≤ 2δ/M), divided by ‖x_i‖ in dL/dx; dθ = Σ G·S by at
// most 4δ·(s + 1) (ΔG against |S| ≤ s, and G against ΔS). Those bounds join the suite's relative
// tolerances; below them (exact ties at s = 10⁴, D = 1) no fp32 kernel can do better. 10⁻³⁰: the
// gradients of a saturated softmax underflow fp32 (they are e^−s small).
// bf16 adds two roundings the reference cannot follow exactly: the kernel rounds its fp32 u to bf16,
// the reference its float64 u, and the two differ by one bf16 step (2⁻⁸ relative) wherever u sits
// near a rounding boundary, so δ gains s·2·2⁻⁸; and G is stored in bf16: each G_ij is off by up
// to 2⁻⁹·|G_ij|, and Σ_j |G_ij| ≤ 2/M, so a row of dL/du by up to s·2⁻⁸/M, whatever the gradient's own
// size (at small s, where the gradient is differences of nearly equal probabilities, that is most
// of it). The same bound is taken for dL/dv.
function scaledTolerance(base: Tolerance, o: ContrastiveLossOptions, x: Float32Array, y: Float32Array): Tolerance {
  const s = Math.exp(o.logScale!);
  const bf16 = o.precision === 'bf16';
  const delta = s * ((2 + Math.sqrt(o.dim)) * 2 ** -24 + (bf16 ? 2 * 2 ** -8 : 0));
  // With Matryoshka prefixes, each prefix's loss carries its own δ (summed with the weights), and a
  // gradient is divided by the prefix's norm, which may be far below the row's.
  const prefixes = o.matryoshka ? Array.from(o.matryoshka.dims) : [o.dim];
  const weights = o.matryoshka?.weights ? Array.from(o.matryoshka.weights) : prefixes.map(() => 1);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const smallestNorm = (m: Float32Array, rows: number) => {
    let smallest = Infinity;
    for (let r = 0; r < rows; r++)
      for (const d of prefixes) {
        let sum = 0;
        for (let k = 0; k < d; k++) sum += m[r * o.dim + k]! ** 2;
        smallest = Math.min(smallest, Math.sqrt(sum));
      }
    return Math.max(smallest, 1e-12);
  };
  const cols = o.cols ?? o.rows;
  const rowsNorm = Math.sqrt(Math.max(o.rows, cols)); // the gradient's norm over all its rows
  const smallest = Math.min(smallestNorm(x, o.rows), smallestNorm(y, cols));
  const gradientError = (((2 * s * delta) / o.rows) * rowsNorm + (bf16 ? (s * 2 ** -8 * rowsNorm) / o.rows : 0)) / smallest;
  return {
    ...base,
    lossAbsolute: 2 * delta * totalWeight,
    thetaAbsolute: 4 * delta * (s + 1) * totalWeight,
    gradientFloor: Math.max(base.gradientFloor ?? 0, (gradientError * totalWeight) / base.gradient, 1e-30),
  };
}
const seed = Number(process.env.INFONCE_FUZZ_SEED ?? freshSeed());
const budgetMs = 8000;
const isas = backendInfo().cpu.supportedIsas;

test(`random problems against the reference (seed ${seed}, ${budgetMs / 1000} s)`, async () => {
  const next = generator(seed);
  const pick = <T>(options: readonly T[]) => options[Math.floor(next() * options.length)]!;
  const started = Date.now();
  let cases = 0;
  while (Date.now() - started < budgetMs) {
    const caseSeed = Math.floor(next() * 2 ** 31);
    const rows = 1 + Math.floor(next() ** 2 * 60);
    const cols = rows + (next() < 0.4 ? Math.floor(next() * 40) : 0);
    const dim = 1 + Math.floor(next() ** 2 * 90);
    const options: InternalLossOptions = {
      rows,
      cols,
      dim,
      logScale: -3 + next() * (Math.log(1e4) + 3),
      symmetric: next() < 0.7,
      backend: 'cpu',
      isa: pick(isas),
      precision: next() < 0.25 ? 'bf16' : 'fp32',
      threads: 1 + Math.floor(next() * 3),
      memoryBudget: pick([0, 1 << 30]),
    };
    if (next() < 0.5) options.targets = distinctTargets(rows, cols, caseSeed + 2);
    if (next() < 0.3) {
      // A few groups, so that some rows and columns share one; -1 is no group.
      const draw = (n: number) => Int32Array.from({ length: n }, () => Math.floor(next() * 5) - 1);
      options.groups = cols === rows && next() < 0.5 ? draw(rows) : { rows: draw(rows), cols: draw(cols) };
      if (next() < 0.4) options.positives = 'groups';
    }
    if (next() < 0.25) {
      // 1 to 4 increasing prefixes, the last of them often the whole dim; weights some of the time.
      const dims = [...new Set(Array.from({ length: 1 + Math.floor(next() * 4) }, () => 1 + Math.floor(next() * dim)))];
      if (next() < 0.6) dims.push(dim);
      const sorted = [...new Set(dims)].sort((a, b) => a - b);
      options.matryoshka = { dims: sorted, ...(next() < 0.5 ? { weights: sorted.map(() => 0.25 + next() * 2) } : {}) };
    }
    const x = gaussianMatrix(rows, dim, caseSeed);
    const y = gaussianMatrix(cols, dim, caseSeed + 1);
    const bf16 = options.precision === 'bf16';
    const want = referenceContrastiveLoss(x, y, { ...options, ...(bf16 ? { rounding: 'bfloat16' as const } : {}) });
    const got = next() < 0.5 ? await contrastiveLoss(x, y, options) : contrastiveLossSync(x, y, options);
    const { targets, groups, matryoshka, ...shown } = options;
    const tolerance = scaledTolerance(bf16 ? CPU_BF16_TOLERANCE : FP32_TOLERANCE, options, x, y);
    if (options.matryoshka) {
      // A prefix's radial part is removed with a sum the epilogue keeps (Σ G·S), not from the gradient
      // itself, so the products' fp32 rounding along the row stays: up to about 2⁻²⁴·(M + N) of the
      // unprojected gradient, all of the error where a prefix's gradient cancels to 0 (a prefix of 1).
      const unprojected = Math.max(want.unprojectedNorm.x, want.unprojectedNorm.y);
      const floor = (2 ** -24 * (rows + cols) * unprojected) / tolerance.gradient;
      tolerance.gradientFloor = Math.max(tolerance.gradientFloor ?? 0, floor);
    }
    assertMatchesReference(got, want, `case ${cases} of seed ${seed}: ${JSON.stringify({ ...shown, targets: !!targets, groups: !!groups, matryoshka })}`, tolerance);
    cases++;
  }
  assert.ok(cases >= 20, `only ${cases} cases in ${budgetMs} ms`);
});

test(`random bad options are a TypeError or RangeError with a code, never a crash (seed ${seed})`, async () => {
  const next = generator(seed + 1);
  const values = [undefined, null, NaN, Infinity, -1, 0, 0.5, 2 ** 31, 2 ** 53, '3', true, {}, [], new Int32Array(2), new Float32Array(3)];
  const keys = ['rows', 'cols', 'dim', 'logScale', 'symmetric', 'targets', 'groups', 'matryoshka', 'positives', 'device', 'threads', 'precision', 'memoryBudget', 'gradientFilter', 'isa'];
  const x = gaussianMatrix(3, 4, seed);
  for (let k = 0; k < 300; k++) {
    const options: Record<string, unknown> = { rows: 3, dim: 4, backend: 'cpu' };
    for (let changes = 1 + Math.floor(next() * 3); changes > 0; changes--)
      options[keys[Math.floor(next() * keys.length)]!] = values[Math.floor(next() * values.length)];
    let error: (Error & { code?: string }) | undefined;
    try {
      const r = await contrastiveLoss(x, x, options as unknown as ContrastiveLossOptions);
      assert.ok(Number.isFinite(r.loss), `options ${JSON.stringify(options)} gave loss ${r.loss}`);
    } catch (e) {
      error = e as Error & { code?: string };
    }
    if (error) {
      assert.ok(error instanceof TypeError || error instanceof RangeError, `options ${JSON.stringify(options)}: ${error}`);
      assert.match(String(error.code), /^ERR_/, `options ${JSON.stringify(options)}: no code on ${error.message}`);
    }
  }
});

test.run();
