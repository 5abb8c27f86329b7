// Every backend against the float64 reference of docs/loss.md, on fresh random inputs over
// shapes that are not multiples of any tile or vector width, with every option of the loss.
import { suite } from 'uvu';

import type { ContrastiveLossOptions } from '../lib/types.js';
import { alignedPairs, distinctTargets, freshSeed, gaussianMatrix } from '../bench/random.js';
import { generator } from '../lib/util/random.js';
import { referenceContrastiveLoss, roundOperand, type OperandRounding, type ReferenceResult } from '../lib/reference.js';
import { lossBackends } from './backends.js';
import { assertMatchesReference } from './check.js';
import { withBf16BoundaryAllowance } from './rounding-boundary.js';

interface Case {
  name: string;
  rows: number;
  cols?: number;
  dim: number;
  logScale?: number;
  symmetric?: boolean;
  /** Use a random permutation (a random subset of columns when cols > rows) as targets. */
  shuffledTargets?: boolean;
  /** Inputs that look trained: positives far above the negatives. */
  aligned?: boolean;
  /**
   * False-negative masking: 'pairs', a group per pair from a few values (many duplicates); 'sides',
   * groups for rows and columns apart, some negative (no group); 'one', every pair in one group (each
   * row keeps only its positive).
   */
  groups?: 'pairs' | 'sides' | 'one';
  /** The groups' pairs are positives of each other (`positives: 'groups'`), not masked. */
  positives?: boolean;
  /** Matryoshka prefixes (and their weights, default 1 each). */
  matryoshka?: { dims: number[]; weights?: number[] };
}

const cases: Case[] = [
  { name: 'M=1, D=1', rows: 1, dim: 1 },
  { name: 'M=1 with 4 hard negatives, D=7', rows: 1, cols: 5, dim: 7 },
  { name: 'M=3, D=7', rows: 3, dim: 7 },
  { name: 'M=3, N=8 hard negatives, D=1', rows: 3, cols: 8, dim: 1 },
  { name: 'M=17, D=769', rows: 17, dim: 769 },
  { name: 'M=96 (one whole tile), D=64', rows: 96, dim: 64 },
  { name: 'M=97, N=193, D=33', rows: 97, cols: 193, dim: 33 },
  { name: 'M=257, D=31', rows: 257, dim: 31 },
  { name: 'M=131, N=300 hard negatives, D=769', rows: 131, cols: 300, dim: 769 },
  { name: 'shuffled targets, M=61, D=45', rows: 61, dim: 45, shuffledTargets: true },
  { name: 'targets among hard negatives, M=50, N=211, D=20', rows: 50, cols: 211, dim: 20, shuffledTargets: true },
  { name: 'one-directional, M=45, D=50', rows: 45, dim: 50, symmetric: false },
  { name: 'one-directional with hard negatives, M=33, N=101, D=17', rows: 33, cols: 101, dim: 17, symmetric: false },
  { name: 'scale 100 (θ = ln 100), M=113, D=48', rows: 113, dim: 48, logScale: Math.log(100) },
  { name: 'scale 100 on trained-like pairs, M=77, D=64', rows: 77, dim: 64, logScale: Math.log(100), aligned: true },
  { name: 'trained-like pairs at the default scale, M=129, N=140, D=96', rows: 129, cols: 140, dim: 96, aligned: true },
  { name: 'tiny scale (θ = −5), M=40, D=12', rows: 40, dim: 12, logScale: -5 },
  { name: 'scale 10⁴ (the largest allowed), M=23, D=9', rows: 23, dim: 9, logScale: Math.log(1e4) },
  { name: 'groups per pair (many duplicates), M=1, D=3', rows: 1, dim: 3, groups: 'pairs' },
  { name: 'groups per pair (many duplicates), M=97, D=33', rows: 97, dim: 33, groups: 'pairs' },
  { name: 'groups per pair with shuffled targets, M=203, D=17', rows: 203, dim: 17, groups: 'pairs', shuffledTargets: true },
  { name: 'groups of rows and columns, hard negatives, targets among them, M=50, N=211, D=20', rows: 50, cols: 211, dim: 20, groups: 'sides', shuffledTargets: true },
  { name: 'groups of rows and columns, one-directional, scale 100, M=131, N=300, D=65', rows: 131, cols: 300, dim: 65, groups: 'sides', symmetric: false, logScale: Math.log(100) },
  { name: 'one group for all (each row keeps only its positive), M=13, D=5', rows: 13, dim: 5, groups: 'one' },
  { name: 'Matryoshka 2, 5, 7 of D=7, M=3', rows: 3, dim: 7, matryoshka: { dims: [2, 5, 7] } },
  { name: 'Matryoshka one prefix of 1 of D=4 (M=1)', rows: 1, dim: 4, matryoshka: { dims: [1] } },
  { name: 'Matryoshka 16, 33 (the rest of D=65 untrained), M=97, N=193', rows: 97, cols: 193, dim: 65, matryoshka: { dims: [16, 33] } },
  { name: 'Matryoshka 8, 64, 200, 769 weighted, M=131, N=300, D=769', rows: 131, cols: 300, dim: 769, matryoshka: { dims: [8, 64, 200, 769], weights: [0.5, 1, 2, 0.25] } },
  { name: 'Matryoshka 5, 31 with shuffled targets, M=257, D=31', rows: 257, dim: 31, shuffledTargets: true, matryoshka: { dims: [5, 31] } },
  { name: 'Matryoshka on trained-like pairs at scale 100, M=77, D=64', rows: 77, dim: 64, logScale: Math.log(100), aligned: true, matryoshka: { dims: [16, 32, 64] } },
  { name: 'Matryoshka, one-directional, groups of rows and columns, M=50, N=211, D=40', rows: 50, cols: 211, dim: 40, symmetric: false, groups: 'sides', shuffledTargets: true, matryoshka: { dims: [10, 20, 40], weights: [1, 1, 3] } },
  { name: 'Matryoshka with groups per pair, M=203, D=17', rows: 203, dim: 17, groups: 'pairs', matryoshka: { dims: [4, 9, 17] } },
  { name: 'several positives: groups per pair, M=1, D=3', rows: 1, dim: 3, groups: 'pairs', positives: true },
  { name: 'several positives: groups per pair, M=97, D=33', rows: 97, dim: 33, groups: 'pairs', positives: true },
  { name: 'several positives: groups per pair with shuffled targets, trained-like, M=203, D=17', rows: 203, dim: 17, groups: 'pairs', positives: true, shuffledTargets: true, aligned: true },
  { name: 'several positives: groups of rows and columns, hard negatives, targets among them, M=50, N=211, D=20', rows: 50, cols: 211, dim: 20, groups: 'sides', positives: true, shuffledTargets: true },
  { name: 'several positives, one-directional, scale 100, M=131, N=300, D=65', rows: 131, cols: 300, dim: 65, groups: 'sides', positives: true, symmetric: false, logScale: Math.log(100) },
  { name: 'several positives: one group for all, M=13, D=5', rows: 13, dim: 5, groups: 'one', positives: true },
  { name: 'several positives with Matryoshka 8, 20, 40, M=50, N=211, D=40', rows: 50, cols: 211, dim: 40, groups: 'sides', positives: true, matryoshka: { dims: [8, 20, 40] } },
];

// Groups for a case: values from a seeded generator, few of them so that groups repeat.
function caseGroups(kind: NonNullable<Case['groups']>, rows: number, cols: number, seed: number): NonNullable<ContrastiveLossOptions['groups']> {
  const random = generator(seed);
  const draw = (n: number, low: number, high: number) => Int32Array.from({ length: n }, () => low + Math.floor(random() * (high - low)));
  if (kind === 'one') return new Int32Array(rows).fill(7);
  if (kind === 'pairs') return draw(rows, 0, Math.max(1, Math.ceil(rows / 4)));
  return { rows: draw(rows, -1, 8), cols: draw(cols, -1, 8) };
}

const test = suite('loss: every backend vs the float64 reference');
const backends = lossBackends();

for (const c of cases) {
  // Fresh inputs on every run; the seed is in each failure message, and INFONCE_LOSS_SEED reruns it.
  const seed = Number(process.env.INFONCE_LOSS_SEED ?? freshSeed());
  const cols = c.cols ?? c.rows;
  const inputs = c.aligned
    ? alignedPairs(c.rows, cols, c.dim, 0.3, seed)
    : { x: gaussianMatrix(c.rows, c.dim, seed), y: gaussianMatrix(cols, c.dim, seed + 1) };
  const options: ContrastiveLossOptions = { rows: c.rows, cols, dim: c.dim };
  if (c.logScale !== undefined) options.logScale = c.logScale;
  if (c.symmetric !== undefined) options.symmetric = c.symmetric;
  if (c.shuffledTargets) options.targets = distinctTargets(c.rows, cols, seed + 2);
  if (c.groups) options.groups = caseGroups(c.groups, c.rows, cols, seed + 3);
  if (c.matryoshka) options.matryoshka = c.matryoshka;
  if (c.positives) options.positives = 'groups';
  const references = new Map<string, ReferenceResult>();
  const want = (rounding?: OperandRounding, inputRounding?: OperandRounding) => {
    const key = `${rounding ?? 'exact'}/${inputRounding ?? 'exact'}`;
    if (!references.has(key)) {
      const round = (m: Float32Array) => (inputRounding ? m.map((v) => roundOperand(v, inputRounding)) : m);
      references.set(key, referenceContrastiveLoss(round(inputs.x), round(inputs.y), { ...options, rounding }));
    }
    return references.get(key)!;
  };

  for (const backend of backends) {
    const name = `${c.name} [${backend.name}]`;
    const unavailable =
      backend.unavailable ??
      (c.groups ? backend.withoutGroups : undefined) ??
      (c.matryoshka ? backend.withoutMatryoshka : undefined) ??
      (c.positives ? backend.withoutPositives : undefined);
    if (unavailable) {
      test.skip(`${name} (skipped: ${unavailable})`, () => {});
      continue;
    }
    test(name, async () => {
      const got = await backend.run(inputs.x, inputs.y, options);
      const tolerance =
        backend.rounding === 'bfloat16' ? withBf16BoundaryAllowance(backend.tolerance, inputs.x, inputs.y, options) : backend.tolerance;
      assertMatchesReference(got, want(backend.rounding, backend.inputRounding), `${name}, seed ${seed}`, tolerance);
    });
  }
}

test.run();
