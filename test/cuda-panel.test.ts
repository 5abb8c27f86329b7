// The GPU's panel gradient pass, checked on any machine (no GPU needed): its schedule (every output
// block has one writer per launch, every offset in bounds at the largest shapes, the dθ partials and
// the dU splits in a fixed order), and its host emulation against the float64 reference where the
// loss suite does not reach: several panels with N split, and fp16 G at N = 10⁶, where unscaled
// storage loses the tails of the softmax.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import type { CudaPanelPlan } from '../lib/addon-types.js';
import { addon } from '../lib/native.js';
import { distinctTargets, freshSeed, gaussianMatrix } from '../bench/random.js';
import { phaseTimings } from '../bench/gpu-report.js';
import { referenceContrastiveLoss, relativeError } from '../lib/reference.js';
import { FP16_TOLERANCE, LOW_PRECISION_TOLERANCE } from './backends.js';
import { assertMatchesReference } from './check.js';

const test = suite('cuda panel schedule');
const TILE = 128;
const GiB = 2 ** 30;
const minimumBudget = (cols: number) => TILE * Math.ceil(cols / TILE) * TILE * 2;

// Each offset starts a 128 × 128 block of a row-major buffer with `ld` columns: distinct blocks,
// none past the buffer's end.
function assertDistinctBlocksInBounds(offsets: ArrayLike<number>, ld: number, size: number, what: string) {
  const seen = new Set<number>();
  for (let k = 0; k < offsets.length; k++) {
    const o = offsets[k]!;
    assert.ok(o % TILE === 0 && (o % ld) + TILE <= ld, `${what}: block ${k} at ${o} crosses a row end`);
    assert.ok(o + (TILE - 1) * ld + TILE - 1 < size, `${what}: block ${k} at ${o} ends past ${size}`);
    assert.not.ok(seen.has(o), `${what}: two blocks write at ${o}`);
    seen.add(o);
  }
}

function checkPlan(plan: CudaPanelPlan, rows: number, cols: number, dim: number, budget: number) {
  assert.ok(plan.paddedRows >= rows && plan.paddedRows - rows < TILE && plan.paddedRows % TILE === 0);
  assert.ok(plan.paddedCols >= cols && plan.paddedCols - cols < TILE && plan.paddedDim % TILE === 0);
  assert.ok(plan.paddedDim >= dim && plan.paddedDim - dim < TILE);
  assert.ok(plan.panelRows % TILE === 0 && plan.panelRows >= TILE && plan.panelRows <= plan.paddedRows);
  assert.is(plan.gradientBytes, plan.panelRows * plan.paddedCols * 2);
  assert.ok(plan.gradientBytes <= budget, `G takes ${plan.gradientBytes} bytes, over the budget ${budget}`);
  // The splits of N: whole 32-column steps, in order, covering [0, paddedCols).
  assert.is(plan.splitBegins.length, plan.splits + 1);
  assert.is(plan.splitBegins[0], 0);
  assert.is(plan.splitBegins[plan.splits], plan.paddedCols);
  for (let s = 0; s < plan.splits; s++) {
    assert.ok(plan.splitBegins[s + 1]! - plan.splitBegins[s]! >= (plan.splits > 1 ? 256 : 1), 'a split below 256 columns');
    assert.is(plan.splitBegins[s]! % 32, 0);
  }
  assert.is(plan.workspaceBytes, plan.splits > 1 ? plan.splits * plan.panelRows * plan.paddedDim * 4 : 0);
  // Panels tile the rows in order; their dθ partials tile [0, logScalePartials) in the same order.
  let row = 0;
  let partial = 0;
  for (const p of plan.panelList) {
    assert.is(p.begin, row);
    assert.ok(p.height % TILE === 0 && p.height > 0 && p.height <= plan.panelRows);
    assert.is(p.logScalePartialOffset, partial);
    row += p.height;
    partial += (p.height / TILE) * (plan.paddedCols / TILE);
    assert.equal(p.terms, [plan.paddedCols / TILE, p.height / TILE, 1]);
    assert.equal(p.rowGradient, [plan.paddedDim / TILE, p.height / TILE, plan.splits]);
    assert.equal(p.columnGradient, [plan.paddedDim / TILE, plan.paddedCols / TILE, 1]);
    // The largest offset each launch writes, in bounds of its buffer (int64 on the device).
    assert.ok(p.lastTermsOffset + (TILE - 1) * plan.paddedCols + TILE - 1 < plan.panelRows * plan.paddedCols);
    const rowBuffer = plan.splits > 1 ? plan.splits * plan.panelRows * plan.paddedDim : plan.paddedRows * plan.paddedDim;
    assert.ok(p.lastRowGradientOffset + (TILE - 1) * plan.paddedDim + TILE - 1 < rowBuffer);
    assert.ok(p.lastColumnGradientOffset + (TILE - 1) * plan.paddedDim + TILE - 1 < plan.paddedCols * plan.paddedDim);
  }
  assert.is(row, plan.paddedRows);
  assert.is(partial, plan.logScalePartials);
}

const shapes = [
  { rows: 1, cols: 1, dim: 1 },
  { rows: 3, cols: 5, dim: 7 },
  { rows: 257, cols: 300, dim: 769 },
  { rows: 1000, cols: 1300, dim: 64 },
  { rows: 4096, cols: 20000, dim: 256 },
  { rows: 65536, cols: 65536, dim: 1024 },
];

for (const shape of shapes)
  for (const budget of [minimumBudget(shape.cols), 3 * minimumBudget(shape.cols) + 4096, GiB]) {
    test(`plan ${JSON.stringify(shape)}, budget ${budget}: one writer per block, in bounds, in order`, () => {
      const blocks = shape.rows * shape.cols <= 2e6;
      const plan = addon.cudaPanelPlan({ ...shape, memoryBudget: budget, blocks });
      checkPlan(plan, shape.rows, shape.cols, shape.dim, budget);
      if (!blocks) return;
      const dU = new Uint8Array(plan.paddedRows / TILE * (plan.paddedDim / TILE));
      for (const p of plan.panelList) {
        assertDistinctBlocksInBounds(p.termsOffsets!, plan.paddedCols, p.height * plan.paddedCols, 'G');
        assert.is(p.termsOffsets!.length, (p.height / TILE) * (plan.paddedCols / TILE), 'G: every block of the panel');
        const rowSize = plan.splits > 1 ? plan.splits * plan.panelRows * plan.paddedDim : plan.paddedRows * plan.paddedDim;
        assertDistinctBlocksInBounds(p.rowGradientOffsets!, plan.paddedDim, rowSize, 'dU');
        if (plan.splits === 1)
          for (const o of p.rowGradientOffsets!) dU[(Math.floor(o / plan.paddedDim) / TILE) * (plan.paddedDim / TILE) + (o % plan.paddedDim) / TILE]++;
        assertDistinctBlocksInBounds(p.columnGradientOffsets!, plan.paddedDim, plan.paddedCols * plan.paddedDim, 'dV');
        assert.is(p.columnGradientOffsets!.length, (plan.paddedCols / TILE) * (plan.paddedDim / TILE), 'dV: every block');
      }
      if (plan.splits === 1) assert.ok(dU.every((n) => n === 1), 'dU: every block written by exactly one panel');
    });
  }

test('the largest shapes (M = N = 524,288 and one more, D = 4,096): offsets past 2³¹, in bounds', () => {
  for (const n of [524288, 524289]) {
    const plan = addon.cudaPanelPlan({ rows: n, cols: n, dim: 4096, memoryBudget: GiB });
    checkPlan(plan, n, n, 4096, GiB);
    assert.is(plan.panelRows, n === 524288 ? 1024 : 896); // 1 GiB / (2 bytes × paddedCols), in whole tiles
    const last = plan.panelList[plan.panelList.length - 1]!;
    const lastElement = last.lastColumnGradientOffset + (TILE - 1) * plan.paddedDim + TILE - 1;
    // 524,288 × 4,096 is exactly 2³¹ elements of dV; one more row takes the offsets past int32.
    if (n > 524288) assert.ok(lastElement > 2 ** 31, 'dV offsets pass 2³¹: 32-bit arithmetic would wrap');
  }
});

test('a budget below one 128-row panel of G is refused, naming the minimum', () => {
  assert.throws(
    () => addon.cudaPanelPlan({ rows: 10, cols: 1000, dim: 8, memoryBudget: 1000 }),
    (e: Error) => e instanceof RangeError && /^memoryBudget: expected an integer from 262144/.test(e.message),
  );
});

// Several panels and N split five ways: the emulation against the reference.
for (const precision of ['bf16', 'fp16'] as const)
  for (const symmetric of [true, false]) {
    test(`emulated ${precision} panels: 3 panels, N split in 5, shuffled targets, ${symmetric ? 'symmetric' : 'one-directional'}`, () => {
      const seed = freshSeed();
      const [rows, cols, dim] = [300, 1300, 40];
      const x = gaussianMatrix(rows, dim, seed);
      const y = gaussianMatrix(cols, dim, seed + 1);
      const targets = distinctTargets(rows, cols, seed + 2);
      const memoryBudget = minimumBudget(cols);
      const plan = addon.cudaPanelPlan({ rows, cols, dim, memoryBudget });
      assert.is(plan.panels, 3);
      assert.is(plan.splits, 5);
      const got = addon.cudaPanelEmulation(x, y, { rows, cols, dim, targets, symmetric, precision, memoryBudget });
      const want = referenceContrastiveLoss(x, y, { rows, cols, dim, targets, symmetric, rounding: precision === 'bf16' ? 'bfloat16' : 'float16' });
      const tolerance = precision === 'bf16' ? LOW_PRECISION_TOLERANCE : FP16_TOLERANCE;
      assertMatchesReference(got, want, `seed ${seed}`, tolerance);
    });
  }

test('fp16 G at N = 10⁶: scaled by 2¹⁴ it keeps the hard negatives\' gradients; unscaled, the tails underflow', () => {
  const seed = freshSeed();
  const [rows, cols, dim] = [4, 1_000_000, 8];
  // θ = 0: a flat softmax, every negative's probability near 1/N = 10⁻⁶, below fp16's smallest normal.
  const options = { rows, cols, dim, logScale: 0 };
  const x = gaussianMatrix(rows, dim, seed);
  const y = gaussianMatrix(cols, dim, seed + 1);
  const want = referenceContrastiveLoss(x, y, { ...options, rounding: 'float16' });
  const negatives = (g: ArrayLike<number> & { subarray(a: number): ArrayLike<number> }) => g.subarray(rows * dim);
  const errorOf = (storageScale: number) => {
    const got = addon.cudaPanelEmulation(x, y, { ...options, precision: 'fp16', storageScale });
    return relativeError(negatives(got.gradY), negatives(want.gradY as Float64Array));
  };
  const scaled = errorOf(0); // the kernel's 2¹⁴
  const unscaled = errorOf(1);
  assert.ok(scaled < 1e-3, `scaled: the hard negatives' gradients are off by ${scaled} (seed ${seed})`);
  assert.ok(unscaled > 4 * scaled, `unscaled ${unscaled} vs scaled ${scaled}: the test no longer shows the underflow (seed ${seed})`);
});

// One exponential per logit (native/cuda/epilogue_math.h): the epilogues factor a logit's column term
// out of its row term where a block's lines lie within 40 of each other, and take two exponentials
// where they do not. Both must match the reference, and each choice must actually be taken.
for (const warpPart of ['sm80', 'sm90a', 'sm100a'] as const)
  test(`one exponential per logit (${warpPart} warp parts): taken everywhere at the default scale, the answer of two`, () => {
    const seed = freshSeed();
    const [rows, cols, dim] = [300, 430, 24];
    const x = gaussianMatrix(rows, dim, seed);
    const y = gaussianMatrix(cols, dim, seed + 1);
    const options = { rows, cols, dim, precision: 'bf16' as const, warpPart };
    const one = addon.cudaPanelEmulation(x, y, options);
    const two = addon.cudaPanelEmulation(x, y, { ...options, oneExponential: false });
    const tiles = Math.ceil(rows / TILE) * Math.ceil(cols / TILE);
    const [partRows, partCols] = ({ sm80: [64, 32], sm90a: [16, 128], sm100a: [32, 64] } as const)[warpPart];
    const partsOver = (n: number, size: number) => (TILE * Math.floor(n / TILE)) / size + Math.ceil((n % TILE) / size);
    const parts = partsOver(rows, partRows) * partsOver(cols, partCols); // those with a real row and column
    assert.equal(one.epilogueCounts, { statisticsOne: parts, statisticsTwo: 0, termsOne: tiles, termsTwo: 0 });
    assert.equal(two.epilogueCounts, { statisticsOne: 0, statisticsTwo: parts, termsOne: 0, termsTwo: tiles });
    const want = referenceContrastiveLoss(x, y, { rows, cols, dim, rounding: 'bfloat16' });
    assertMatchesReference(one, want, `one exponential, seed ${seed}`, LOW_PRECISION_TOLERANCE);
    assertMatchesReference(two, want, `two exponentials, seed ${seed}`, LOW_PRECISION_TOLERANCE);
    assert.ok(Math.abs(one.loss - two.loss) <= 1e-6 * Math.abs(two.loss), `loss ${one.loss} vs ${two.loss} (seed ${seed})`);
  });

test('one exponential per logit: a tile whose columns lie far apart takes two in those parts, and stays right', () => {
  // Scale 100; every query near direction e₀; documents 0–31 near e₀ (logits ≈ 100), the rest near −e₀
  // (≈ −100): the warp parts over documents 0–31 fit, those over the others (spread ≈ 200) do not,
  // and no block of G fits (its column LSEs span ≈ 200).
  const seed = freshSeed();
  const [rows, cols, dim] = [128, 128, 16];
  const noisy = (n: number, sign: (k: number) => number, s: number) => {
    const m = gaussianMatrix(n, dim, s).map((v) => 0.05 * v);
    for (let k = 0; k < n; k++) m[k * dim] = sign(k);
    return m;
  };
  const x = noisy(rows, () => 1, seed);
  const y = noisy(cols, (k) => (k < 32 ? 1 : -1), seed + 1);
  const targets = Int32Array.from({ length: rows }, (_, i) => i);
  const options = { rows, cols, dim, logScale: Math.log(100), targets, precision: 'bf16' as const };
  const got = addon.cudaPanelEmulation(x, y, options);
  assert.equal(got.epilogueCounts, { statisticsOne: 2, statisticsTwo: 6, termsOne: 0, termsTwo: 1 });
  const want = referenceContrastiveLoss(x, y, { rows, cols, dim, logScale: Math.log(100), targets, rounding: 'bfloat16' });
  assertMatchesReference(got, want, `seed ${seed}`, LOW_PRECISION_TOLERANCE);
});

test('the device report reads the profile lines native/cuda/loss_orchestration.cu prints, phases summed over panels', () => {
  const line =
    'infonce cuda profile (bf16, M 65536, N 65536, D 1024; 512 ranges, 1 replicas, 1 launches, panels of 8192 rows × 8, ' +
    'dU in 1 splits): normalise 1.5 ms; statistics pass 44 ms; G (S recomputed) 22 ms; dU = G·V 15 ms; dV += Gᵀ·U 15 ms; ' +
    'gradient pass 0.01 ms;';
  const timings = phaseTimings([line, line.replace('44 ms', '40 ms'), 'unrelated output']);
  const statistics = timings.find((t) => t.phase === 'statistics pass')!;
  assert.is(statistics.key, 'bf16 65536×65536×1024 panels');
  assert.is(statistics.milliseconds, 42); // the median of 44 and 40
  assert.ok(Math.abs(statistics.teraflops! - (2 * 65536 ** 2 * 1024) / 0.042 / 1e12) < 1e-9);
  assert.is(timings.find((t) => t.phase === 'dU = G·V')!.milliseconds, 15);
  assert.is(timings.find((t) => t.phase === 'normalise')!.teraflops, undefined);
});

test.run();
