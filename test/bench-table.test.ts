// The loss bench's table: each kernel's "of roofline" against the product of its own precision (the
// fp32 kernels against sgemm, the bf16 kernel against the machine's bf16 matmul), each roofline named.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { formatLossTable, type LossBenchRow } from '../bench/loss.js';

const test = suite('bench table');

const row = (bf16?: number): LossBenchRow => ({
  rows: 1024,
  cols: 1024,
  dim: 768,
  threads: 2,
  kernels: [
    { name: 'fused fp32', medianSeconds: 1, seconds: [1], flops: 100e9, peakResidentBytes: 2 ** 20 },
    { name: 'fused bf16', medianSeconds: 0.5, seconds: [0.5], flops: 100e9, peakResidentBytes: 2 ** 20 },
  ],
  skipped: [],
  check: 'fused bf16 1e-3',
  roofline: { flopsPerSecond: 125e9, library: 'numpy' },
  ...(bf16 ? { bf16Roofline: { flopsPerSecond: bf16, library: 'torch' } } : { bf16RooflineOutcome: { error: 'not installed' } }),
});
const cell = (table: string, kernel: string) => table.split('\n').find((l) => l.includes(kernel))!.split(/\s{2,}/)[4];

test('a bf16 kernel is measured against the bf16 matmul, an fp32 one against sgemm', () => {
  const table = formatLossTable({ rows: [row(400e9)], filter: [] });
  assert.is(cell(table, 'fused fp32'), '80%');
  assert.is(cell(table, 'fused bf16'), '50%');
  assert.match(table, /roofline \(fp32 kernels\): numpy sgemm/);
  assert.match(table, /roofline \(bf16 kernels\): torch bf16 matmul/);
});

test('without a bf16 matmul to compare with, the bf16 kernel has no roofline (never sgemm\'s), and the table says why', () => {
  const table = formatLossTable({ rows: [row()], filter: [] });
  assert.is(cell(table, 'fused bf16'), '-');
  assert.match(table, /bf16 roofline: not installed/);
});

test.run();
