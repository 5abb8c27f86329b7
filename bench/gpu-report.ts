// The summary that bench/gpu-second.sh prints on the GPU machine: the benchmark table, the time and
// rate of each phase (from INFONCE_CUDA_PROFILE lines), and the predictions of
// bench/gpu-predictions.json beside what was measured.
//   node dist/bench/gpu-report.js bench.jsonl bench.err gpu-predictions.json
import { readFileSync } from 'node:fs';

import { formatCudaTable, type GpuBenchRow } from './cuda.js';
import { median } from './measure.js';
import { isPeerResult } from './peer-runner.js';

export interface PhaseTiming {
  key: string; // "bf16 M×N×D schedule"
  phase: string;
  milliseconds: number;
  teraflops?: number;
}

// Phases that are one GEMM of 2·M·N·D (the tile gradient pass does three of them).
const gemmPhases: Record<string, number> = {
  'statistics pass': 2,
  'G (S recomputed)': 2,
  'dU = G·V': 2,
  'dV += Gᵀ·U': 2,
};

/** Median time of each phase over the profiled calls of each (precision, shape, schedule). */
export function phaseTimings(profileLines: string[]): PhaseTiming[] {
  const samples = new Map<string, number[]>();
  const flops = new Map<string, number>();
  for (const line of profileLines) {
    const head = /^infonce cuda profile \((\w+), M (\d+), N (\d+), D (\d+);[^)]*?(panels of[^)]*)?\):(.*)$/.exec(line);
    if (!head) continue;
    const [, precision, m, n, d, panels, body] = head;
    const key = `${precision} ${m}×${n}×${d} ${panels ? 'panels' : 'tiles'}`;
    const gemm = 2 * Number(m) * Number(n) * Number(d);
    const tileGradient = !panels;
    const call = new Map<string, number>(); // a phase named twice in a call (once per panel) is summed
    for (const part of body!.split(';')) {
      const phase = /^\s*(.+?) ([\d.]+) ms$/.exec(part);
      if (phase) call.set(phase[1]!, (call.get(phase[1]!) ?? 0) + Number(phase[2]));
    }
    for (const [name, ms] of call) {
      const id = `${key}|${name}`;
      samples.set(id, [...(samples.get(id) ?? []), ms]);
      const gemms = gemmPhases[name] ?? (tileGradient && name === 'gradient pass' ? 6 : 0);
      if (gemms) flops.set(id, (gemms / 2) * gemm);
    }
  }
  return [...samples].map(([id, times]) => {
    const [key, phase] = id.split('|') as [string, string];
    const ms = median(times);
    const f = flops.get(id);
    return { key, phase, milliseconds: ms, ...(f ? { teraflops: f / (ms / 1e3) / 1e12 } : {}) };
  });
}

interface Prediction {
  m: number;
  dim: number;
  precision: string;
  schedule: string;
  fused_s: number;
  fused_over_naive: number | null;
  tflops: number;
}

function main(): void {
  const [benchFile, profileFile, predictionsFile] = process.argv.slice(2);
  if (!benchFile || !profileFile || !predictionsFile) throw new Error('usage: gpu-report bench.jsonl bench.err gpu-predictions.json');
  const rows = readFileSync(benchFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as GpuBenchRow);
  console.log(formatCudaTable(rows));

  console.log('\nPhases (median over the profiled calls; TFLOP/s where the phase is GEMM-shaped):');
  const timings = phaseTimings(readFileSync(profileFile, 'utf8').split('\n'));
  let last = '';
  for (const t of timings) {
    if (t.key !== last) console.log(`  ${t.key}`);
    last = t.key;
    console.log(`    ${t.phase.padEnd(22)} ${t.milliseconds.toFixed(2).padStart(10)} ms${t.teraflops ? `  ${t.teraflops.toFixed(0).padStart(5)} TFLOP/s` : ''}`);
  }

  const predictions = JSON.parse(readFileSync(predictionsFile, 'utf8')) as { runs: Prediction[]; phases_tflops: Record<string, number> };
  console.log('\nPredicted (bench/gpu-predictions.json) beside measured:');
  for (const p of predictions.runs) {
    const r = rows.find((row) => row.rows === p.m && row.dim === p.dim && row.precision === p.precision && row.schedule === p.schedule);
    const measured = r?.medianSeconds !== undefined
      ? `${r.medianSeconds.toFixed(4)} s, ${r.teraflops!.toFixed(0)} TFLOP/s${r.ratioToNaive !== undefined ? `, ${r.ratioToNaive.toFixed(2)}× naive` : ''}${isPeerResult(r.roofline) ? `, ${(100 * r.fractionOfRoofline!).toFixed(0)}% of matmul` : ''}`
      : r?.error ?? 'not run';
    console.log(`  M=${p.m} D=${p.dim} ${p.precision} ${p.schedule}: predicted ${p.fused_s} s, ${p.tflops} TFLOP/s${p.fused_over_naive ? `, ${p.fused_over_naive}× naive` : ''}; measured ${measured}`);
  }
  for (const [phase, tflops] of Object.entries(predictions.phases_tflops)) {
    const measured = timings.filter((t) => t.phase === phase && t.key.includes('panels') && t.key.includes('×1024 ') && t.teraflops);
    console.log(`  ${phase}: predicted ${tflops} TFLOP/s; measured ${measured.map((t) => `${t.teraflops!.toFixed(0)} (${t.key})`).join(', ') || 'not run'}`);
  }
}

if (process.argv[1]?.endsWith('gpu-report.js')) main();
