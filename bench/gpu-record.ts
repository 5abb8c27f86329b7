// The record of a GPU run, from what bench/gpu-first.sh (and gpu-second.sh) left in $OUT:
// gpu-<date>.json, to be committed as bench/results/gpu-<date>.json. Every field is read from a log
// or left null where its step did not run (never guessed):
//   device, driver, commit (.device/commit, written by bench/gpu-pack.sh), matmul_bf16_tflops (the
//   bench's torch.matmul), runs[{ m, dim, precision, schedule, loop, asked, fused_s, naive_s, tflops }],
//   bit_identical, smoke_passed, racecheck_errors, tests_passed, tests_failed, steps[{ name, status, seconds }].
//   node dist/bench/gpu-record.js OUT_DIR
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { GpuBenchRow } from './cuda.js';
import { isPeerResult } from './peer-runner.js';

export interface GpuRun {
  m: number;
  dim: number;
  precision: string;
  schedule: string;
  /** The main loop that ran, as the call reported it ('tiles', 'sm80', 'sm90a', 'sm100a'); null when it failed before. */
  loop: string | null;
  /** The main loop the run asked for (INFONCE_CUDA_WGMMA=1: 'sm90a'). */
  asked: string;
  fused_s: number | null;
  naive_s: number | null;
  tflops: number | null;
  /** Why the run gave no time (the bench's error), where it did not. */
  error?: string;
}

export interface GpuRecord {
  date: string;
  device: string | null;
  driver: string | null;
  compute_capability: string | null;
  commit: string | null;
  matmul_bf16_tflops: number | null;
  runs: GpuRun[];
  bit_identical: boolean | null;
  smoke_passed: boolean | null;
  racecheck_errors: number | null;
  tests_passed: number | null;
  tests_failed: number | null;
  steps: Array<{ name: string; status: number; seconds: number }>;
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

function benchRows(file: string | undefined): GpuBenchRow[] {
  return (file ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as GpuBenchRow);
}

/** The record of the run whose logs are in `out`; `commit` from the pack when it was carried. */
export function gpuRecord(out: string, commit: string | null, date = new Date()): GpuRecord {
  const smi = read(join(out, 'nvidia-smi.txt'))?.trim().split('\n')[1]?.split(',').map((c) => c.trim());
  const rows = [
    ...benchRows(read(join(out, 'bench.jsonl'))).map((r) => ({ r, wgmma: false })),
    ...benchRows(read(join(out, 'bench-wgmma.jsonl'))).map((r) => ({ r, wgmma: true })),
  ];
  const runs = rows.map(({ r, wgmma }) => ({
    m: r.rows,
    dim: r.dim,
    precision: r.precision,
    schedule: r.schedule,
    loop: r.mainLoop ?? null,
    asked: r.schedule === 'tiles' ? 'tiles' : wgmma ? 'sm90a' : 'sm80',
    fused_s: r.medianSeconds ?? null,
    naive_s: r.naive && isPeerResult(r.naive) ? r.naive.medianSeconds : null,
    tflops: r.teraflops ?? null,
    ...(r.error ? { error: r.error } : {}),
  }));
  const timed = rows.filter(({ r }) => r.medianSeconds !== undefined);
  const matmul = rows.map(({ r }) => r.roofline).find((p) => p && isPeerResult(p));
  const smoke = read(join(out, 'smoke.log'));
  const smokeLines = (smoke ?? '').split('\n').filter((l) => /^(ok {2}|FAIL) /.test(l));
  const racecheck = read(join(out, 'racecheck.log'));
  const tests = read(join(out, 'test.log'))?.replace(/\x1b\[[0-9;]*m/g, '');
  const total = tests ? /Total:\s+(\d+)/.exec(tests) : null;
  const passed = tests ? /Passed:\s+(\d+)/.exec(tests) : null;
  const steps = (read(join(out, 'steps.txt')) ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('|'))
    .map(([name, status, seconds]) => ({ name: name!, status: Number(status), seconds: Number(seconds) }));
  return {
    date: date.toISOString().slice(0, 10),
    device: smi?.[0] ?? null,
    driver: smi?.[2] ?? null,
    compute_capability: smi?.[4] ?? null,
    commit,
    matmul_bf16_tflops: matmul && isPeerResult(matmul) ? matmul.flopsPerSecond / 1e12 : null,
    runs,
    // The smoke runs every case twice and the bench's first timed call against its warm-up.
    bit_identical:
      smokeLines.length || timed.length
        ? smokeLines.every((l) => l.includes(', bit-identical twice')) && timed.every(({ r }) => r.bitIdentical === true)
        : null,
    smoke_passed: smokeLines.length ? smokeLines.every((l) => l.startsWith('ok')) : null,
    racecheck_errors: racecheck ? Number(/RACECHECK SUMMARY: (\d+)/.exec(racecheck)?.[1] ?? /ERROR SUMMARY: (\d+)/.exec(racecheck)?.[1] ?? NaN) : null,
    tests_passed: passed ? Number(passed[1]) : null,
    tests_failed: total && passed ? Number(total[1]) - Number(passed[1]) : null,
    steps,
  };
}

if (process.argv[1] && /gpu-record\.(js|ts)$/.test(process.argv[1])) {
  const out = process.argv[2] ?? process.env.OUT ?? '/tmp/infonce-gpu';
  const commit = read('.device/commit')?.trim() ?? null;
  const record = gpuRecord(out, commit);
  const file = join(out, `gpu-${record.date}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  console.log(`${file}: ${record.device ?? 'no GPU'}, ${record.runs.length} runs, smoke ${record.smoke_passed}, bit-identical ${record.bit_identical}`);
}
