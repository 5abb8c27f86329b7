// One rank of test/distributed.test.ts, run under `mpirun -np W node --import tsx test/distributed-rank.ts
// '<case JSON>'`: every rank makes the whole batch from the case's seed, takes its shard, and checks
// the sharded loss against the one-process loss of the whole batch (and its rows of the gradients),
// and against the float64 reference. Prints one JSON line: { rank, ok, errors } or { rank, error }.
import { distributedContrastiveLoss, mpiCommunicator } from '../lib/distributed.js';
import { contrastiveLoss } from '../lib/loss.js';
import { referenceContrastiveLoss, relativeError } from '../lib/reference.js';
import type { ContrastiveLossOptions } from '../lib/types.js';
import { gaussianMatrix } from '../bench/random.js';
import { generator } from '../lib/util/random.js';
import { CPU_BF16_TOLERANCE, FP32_TOLERANCE } from './backends.js';
import { withBf16BoundaryAllowance } from './rounding-boundary.js';

interface Case {
  seed: number;
  /** Queries and documents of each rank (uneven shards). */
  rows: number[];
  cols: number[];
  dim: number;
  symmetric?: boolean;
  precision?: 'fp32' | 'bf16';
  /** Targets: a random permutation of global columns (hard negatives among them). */
  shuffled?: boolean;
  /** 'PNN': each rank's documents are laid out positive, negative, negative, …; targets every third. */
  layout?: 'PNN';
  /** Groups: a few values, so that duplicates across ranks are masked. */
  groups?: boolean;
  matryoshka?: { dims: number[] };
  /** With groups: the pairs of a group are each other's positives (`positives: 'groups'`). */
  positives?: boolean;
  /** Make rank 1 disagree on this option (the call must fail on every rank). */
  disagree?: 'dim' | 'symmetric';
  /** Put a NaN in rank 1's x. */
  nan?: boolean;
}

const c = JSON.parse(process.argv[2]!) as Case;
const comm = await mpiCommunicator();
const W = comm.size;
const M = c.rows.reduce((a, b) => a + b, 0);
const N = c.cols.reduce((a, b) => a + b, 0);
const D = c.dim;
const x = gaussianMatrix(M, D, c.seed);
const y = gaussianMatrix(N, D, c.seed + 1);
const random = generator(c.seed + 2);
let targets: Int32Array | undefined;
if (c.shuffled) {
  const columns = Array.from({ length: N }, (_, j) => j);
  for (let j = N - 1; j > 0; j--) {
    const k = Math.floor(random() * (j + 1));
    [columns[j], columns[k]] = [columns[k]!, columns[j]!];
  }
  targets = Int32Array.from(columns.slice(0, M));
} else if (c.layout === 'PNN') {
  targets = new Int32Array(M);
  let row = 0;
  let column = 0;
  for (let r = 0; r < W; r++) {
    for (let i = 0; i < c.rows[r]!; i++) targets[row + i] = column + 3 * i;
    row += c.rows[r]!;
    column += c.cols[r]!;
  }
} else {
  // Default targets of each rank: its own column i, in global terms.
  targets = new Int32Array(M);
  let row = 0;
  let column = 0;
  for (let r = 0; r < W; r++) {
    for (let i = 0; i < c.rows[r]!; i++) targets[row + i] = column + i;
    row += c.rows[r]!;
    column += c.cols[r]!;
  }
}
// Each query's positive close to it, so that the loss is that of a half-trained batch.
for (let i = 0; i < M; i++) for (let k = 0; k < D; k++) y[targets[i]! * D + k] = x[i * D + k]! + 0.7 * y[targets[i]! * D + k]!;
const groups = c.groups ? { rows: Int32Array.from({ length: M }, () => Math.floor(random() * 6) - 1), cols: Int32Array.from({ length: N }, () => Math.floor(random() * 6) - 1) } : undefined;

const rowStart = c.rows.slice(0, comm.rank).reduce((a, b) => a + b, 0);
const colStart = c.cols.slice(0, comm.rank).reduce((a, b) => a + b, 0);
const myRows = c.rows[comm.rank]!;
const myCols = c.cols[comm.rank]!;
const base: Pick<ContrastiveLossOptions, 'symmetric' | 'precision' | 'matryoshka' | 'positives'> = {
  ...(c.symmetric !== undefined ? { symmetric: c.symmetric } : {}),
  ...(c.positives ? { positives: 'groups' as const } : {}),
  ...(c.precision ? { precision: c.precision } : {}),
  ...(c.matryoshka ? { matryoshka: c.matryoshka } : {}),
};
const myX = x.slice(rowStart * D, (rowStart + myRows) * D);
if (c.nan && comm.rank === 1) myX[3] = NaN;
try {
  const dim = c.disagree === 'dim' && comm.rank === 1 ? D - 1 : D;
  const got = await distributedContrastiveLoss(myX.subarray(0, myRows * dim), y.slice(colStart * D, (colStart + myCols) * D).subarray(0, myCols * dim), {
    rows: myRows,
    cols: myCols,
    dim,
    comm,
    ...base,
    ...(c.disagree === 'symmetric' && comm.rank === 1 ? { symmetric: !(c.symmetric ?? true) } : {}),
    ...(c.shuffled || c.layout ? { targets: targets.slice(rowStart, rowStart + myRows) } : {}),
    ...(groups ? { groups: { rows: groups.rows.slice(rowStart, rowStart + myRows), cols: groups.cols.slice(colStart, colStart + myCols) } } : {}),
  });
  const options = { rows: M, cols: N, dim: D, targets, ...base, ...(groups ? { groups } : {}) };
  const one = await contrastiveLoss(x, y, { ...options, backend: 'cpu' });
  const want = referenceContrastiveLoss(x, y, { ...options, ...(c.precision === 'bf16' ? { rounding: 'bfloat16' as const } : {}) });
  // The suite's rules (check.ts): bf16 allowed its rounding-boundary elements and its 16-bit G.
  const tolerance = c.precision === 'bf16' ? withBf16BoundaryAllowance(CPU_BF16_TOLERANCE, x, y, options) : FP32_TOLERANCE;
  const floor = (side: 'x' | 'y') => Math.max(1e-2 * want.unprojectedNorm[side], ((tolerance.gRounding ?? 0) * want.roundingNorm[side]) / tolerance.gradient);
  const rows = (m: ArrayLike<number>, start: number, count: number) => Array.from({ length: count * D }, (_, k) => m[start * D + k]!);
  const errors = {
    loss: Math.abs(got.loss - one.loss) / Math.max(1, one.loss),
    lossReference: Math.max(0, Math.abs(got.loss - want.loss) - (tolerance.lossAbsolute ?? 0)) / Math.max(1, want.loss),
    gradX: relativeError(got.gradX, rows(one.gradX, rowStart, myRows)),
    gradY: relativeError(got.gradY, rows(one.gradY, colStart, myCols)),
    gradXReference: relativeError(got.gradX, rows(want.gradX, rowStart, myRows), floor('x')),
    gradYReference: relativeError(got.gradY, rows(want.gradY, colStart, myCols), floor('y')),
    gradLogScale: Math.abs(got.gradLogScale - one.gradLogScale) / Math.max(1, Math.abs(one.gradLogScale)),
    accuracy: Math.abs(got.accuracy.row - one.accuracy.row) + Math.abs(got.accuracy.col - one.accuracy.col),
    prefixes: (got.prefixes ?? []).reduce((worst, p, k) => Math.max(worst, Math.abs(p.loss - one.prefixes![k]!.loss)), 0),
  };
  console.log(JSON.stringify({ rank: comm.rank, size: W, ok: true, errors, bytesSent: comm.bytesSent() }));
} catch (error) {
  const e = error as Error & { code?: string };
  console.log(JSON.stringify({ rank: comm.rank, size: W, error: e.message, code: e.code, name: e.name }));
}
comm.close();
