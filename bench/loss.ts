// `infonce bench` on the CPU: our kernels against the peers a user would otherwise pick, all on the
// same inputs and in the same run (absolute times on a shared machine drift; ratios do not):
//   fused fp32 (S kept between the passes when the memory budget allows), fused fp32 recomputing S,
//   fused bf16, our naive kernel (materialises M×N), PyTorch's naive loss (forward + backward), and
//   the best sgemm of the same M×N×D shape (NumPy's OpenBLAS or PyTorch's matmul) as the roofline.
// Our variants alternate after a warm-up; each result is checked before it is timed.
import { contrastiveLoss } from '../lib/loss.js';
import { allocateFloat32 } from '../lib/memory.js';
import { fillGaussian } from '../lib/util/random.js';
import type { ContrastiveLossResult, InternalLossOptions } from '../lib/types.js';
import { worstGradientCosine } from './invariants.js';
import { availableMemoryBytes, formatBytes, measure, median, sizedProgress } from './measure.js';
import { isPeerResult, runPeer, type PeerOutcome } from './peer-runner.js';
import { alignedPairs, gaussianMatrix } from './random.js';
import { relativeError } from '../lib/reference.js';

export interface LossBenchOptions {
  sizes: number[];
  dim: number;
  repeats: number;
  warmup: boolean;
  threads: number;
  seed: number;
  /** Run the PyTorch / NumPy peers (when installed). */
  peers: boolean;
  /** Also time the gradient filter at this threshold, on random and on trained-like inputs. */
  filter?: number;
  progress?: (message: string) => void;
}

export interface KernelTiming {
  name: string;
  medianSeconds: number;
  seconds: number[];
  /** FLOPs this kernel's algorithm does: 8·M·N·D fused recomputing S, 6·M·N·D when S is kept or naive. */
  flops: number;
  peakResidentBytes: number;
  note?: string;
}

export interface LossBenchRow {
  rows: number;
  cols: number;
  dim: number;
  threads: number;
  kernels: KernelTiming[];
  skipped: Array<{ name: string; reason: string }>;
  torchNaive?: PeerOutcome;
  /** The faster of NumPy's and PyTorch's sgemm of M×D by D×N, FLOP/s: the fp32 kernels' roofline. */
  roofline?: { flopsPerSecond: number; library: string; blas?: string[] };
  rooflineOutcomes?: PeerOutcome[];
  /** PyTorch's bf16 matmul of the same shape (fp32 accumulation, oneDNN): the bf16 kernels' roofline. */
  bf16Roofline?: { flopsPerSecond: number; library: string };
  bf16RooflineOutcome?: PeerOutcome;
  check: string;
}

export interface FilterRow {
  inputs: 'random' | 'trained-like';
  rows: number;
  dim: number;
  threshold: number;
  exactSeconds: number;
  filteredSeconds: number;
  tilesSkipped: number;
  tiles: number;
  /** max over gradX, gradY of ‖filtered − exact‖ / ‖exact‖. */
  gradientError: number;
}

interface Variant {
  name: string;
  options: Partial<InternalLossOptions>;
  flopsPerMND: (r: ContrastiveLossResult) => number;
}

const fusedFlops = (r: ContrastiveLossResult) => (r.kernel?.logitsCached ? 6 : 8);
const VARIANTS: Variant[] = [
  { name: 'fused fp32', options: { algorithm: 'fused' }, flopsPerMND: fusedFlops },
  { name: 'fused fp32, S recomputed', options: { algorithm: 'fused', memoryBudget: 0 }, flopsPerMND: () => 8 },
  { name: 'fused bf16', options: { algorithm: 'fused', precision: 'bf16' }, flopsPerMND: fusedFlops },
  { name: 'naive (ours)', options: { algorithm: 'naive' }, flopsPerMND: () => 6 },
];

function check(fused: ContrastiveLossResult, other: ContrastiveLossResult, name: string, tolerance: number): string {
  const lossError = Math.abs(fused.loss - other.loss) / Math.max(1, Math.abs(other.loss));
  const gradError = Math.max(relativeError(fused.gradX, other.gradX), relativeError(fused.gradY, other.gradY));
  if (!(lossError < tolerance && gradError < 10 * tolerance))
    throw new Error(`${name} disagrees with fused fp32: loss ${lossError.toExponential(2)}, gradients ${gradError.toExponential(2)}`);
  return `${name} ${gradError.toExponential(0)}`;
}

// Without the naive kernel (too large), check what must hold anyway: a finite loss, and gradients
// orthogonal to their rows (the normalisation removes the radial part).
function checkInvariants(r: ContrastiveLossResult, x: Float32Array, dim: number): string {
  if (!Number.isFinite(r.loss) || r.loss < 0) throw new Error(`fused loss is ${r.loss}`);
  const worst = worstGradientCosine(r.gradX, x, dim);
  if (!(worst < 1e-3)) throw new Error(`fused gradient not orthogonal to its rows (cos ${worst})`);
  return `|cos(grad, x)| ≤ ${worst.toExponential(0)}`;
}

export async function benchLoss(options: LossBenchOptions): Promise<{ rows: LossBenchRow[]; filter: FilterRow[] }> {
  const { say, sizeDone } = sizedProgress(options.sizes, options.dim, options.progress);
  const rows: LossBenchRow[] = [];
  for (const M of options.sizes) {
    const N = M;
    const D = options.dim;
    // In memory the addon owns, as a user with inputs this large should hold them: read in place,
    // not copied (the peak RSS below is then the kernel's, not a copy's).
    const x = fillGaussian(allocateFloat32(M * D), options.seed);
    const y = fillGaussian(allocateFloat32(N * D), options.seed + 1);
    const base = { rows: M, cols: N, dim: D, threads: options.threads, backend: 'cpu' as const };
    const row: LossBenchRow = { rows: M, cols: N, dim: D, threads: options.threads, kernels: [], skipped: [], check: '' };

    // The naive kernel holds S (4·M·N bytes, G reuses it) and copies of U, V and Vᵀ. Skip it where
    // that would take more than half the memory available: the machine is shared, and at that size
    // it would also run for many minutes.
    const available = availableMemoryBytes();
    const naiveBytes = 4 * M * N + 4 * (M + 2 * N) * D;
    const variants = VARIANTS.filter((v) => {
      if (v.options.algorithm === 'naive' && available !== undefined && naiveBytes > 0.5 * available) {
        row.skipped.push({ name: v.name, reason: `needs ${formatBytes(naiveBytes)} (M×N logits), ${formatBytes(available)} available` });
        return false;
      }
      // Recomputing is what "fused fp32" does anyway when S does not fit the default budget.
      if (v.options.memoryBudget === 0 && 4 * M * N > 2 ** 30) return false;
      return true;
    });

    say(`M=${M}: checking`);
    const runs = new Map<string, Array<{ seconds: number; peakResidentBytes: number }>>();
    const flops = new Map<string, number>();
    const checks: string[] = [];
    let reference: ContrastiveLossResult | undefined;
    for (const v of variants) {
      const first = await measure(() => contrastiveLoss(x, y, { ...base, ...v.options }));
      flops.set(v.name, v.flopsPerMND(first.value) * M * N * D);
      runs.set(v.name, options.warmup ? [] : [first]);
      if (!reference) {
        reference = first.value;
        if (variants.every((w) => w.options.algorithm !== 'naive')) checks.push(checkInvariants(reference, x, D));
      } else {
        checks.push(check(reference, first.value, v.name, v.options.precision === 'bf16' ? 1e-2 : 1e-5));
      }
    }
    row.check = checks.join('; ');
    for (let r = 0; r < options.repeats; r++) {
      for (const v of variants) {
        if (runs.get(v.name)!.length >= options.repeats) continue;
        say(`M=${M}: ${v.name} ${r + 1}/${options.repeats}`);
        runs.get(v.name)!.push(await measure(() => contrastiveLoss(x, y, { ...base, ...v.options })));
      }
    }
    for (const v of variants) {
      const measured = runs.get(v.name)!;
      const seconds = measured.map((m) => m.seconds);
      row.kernels.push({
        name: v.name,
        seconds,
        medianSeconds: median(seconds),
        flops: flops.get(v.name)!,
        peakResidentBytes: Math.max(...measured.map((m) => m.peakResidentBytes)),
      });
    }

    if (options.peers) {
      say(`M=${M}: PyTorch naive`);
      row.torchNaive = await runPeer({ what: 'naive', rows: M, cols: N, dim: D, device: 'cpu', dtype: 'float32', repeats: options.repeats, threads: options.threads });
      // The roofline's rate does not depend on M beyond a few thousand: cap the product at 8192².
      const capped = Math.min(M, 8192);
      row.rooflineOutcomes = [];
      for (const library of ['numpy', 'torch'] as const) {
        say(`M=${M}: ${library} sgemm`);
        row.rooflineOutcomes.push(
          await runPeer({ what: 'matmul', library, rows: capped, cols: capped, dim: D, device: 'cpu', dtype: 'float32', repeats: 5, threads: options.threads }),
        );
      }
      const best = row.rooflineOutcomes.filter(isPeerResult).sort((a, b) => b.flopsPerSecond - a.flopsPerSecond)[0];
      if (best) row.roofline = { flopsPerSecond: best.flopsPerSecond, library: (best as { library?: string }).library ?? 'torch', blas: best.blas };
      // The bf16 kernels are held to the machine's bf16 product, not to sgemm (which they can exceed).
      if (variants.some((v) => v.options.precision === 'bf16')) {
        say(`M=${M}: torch bf16 matmul`);
        row.bf16RooflineOutcome = await runPeer({ what: 'matmul', library: 'torch', rows: capped, cols: capped, dim: D, device: 'cpu', dtype: 'bfloat16', repeats: 5, threads: options.threads });
        if (isPeerResult(row.bf16RooflineOutcome)) row.bf16Roofline = { flopsPerSecond: row.bf16RooflineOutcome.flopsPerSecond, library: 'torch' };
      }
    }
    rows.push(row);
    sizeDone(M);
  }

  const filter: FilterRow[] = [];
  if (options.filter !== undefined) {
    const M = options.sizes[options.sizes.length - 1]!;
    const D = options.dim;
    for (const inputs of ['random', 'trained-like'] as const) {
      say(`gradient filter ${options.filter} on ${inputs} inputs`);
      // Trained-like: half the pairs learned (positives far above the negatives), half not, at the
      // scale a trained model reaches (CLIP's clamp is 100).
      const x = gaussianMatrix(M, D, options.seed + 2);
      let y = gaussianMatrix(M, D, options.seed + 3);
      if (inputs === 'trained-like') {
        const aligned = alignedPairs(M, M, D, 0.3, options.seed + 2).y;
        y.set(aligned.subarray(0, (M / 2) * D));
      }
      const settings = { rows: M, dim: D, threads: options.threads, backend: 'cpu' as const, logScale: inputs === 'trained-like' ? Math.log(50) : undefined };
      const exactRuns: number[] = [];
      const filteredRuns: number[] = [];
      let exact: ContrastiveLossResult | undefined;
      let filtered: ContrastiveLossResult | undefined;
      for (let r = 0; r < Math.max(2, options.repeats); r++) {
        const e = await measure(() => contrastiveLoss(x, y, settings));
        const f = await measure(() => contrastiveLoss(x, y, { ...settings, gradientFilter: options.filter }));
        exactRuns.push(e.seconds);
        filteredRuns.push(f.seconds);
        exact = e.value;
        filtered = f.value;
      }
      filter.push({
        inputs,
        rows: M,
        dim: D,
        threshold: options.filter,
        exactSeconds: median(exactRuns),
        filteredSeconds: median(filteredRuns),
        tilesSkipped: filtered!.kernel!.tilesSkipped,
        tiles: filtered!.kernel!.tiles,
        gradientError: Math.max(relativeError(filtered!.gradX, exact!.gradX), relativeError(filtered!.gradY, exact!.gradY)),
      });
      y = new Float32Array(0);
    }
  }
  return { rows, filter };
}

function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const format = (cells: string[]) => cells.map((cell, c) => (c === 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [format(header), ...lines.map(format)].join('\n');
}

export function formatLossTable(result: { rows: LossBenchRow[]; filter: FilterRow[] }): string {
  const header = ['M=N', 'kernel', 'median s', 'vs PyTorch naive', 'of roofline', 'GFLOP/s done', 'peak RSS'];
  const lines: string[][] = [];
  const notes: string[] = [];
  for (const r of result.rows) {
    const torch = isPeerResult(r.torchNaive) ? r.torchNaive : undefined;
    for (const k of r.kernels) {
      const rate = k.flops / k.medianSeconds;
      // Each kernel against the product of its own precision (a bf16 kernel against sgemm reads 150%).
      const roofline = k.name.includes('bf16') ? r.bf16Roofline : r.roofline;
      lines.push([
        String(r.rows),
        k.name,
        k.medianSeconds.toFixed(3),
        torch ? `${(k.medianSeconds / torch.medianSeconds).toFixed(2)}×` : '-',
        roofline ? `${((100 * rate) / roofline.flopsPerSecond).toFixed(0)}%` : '-',
        (rate / 1e9).toFixed(0),
        formatBytes(k.peakResidentBytes),
      ]);
    }
    for (const s of r.skipped) lines.push([String(r.rows), s.name, 'skipped', '-', '-', '-', '-']);
    if (torch)
      lines.push([String(r.rows), `PyTorch ${torch.torch} naive`, torch.medianSeconds.toFixed(3), '1.00×', r.roofline ? `${((100 * torch.flopsPerSecond) / r.roofline.flopsPerSecond).toFixed(0)}%` : '-', (torch.flopsPerSecond / 1e9).toFixed(0), formatBytes(torch.peakResidentBytes ?? 0)]);
    else if (r.torchNaive) lines.push([String(r.rows), 'PyTorch naive', 'skipped', '-', '-', '-', '-']);
    if (r.torchNaive && !isPeerResult(r.torchNaive)) notes.push(`M=${r.rows}: PyTorch naive: ${r.torchNaive.error}${r.torchNaive.detail ? ` (${r.torchNaive.detail})` : ''}`);
    if (r.roofline)
      lines.push([String(r.rows), `roofline (fp32 kernels): ${r.roofline.library} sgemm`, '-', '-', '100%', (r.roofline.flopsPerSecond / 1e9).toFixed(0), '-']);
    if (r.bf16Roofline)
      lines.push([String(r.rows), `roofline (bf16 kernels): ${r.bf16Roofline.library} bf16 matmul`, '-', '-', '100%', (r.bf16Roofline.flopsPerSecond / 1e9).toFixed(0), '-']);
    else if (r.bf16RooflineOutcome && !isPeerResult(r.bf16RooflineOutcome))
      notes.push(`M=${r.rows}: bf16 roofline: ${r.bf16RooflineOutcome.error} (the bf16 kernels have no roofline here)`);
    for (const s of r.skipped) notes.push(`M=${r.rows}: ${s.name} skipped: ${s.reason}`);
    notes.push(`M=${r.rows}: checked: ${r.check}`);
    if (r.roofline?.blas) notes.push(`M=${r.rows}: roofline BLAS: ${r.roofline.blas.join(', ')}`);
  }
  let out = table(header, lines);
  if (result.filter.length) {
    const filterLines = result.filter.map((f) => [
      String(f.rows),
      f.inputs,
      String(f.threshold),
      f.exactSeconds.toFixed(3),
      f.filteredSeconds.toFixed(3),
      `${(f.exactSeconds / f.filteredSeconds).toFixed(2)}×`,
      `${((100 * f.tilesSkipped) / f.tiles).toFixed(0)}%`,
      f.gradientError.toExponential(1),
    ]);
    out += '\n\ngradient filter\n' + table(['M=N', 'inputs', 'threshold', 'exact s', 'filtered s', 'speed-up', 'tiles skipped', 'gradient error'], filterLines);
  }
  return [out, ...notes].join('\n');
}
