// `infonce bench`: the fused loss against the naive one (the same function, materialising M×N), both
// forward+backward on the same inputs, alternating after a warm-up. Medians, ratio, effective
// GFLOP/s and peak memory. Results are checked against each other before they are timed.
import { contrastiveLoss } from '../lib/loss.js';
import type { ContrastiveLossResult } from '../lib/types.js';
import { availableMemoryBytes, formatBytes, measure, median } from './measure.js';
import { gaussianMatrix } from './random.js';
import { relativeError } from './reference.js';

export interface LossBenchOptions {
  sizes: number[];
  dim: number;
  repeats: number;
  warmup: boolean;
  threads: number;
  seed: number;
  /** Called with a line of progress (which size, which kernel, which repetition). */
  progress?: (message: string) => void;
}

export interface KernelTiming {
  medianSeconds: number;
  seconds: number[];
  /** FLOPs of the kernel's own algorithm (fused 8·M·N·D, naive 6·M·N·D) per second, in GFLOP/s. */
  gflops: number;
  peakResidentBytes: number;
}

export interface LossBenchRow {
  rows: number;
  cols: number;
  dim: number;
  threads: number;
  fused: KernelTiming;
  naive: KernelTiming | { skipped: string };
  /** fused median / naive median, when the naive kernel ran. */
  ratioToNaive?: number;
  /** What the check before timing compared, and how close it came. */
  check: string;
}

const FUSED_FLOPS = 8;
const NAIVE_FLOPS = 6;

function checkAgainstNaive(fused: ContrastiveLossResult, naive: ContrastiveLossResult): string {
  const lossError = Math.abs(fused.loss - naive.loss) / Math.max(1, Math.abs(naive.loss));
  const gradError = Math.max(relativeError(fused.gradX, naive.gradX), relativeError(fused.gradY, naive.gradY));
  if (!(lossError < 1e-5 && gradError < 1e-4))
    throw new Error(`fused and naive disagree: loss ${lossError.toExponential(2)}, gradients ${gradError.toExponential(2)}`);
  return `fused = naive (loss ${lossError.toExponential(1)}, grad ${gradError.toExponential(1)})`;
}

// Without the naive kernel (too large), check what must hold anyway: a finite loss between 0 and
// 2·(ln N + 2s), and gradients orthogonal to their rows (the normalisation removes the radial part).
function checkInvariants(r: ContrastiveLossResult, x: Float32Array, dim: number): string {
  if (!Number.isFinite(r.loss) || r.loss < 0) throw new Error(`fused loss is ${r.loss}`);
  let worst = 0;
  for (let i = 0; i < Math.min(64, x.length / dim); i++) {
    let dot = 0;
    let gn = 0;
    let xn = 0;
    for (let k = 0; k < dim; k++) {
      dot += r.gradX[i * dim + k]! * x[i * dim + k]!;
      gn += r.gradX[i * dim + k]! ** 2;
      xn += x[i * dim + k]! ** 2;
    }
    if (gn > 0) worst = Math.max(worst, Math.abs(dot) / Math.sqrt(gn * xn));
  }
  if (!(worst < 1e-3)) throw new Error(`fused gradient not orthogonal to its rows (cos ${worst})`);
  return `invariants hold (|cos(grad, x)| ≤ ${worst.toExponential(1)})`;
}

function timing(runs: { seconds: number; peakResidentBytes: number }[], flops: number): KernelTiming {
  const seconds = runs.map((r) => r.seconds);
  const m = median(seconds);
  return {
    medianSeconds: m,
    seconds,
    gflops: flops / m / 1e9,
    peakResidentBytes: Math.max(...runs.map((r) => r.peakResidentBytes)),
  };
}

export async function benchLoss(options: LossBenchOptions): Promise<LossBenchRow[]> {
  const say = options.progress ?? (() => {});
  const rows: LossBenchRow[] = [];
  for (const M of options.sizes) {
    const N = M;
    const D = options.dim;
    const x = gaussianMatrix(M, D, options.seed);
    const y = gaussianMatrix(N, D, options.seed + 1);
    const settings = { rows: M, cols: N, dim: D, threads: options.threads };
    const fusedRun = () => contrastiveLoss(x, y, { ...settings, algorithm: 'fused' });
    const naiveRun = () => contrastiveLoss(x, y, { ...settings, algorithm: 'naive' });

    // The naive kernel holds S (4·M·N bytes, G reuses it) and copies of U, V and Vᵀ. Skip it where
    // that would take more than half the memory available: the machine is shared, and at that size
    // it would also run for many minutes.
    const available = availableMemoryBytes();
    const naiveBytes = 4 * M * N + 4 * (M + 2 * N) * D;
    const naiveSkipped =
      available !== undefined && naiveBytes > 0.5 * available
        ? `needs ${formatBytes(naiveBytes)} (the M×N logits), more than half of the ${formatBytes(available)} available`
        : undefined;

    say(`M=${M}: checking`);
    const first = await measure(fusedRun);
    let check: string;
    const naiveRuns: { seconds: number; peakResidentBytes: number }[] = [];
    const fusedRuns: { seconds: number; peakResidentBytes: number }[] = [];
    if (naiveSkipped) {
      check = checkInvariants(first.value, x, D);
    } else {
      const naiveFirst = await measure(naiveRun);
      check = checkAgainstNaive(first.value, naiveFirst.value);
      if (!options.warmup) naiveRuns.push(naiveFirst);
    }
    if (!options.warmup) fusedRuns.push(first);
    while (fusedRuns.length < options.repeats) {
      say(`M=${M}: fused ${fusedRuns.length + 1}/${options.repeats}`);
      fusedRuns.push(await measure(fusedRun));
      if (!naiveSkipped) {
        say(`M=${M}: naive ${naiveRuns.length + 1}/${options.repeats}`);
        naiveRuns.push(await measure(naiveRun));
      }
    }
    const fused = timing(fusedRuns, FUSED_FLOPS * M * N * D);
    const naive = naiveSkipped ? { skipped: naiveSkipped } : timing(naiveRuns, NAIVE_FLOPS * M * N * D);
    const row: LossBenchRow = { rows: M, cols: N, dim: D, threads: options.threads, fused, naive, check };
    if ('medianSeconds' in naive) row.ratioToNaive = fused.medianSeconds / naive.medianSeconds;
    rows.push(row);
  }
  return rows;
}

export function formatLossTable(rows: LossBenchRow[]): string {
  const header = ['M=N', 'D', 'fused s', 'naive s', 'fused/naive', 'fused GFLOP/s', 'naive GFLOP/s', 'fused peak RSS', 'naive peak RSS'];
  const lines = rows.map((r) => {
    const naive = 'medianSeconds' in r.naive ? r.naive : undefined;
    return [
      String(r.rows),
      String(r.dim),
      r.fused.medianSeconds.toFixed(3),
      naive ? naive.medianSeconds.toFixed(3) : 'skipped',
      r.ratioToNaive !== undefined ? r.ratioToNaive.toFixed(2) + '×' : '-',
      r.fused.gflops.toFixed(1),
      naive ? naive.gflops.toFixed(1) : '-',
      formatBytes(r.fused.peakResidentBytes),
      naive ? formatBytes(naive.peakResidentBytes) : '-',
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const format = (cells: string[]) => cells.map((cell, c) => cell.padStart(widths[c]!)).join('  ');
  const notes = rows.flatMap((r) => ('skipped' in r.naive ? [`M=${r.rows}: naive skipped: ${r.naive.skipped}`] : []));
  return [format(header), ...lines.map(format), ...notes].join('\n');
}
