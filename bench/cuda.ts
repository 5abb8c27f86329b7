// `infonce bench --device cuda`: the fused loss on the GPU (inputs and gradients resident as
// DeviceTensors, the training-loop case) against PyTorch's naive loss on the same GPU and a
// torch.matmul of the same shape as the roofline. Each size's inputs are checked before timing.
import { toDevice } from '../lib/device-tensor.js';
import { contrastiveLoss } from '../lib/loss.js';
import type { CudaMainLoop, DeviceTensor, GpuSchedule, Precision } from '../lib/types.js';
import { worstGradientCosine } from './invariants.js';
import { median, sizedProgress } from './measure.js';
import { isPeerResult, runPeer, type PeerOutcome } from './peer-runner.js';
import { gaussianMatrix } from './random.js';

export interface GpuBenchOptions {
  sizes: number[];
  dim: number;
  precisions: Precision[];
  /** Gradient schedules to time: 'tiles' (the default kernel), 'panels' (experimental; 16-bit only). */
  schedules: GpuSchedule[];
  repeats: number;
  seed: number;
  peers: boolean;
  progress?: (message: string) => void;
}

export interface GpuBenchRow {
  rows: number;
  cols: number;
  dim: number;
  precision: Precision;
  schedule: GpuSchedule;
  /** The main loop that ran (the result's mainLoop): what the times measure. */
  mainLoop?: CudaMainLoop;
  medianSeconds?: number;
  /** The first timed call's loss and dL/dx equal the warm-up call's, bit for bit. */
  bitIdentical?: boolean;
  seconds?: number[];
  /** 8·M·N·D / time. */
  teraflops?: number;
  error?: string;
  loss?: number;
  naive?: PeerOutcome;
  /** Our time / naive time. */
  ratioToNaive?: number;
  /** torch.matmul (bf16) of M×D by D×N, capped at 32768² outputs: the roofline rate, FLOP/s. */
  roofline?: PeerOutcome;
  /** Our effective rate / the roofline's. */
  fractionOfRoofline?: number;
  check?: string;
}

const dtypeOf = (p: Precision) => (p === 'bf16' ? 'bfloat16' : p === 'fp16' ? 'float16' : 'float32');

export async function benchCuda(options: GpuBenchOptions): Promise<GpuBenchRow[]> {
  const { say, sizeDone } = sizedProgress(options.sizes, options.dim, options.progress);
  const rows: GpuBenchRow[] = [];
  for (const M of options.sizes) {
    const N = M;
    const D = options.dim;
    say(`M=${M}: generating inputs`);
    const x = gaussianMatrix(M, D, options.seed);
    const y = gaussianMatrix(N, D, options.seed + 1);
    let roofline: PeerOutcome | undefined;
    if (options.peers) {
      say(`M=${M}: torch.matmul roofline`);
      const capped = Math.min(M, 32768);
      roofline = await runPeer({ what: 'matmul', rows: capped, cols: capped, dim: D, device: 'cuda', dtype: 'bfloat16', repeats: 5, threads: 0 });
    }
    const losses: Record<string, number> = {};
    for (const precision of options.precisions) {
      let naive: PeerOutcome | undefined;
      for (const schedule of options.schedules) {
        if (schedule === 'panels' && precision !== 'bf16' && precision !== 'fp16') continue; // 16-bit only
        const row: GpuBenchRow = { rows: M, cols: N, dim: D, precision, schedule };
        if (roofline) row.roofline = roofline;
        let tx: DeviceTensor | undefined;
        let ty: DeviceTensor | undefined;
        try {
          tx = toDevice(x, { rows: M, cols: D, dtype: dtypeOf(precision) });
          ty = toDevice(y, { rows: N, cols: D, dtype: dtypeOf(precision) });
          const settings = { rows: M, cols: N, dim: D, backend: 'cuda' as const, precision, gpuSchedule: schedule };
          say(`M=${M} ${precision} ${schedule}: warm-up and check`);
          const first = await contrastiveLoss(tx, ty, settings);
          const firstGradient = await (first.gradX as DeviceTensor).toFloat32Array();
          const cos = worstGradientCosine(firstGradient, x, D);
          (first.gradX as DeviceTensor).dispose();
          (first.gradY as DeviceTensor).dispose();
          if (!Number.isFinite(first.loss) || !(cos < 2e-2)) throw new Error(`check failed: loss ${first.loss}, |cos(grad, x)| ${cos}`);
          row.loss = first.loss;
          row.mainLoop = first.mainLoop;
          row.check = `|cos(grad, x)| ≤ ${cos.toExponential(1)}`;
          const tilesLoss = losses[`${precision}/tiles`];
          if (schedule === 'panels' && tilesLoss !== undefined)
            row.check += `; loss within ${(Math.abs(first.loss - tilesLoss) / tilesLoss).toExponential(1)} of tiles`;
          losses[`${precision}/${schedule}`] = first.loss;
          const times: number[] = [];
          for (let r = 0; r < options.repeats; r++) {
            say(`M=${M} ${precision} ${schedule}: ${r + 1}/${options.repeats}`);
            const start = process.hrtime.bigint();
            const result = await contrastiveLoss(tx, ty, settings);
            times.push(Number(process.hrtime.bigint() - start) / 1e9);
            if (r === 0) {
              const again = await (result.gradX as DeviceTensor).toFloat32Array();
              row.bitIdentical = result.loss === first.loss && Buffer.from(again.buffer).equals(Buffer.from(firstGradient.buffer));
            }
            (result.gradX as DeviceTensor).dispose();
            (result.gradY as DeviceTensor).dispose();
          }
          row.seconds = times;
          row.medianSeconds = median(times);
          row.teraflops = (8 * M * N * D) / row.medianSeconds / 1e12;
          if (isPeerResult(roofline)) row.fractionOfRoofline = (row.teraflops * 1e12) / roofline.flopsPerSecond;
        } catch (error) {
          row.error = error instanceof Error ? error.message : String(error);
        } finally {
          tx?.dispose();
          ty?.dispose();
        }
        if (options.peers && precision !== 'tf32') {
          if (!naive) {
            say(`M=${M} ${precision}: torch naive`);
            naive = await runPeer({ what: 'naive', rows: M, cols: N, dim: D, device: 'cuda', dtype: dtypeOf(precision), repeats: 3, threads: 0 });
          }
          row.naive = naive;
          if (isPeerResult(naive) && row.medianSeconds !== undefined) row.ratioToNaive = row.medianSeconds / naive.medianSeconds;
        }
        rows.push(row);
      }
    }
    // The 16-bit and the 3xTF32 losses of the same inputs must agree to bf16 precision.
    const fp32 = losses['fp32/tiles'];
    if (fp32 !== undefined)
      for (const row of rows.filter((r) => r.rows === M && r.loss !== undefined && r.precision !== 'fp32'))
        row.check += `; loss within ${(Math.abs(row.loss! - fp32) / fp32).toExponential(1)} of fp32`;
    sizeDone(M);
  }
  return rows;
}

export function formatCudaTable(rows: GpuBenchRow[]): string {
  const header = ['M=N', 'D', 'precision', 'schedule', 'fused s', 'TFLOP/s', 'torch naive s', 'fused/naive', 'roofline TFLOP/s', 'of roofline'];
  const lines = rows.map((r) => [
    String(r.rows),
    String(r.dim),
    r.precision,
    r.schedule + (r.bitIdentical === false ? ' (NOT bit-identical)' : ''),
    r.medianSeconds !== undefined ? r.medianSeconds.toFixed(4) : `failed: ${r.error}`,
    r.teraflops !== undefined ? r.teraflops.toFixed(1) : '-',
    isPeerResult(r.naive) ? r.naive.medianSeconds.toFixed(4) : r.naive ? r.naive.error : '-',
    r.ratioToNaive !== undefined ? r.ratioToNaive.toFixed(2) + '×' : '-',
    isPeerResult(r.roofline) ? (r.roofline.flopsPerSecond / 1e12).toFixed(0) : r.roofline ? r.roofline.error : '-',
    r.fractionOfRoofline !== undefined ? (100 * r.fractionOfRoofline).toFixed(0) + '%' : '-',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const format = (cells: string[]) => cells.map((cell, c) => cell.padStart(widths[c]!)).join('  ');
  return [format(header), ...lines.map(format)].join('\n');
}
