// The float64 reference of the loss (docs/loss.md): the formulas written out directly, materialising S.
// Every backend is checked against it in the tests; the benchmarks use it to check before timing.
// O(M·N·D) in plain JavaScript: keep it to small shapes.

import { DEFAULT_LOG_SCALE } from './loss.js';

/** Rounding of the normalised rows that a low-precision backend applies before its products. */
export type OperandRounding = 'bfloat16' | 'float16' | 'tf32';

export interface ReferenceOptions {
  rows: number;
  cols?: number;
  dim: number;
  logScale?: number;
  symmetric?: boolean;
  targets?: ArrayLike<number>;
  /**
   * Round the normalised rows u, v as a 16-bit (or TF32) backend does, so that the reference computes
   * the function that backend computes: its remaining error is then accumulation only, and the
   * comparison holds at any logit scale (at scale 10⁴, bf16 rounding alone moves logits by ~10).
   */
  rounding?: OperandRounding;
  /**
   * False-negative masking: logit (i, j) with j ≠ t(i) and rows[i] = cols[j] ≥ 0 leaves both
   * softmaxes (a negative group is in no group). One array: a group per pair, column t(i) in pair i's.
   */
  groups?: ArrayLike<number> | { rows: ArrayLike<number>; cols: ArrayLike<number> };
  /**
   * 'groups': the columns of row i's group are its positives (besides its target), in SupCon's "out"
   * form, L_i = rowLSE_i − mean over P(i) of S_ip, instead of being masked; the column direction alike.
   */
  positives?: 'target' | 'groups';
  /**
   * Internal to the Matryoshka reference: the full rows (of `fullDim` columns) whose prefixes x and y
   * are. With `rounding`, a prefix's operand is then the full row's rounded u rescaled to the prefix's
   * norm, as a fused backend computes it (one product of the full rows' operands serves every prefix).
   */
  prefixOf?: { x: ArrayLike<number>; y: ArrayLike<number>; fullDim: number };
  /** Matryoshka prefixes: Σₖ weights[k]·(the loss of x[:, :dims[k]], y[:, :dims[k]]), each its own call here. */
  matryoshka?: { dims: ArrayLike<number>; weights?: ArrayLike<number> };
}

const bits = new Float32Array(1);
const word = new Uint32Array(bits.buffer);

/** x rounded to `rounding`, as the GPU does it (bf16, fp16: to nearest even; TF32: to nearest, ties away). */
export function roundOperand(x: number, rounding: OperandRounding): number {
  bits[0] = x;
  if (rounding === 'bfloat16') {
    word[0] = (word[0]! + 0x7fff + ((word[0]! >>> 16) & 1)) & 0xffff0000;
    return bits[0]!;
  }
  if (rounding === 'tf32') {
    word[0] = (word[0]! + 0x1000) & 0xffffe000;
    return bits[0]!;
  }
  // fp16: 11 significant bits for normal values, a fixed step of 2⁻²⁴ below 2⁻¹⁴.
  const magnitude = Math.abs(bits[0]!);
  if (magnitude === 0) return bits[0]!;
  const step = magnitude < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(magnitude)) - 10);
  const scaled = bits[0]! / step;
  const nearest = Math.round(scaled);
  const even = Math.abs(scaled - Math.trunc(scaled)) === 0.5 ? 2 * Math.round(scaled / 2) : nearest;
  return even * step;
}

export interface ReferenceResult {
  loss: number;
  gradX: Float64Array;
  gradY: Float64Array;
  gradLogScale: number;
  accuracy: { row: number; col: number };
  meanPositiveLogit: number;
  meanLogSumExp: number;
  /** Rows (columns) whose positive is within `tieTolerance` of the best other logit: fp32 may rank them either way. */
  nearTies: { row: number; col: number };
  /**
   * ‖dL/du / ‖x‖‖ and ‖dL/dv / ‖y‖‖: the size of the gradients before the normalisation removes their
   * radial part. When that removal cancels nearly everything (D = 1, or a converged row), a gradient's
   * error can only be judged against this scale.
   */
  unprojectedNorm: { x: number; y: number };
  /**
   * ‖s·Σ_j |G_ij|·|v_j| / ‖x_i‖‖ and its column twin: how far the gradients can move when every
   * element of G is perturbed by a relative ε (a backend that keeps G in 16 bits) is ε times this.
   * Above the unprojected norm: G's rows sum to zero, so Σ_j G_ij v_j cancels where |G| does not.
   */
  roundingNorm: { x: number; y: number };
  /** With `matryoshka`: each prefix's own loss and accuracy (the top-level accuracy is the largest prefix's). */
  prefixes?: { dim: number; weight: number; loss: number; accuracy: { row: number; col: number } }[];
}

const EPSILON = 1e-12;

/** The groups of the rows and of the columns: a per-pair array gives column t(i) pair i's group. */
export function sideGroups(groups: ReferenceOptions['groups'], M: number, N: number, target: (i: number) => number) {
  if (groups === undefined || 'rows' in groups) return groups;
  const cols = new Array<number>(N).fill(-1);
  for (let i = 0; i < M; i++) cols[target(i)] = groups[i]!;
  return { rows: groups, cols };
}

export function referenceContrastiveLoss(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  options: ReferenceOptions,
  tieTolerance = 1e-4,
): ReferenceResult {
  if (options.matryoshka) return referenceMatryoshka(x, y, options, options.matryoshka, tieTolerance);
  const M = options.rows;
  const N = options.cols ?? M;
  const D = options.dim;
  const theta = options.logScale ?? DEFAULT_LOG_SCALE;
  const symmetric = options.symmetric ?? true;
  const s = Math.exp(theta);
  const target = (i: number) => (options.targets ? options.targets[i]! : i);
  const groups = sideGroups(options.groups, M, N, target);
  const grouped = (i: number, j: number) => groups !== undefined && groups.rows[i]! >= 0 && groups.rows[i] === groups.cols[j];
  const positivesByGroup = options.positives === 'groups';
  const masked = (i: number, j: number) => !positivesByGroup && j !== target(i) && grouped(i, j);
  // With positives by group: (i, j) is a positive of row i (and row i one of column j's) when j is
  // i's target or they share a group.
  const positivePair = (i: number, j: number) => j === target(i) || (positivesByGroup && grouped(i, j));

  const normalise = (m: ArrayLike<number>, rows: number, full?: ArrayLike<number>) => {
    const norm = new Float64Array(rows);
    const u = new Float64Array(rows * D);
    const exact = new Float64Array(rows * D);
    const fullDim = options.prefixOf?.fullDim ?? D;
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let k = 0; k < D; k++) sum += m[r * D + k]! ** 2;
      norm[r] = Math.sqrt(sum);
      const scale = 1 / Math.max(norm[r]!, EPSILON);
      let fullNorm = 0;
      if (full) for (let k = 0; k < fullDim; k++) fullNorm += full[r * fullDim + k]! ** 2;
      const fullScale = 1 / Math.max(Math.sqrt(fullNorm), EPSILON);
      for (let k = 0; k < D; k++) {
        const value = m[r * D + k]! * scale;
        exact[r * D + k] = value;
        if (!options.rounding) u[r * D + k] = value;
        else if (!full) u[r * D + k] = roundOperand(value, options.rounding);
        else u[r * D + k] = (roundOperand(m[r * D + k]! * fullScale, options.rounding) * scale) / fullScale;
      }
    }
    return { norm, u, exact };
  };
  const X = normalise(x, M, options.prefixOf?.x);
  const Y = normalise(y, N, options.prefixOf?.y);

  const S = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let dot = 0;
      for (let k = 0; k < D; k++) dot += X.u[i * D + k]! * Y.u[j * D + k]!;
      S[i * N + j] = masked(i, j) ? -Infinity : s * dot;
    }

  const rowLse = new Float64Array(M);
  const colLse = new Float64Array(N);
  const rowMax = new Float64Array(M).fill(-Infinity);
  const colMax = new Float64Array(N).fill(-Infinity);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      rowMax[i] = Math.max(rowMax[i]!, S[i * N + j]!);
      colMax[j] = Math.max(colMax[j]!, S[i * N + j]!);
    }
  for (let i = 0; i < M; i++) {
    let sum = 0;
    for (let j = 0; j < N; j++) sum += Math.exp(S[i * N + j]! - rowMax[i]!);
    rowLse[i] = rowMax[i]! + Math.log(sum);
  }
  for (let j = 0; j < N; j++) {
    let sum = 0;
    for (let i = 0; i < M; i++) if (S[i * N + j]! > -Infinity) sum += Math.exp(S[i * N + j]! - colMax[j]!);
    colLse[j] = colMax[j]! + Math.log(sum); // −∞ for a column every row masks (never a target column)
  }

  const isTarget = new Uint8Array(N);
  for (let i = 0; i < M; i++) isTarget[target(i)] = 1;
  // |P(i)| and |Q(j)| (the latter for target columns): 1 each without positives by group.
  const rowPositives = new Float64Array(M);
  const colPositives = new Float64Array(N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++)
      if (positivePair(i, j)) {
        rowPositives[i]!++;
        if (isTarget[j]) colPositives[j]!++;
      }
  let rowLoss = 0;
  let colLoss = 0;
  let positiveSum = 0;
  let lseSum = 0;
  let rowHits = 0;
  let colHits = 0;
  let rowTies = 0;
  let colTies = 0;
  for (let i = 0; i < M; i++) {
    const t = target(i);
    let rowPositive = 0;
    let bestPositiveInRow = -Infinity;
    let bestOtherInRow = -Infinity;
    for (let j = 0; j < N; j++) {
      if (positivePair(i, j)) {
        rowPositive += S[i * N + j]! / rowPositives[i]!;
        bestPositiveInRow = Math.max(bestPositiveInRow, S[i * N + j]!);
      } else bestOtherInRow = Math.max(bestOtherInRow, S[i * N + j]!);
    }
    let colPositive = 0;
    let bestPositiveInCol = -Infinity;
    let bestOtherInCol = -Infinity;
    for (let r = 0; r < M; r++) {
      if (positivePair(r, t)) {
        colPositive += S[r * N + t]! / colPositives[t]!;
        bestPositiveInCol = Math.max(bestPositiveInCol, S[r * N + t]!);
      } else bestOtherInCol = Math.max(bestOtherInCol, S[r * N + t]!);
    }
    rowLoss += rowLse[i]! - rowPositive;
    colLoss += colLse[t]! - colPositive;
    positiveSum += rowPositive;
    lseSum += rowLse[i]!;
    rowHits += bestPositiveInRow > bestOtherInRow ? 1 : 0;
    colHits += bestPositiveInCol > bestOtherInCol ? 1 : 0;
    rowTies += Math.abs(bestPositiveInRow - bestOtherInRow) <= tieTolerance * Math.max(1, s) ? 1 : 0;
    colTies += Math.abs(bestPositiveInCol - bestOtherInCol) <= tieTolerance * Math.max(1, s) ? 1 : 0;
  }
  const loss = symmetric ? (rowLoss + colLoss) / (2 * M) : rowLoss / M;

  // G_ij = (w_r/M)(P_ij − [j ∈ P(i)]/|P(i)|) + (w_c/M)(Q_ij − [i ∈ Q(j)]/|Q(j)|)·[j is a target column]
  const wr = (symmetric ? 0.5 : 1) / M;
  const wc = symmetric ? 0.5 / M : 0;
  const gradU = new Float64Array(M * D);
  const gradV = new Float64Array(N * D);
  const absU = new Float64Array(M * D);
  const absV = new Float64Array(N * D);
  let gradLogScale = 0;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      const sij = S[i * N + j]!;
      if (sij === -Infinity) continue; // masked: in neither softmax, no gradient
      const positive = positivePair(i, j);
      let g = wr * (Math.exp(sij - rowLse[i]!) - (positive ? 1 / rowPositives[i]! : 0));
      if (isTarget[j]) g += wc * (Math.exp(sij - colLse[j]!) - (positive ? 1 / colPositives[j]! : 0));
      gradLogScale += g * sij;
      for (let k = 0; k < D; k++) {
        gradU[i * D + k] += s * g * Y.u[j * D + k]!;
        gradV[j * D + k] += s * g * X.u[i * D + k]!;
        absU[i * D + k] += Math.abs(s * g * Y.u[j * D + k]!);
        absV[j * D + k] += Math.abs(s * g * X.u[i * D + k]!);
      }
    }

  const unprojected = (grad: Float64Array, n: { norm: Float64Array }) => {
    let sum = 0;
    for (let i = 0; i < grad.length; i++) sum += (grad[i]! / Math.max(n.norm[Math.floor(i / D)]!, EPSILON)) ** 2;
    return Math.sqrt(sum);
  };
  // The normalisation's backward uses the exact direction (the kernels project with x itself).
  const backward = (grad: Float64Array, n: { norm: Float64Array; exact: Float64Array }, rows: number) => {
    const out = new Float64Array(rows * D);
    for (let r = 0; r < rows; r++) {
      const norm = n.norm[r]!;
      if (norm > EPSILON) {
        let along = 0;
        for (let k = 0; k < D; k++) along += n.exact[r * D + k]! * grad[r * D + k]!;
        for (let k = 0; k < D; k++) out[r * D + k] = (grad[r * D + k]! - n.exact[r * D + k]! * along) / norm;
      } else {
        for (let k = 0; k < D; k++) out[r * D + k] = grad[r * D + k]! / EPSILON;
      }
    }
    return out;
  };

  return {
    loss,
    gradX: backward(gradU, X, M),
    gradY: backward(gradV, Y, N),
    gradLogScale,
    accuracy: { row: rowHits / M, col: colHits / M },
    meanPositiveLogit: positiveSum / M,
    meanLogSumExp: lseSum / M,
    nearTies: { row: rowTies / M, col: colTies / M },
    unprojectedNorm: { x: unprojected(gradU, X), y: unprojected(gradV, Y) },
    roundingNorm: { x: unprojected(absU, X), y: unprojected(absV, Y) },
  };
}

/** The definition itself: one float64 loss per prefix on copies of the prefix columns, weighted and summed. */
function referenceMatryoshka(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  options: ReferenceOptions,
  matryoshka: NonNullable<ReferenceOptions['matryoshka']>,
  tieTolerance: number,
): ReferenceResult {
  const M = options.rows;
  const N = options.cols ?? M;
  const D = options.dim;
  const prefix = (m: ArrayLike<number>, rows: number, d: number) => {
    const out = new Float64Array(rows * d);
    for (let r = 0; r < rows; r++) for (let k = 0; k < d; k++) out[r * d + k] = m[r * D + k]!;
    return out;
  };
  const gradX = new Float64Array(M * D);
  const gradY = new Float64Array(N * D);
  const prefixes: NonNullable<ReferenceResult['prefixes']> = [];
  let loss = 0;
  let gradLogScale = 0;
  let unprojectedX = 0;
  let roundingX = 0;
  let roundingY = 0;
  let unprojectedY = 0;
  let last: ReferenceResult | undefined;
  for (let p = 0; p < matryoshka.dims.length; p++) {
    const d = matryoshka.dims[p]!;
    const weight = matryoshka.weights?.[p] ?? 1;
    const r = referenceContrastiveLoss(
      prefix(x, M, d),
      prefix(y, N, d), { ...options, dim: d, matryoshka: undefined, prefixOf: { x, y, fullDim: D } },
      tieTolerance,
    );
    for (let i = 0; i < M; i++) for (let k = 0; k < d; k++) gradX[i * D + k] += weight * r.gradX[i * d + k]!;
    for (let j = 0; j < N; j++) for (let k = 0; k < d; k++) gradY[j * D + k] += weight * r.gradY[j * d + k]!;
    loss += weight * r.loss;
    gradLogScale += weight * r.gradLogScale;
    unprojectedX += weight * r.unprojectedNorm.x;
    unprojectedY += weight * r.unprojectedNorm.y;
    roundingX += weight * r.roundingNorm.x;
    roundingY += weight * r.roundingNorm.y;
    prefixes.push({ dim: d, weight, loss: r.loss, accuracy: r.accuracy });
    last = r;
  }
  if (!last) throw new RangeError('matryoshka.dims: expected at least one prefix');
  return {
    ...last,
    loss,
    gradX,
    gradY,
    gradLogScale,
    // An upper bound of the weighted sum's scale (each prefix's own, added).
    unprojectedNorm: { x: unprojectedX, y: unprojectedY },
    roundingNorm: { x: roundingX, y: roundingY },
    prefixes,
  };
}

/** ‖a − b‖ / max(‖b‖, floor) (the floor keeps a reference of ~0 from making any error infinite). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  const denominator = Math.max(Math.sqrt(norm), floor);
  return denominator > 0 ? Math.sqrt(diff) / denominator : Math.sqrt(diff);
}
