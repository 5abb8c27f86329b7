// `node dist/bench/matryoshka.js [--rows 4096] [--dim 768] [--dims 64,128,256,768] [--repeats 5]`:
// the fused Matryoshka loss against what a user does without it (one loss call per prefix, on copies
// of the prefix columns) and against one plain call at the full dim, on the CPU, in one process.
// Checked against the float64 reference at a small size before any timing.
//
// Prediction (cost model of native/cpu/fused_loss.cpp): the fused Matryoshka call recomputes S in
// pass 2 (8·M²·D of products: one product along the depth serves every prefix, so keeping k tiles of
// S would cost more memory traffic than it saves); a plain call keeps S when memoryBudget allows (6·M²·d)
// and recomputes it otherwise (8·M²·d). So, from the products alone, fused / separate = 8·D/(6·Σd) =
// 0.84 against the separate calls as they run by default, 8·D/(8·Σd) = 0.63 against separate calls
// that recompute, at 64/128/256/768. The epilogues (about 4 exponentials a logit per prefix) are the
// same count both ways, plus, fused, a copy of S and the combination of G per prefix.
// Writes bench/results/matryoshka.{md,json}.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { writeFileAtomic } from '../lib/io/atomic.js';
import { contrastiveLoss } from '../lib/loss.js';
import { referenceContrastiveLoss, relativeError } from '../lib/reference.js';
import type { ContrastiveLossOptions } from '../lib/types.js';
import { backendInfo } from '../lib/info.js';
import { describeMachine } from './machine.js';
import { median } from './measure.js';
import { alignedPairs, freshSeed } from './random.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '4096' },
    dim: { type: 'string', default: '768' },
    dims: { type: 'string', default: '64,128,256,768' },
    repeats: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const M = Number(values.rows);
const D = Number(values.dim);
const dims = values.dims!.split(',').map(Number);
const repeats = Number(values.repeats);

function prefixColumns(m: Float32Array, rows: number, d: number): Float32Array {
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) out.set(m.subarray(r * D, r * D + d), r * d);
  return out;
}

// The fused call against the reference and against the separate calls, at a size the reference
// can afford: a timing of wrong numbers is worth nothing.
async function check(seed: number) {
  const m = 67;
  const small = dims.map((d) => Math.max(1, Math.round((d * 40) / D)));
  const unique = [...new Set(small)];
  const { x, y } = alignedPairs(m, m, 40, 0.5, seed);
  const options: ContrastiveLossOptions = { rows: m, dim: 40, matryoshka: { dims: unique }, backend: 'cpu' };
  const got = await contrastiveLoss(x, y, options);
  const want = referenceContrastiveLoss(x, y, options);
  const errors = [Math.abs(got.loss - want.loss) / Math.max(1, want.loss), relativeError(got.gradX, want.gradX), relativeError(got.gradY, want.gradY)];
  if (!(errors[0]! < 1e-5 && errors[1]! < 1e-4 && errors[2]! < 1e-4))
    throw new Error(`the fused Matryoshka loss disagrees with the reference (seed ${seed}): ${errors.join(', ')}`);
}

async function main() {
  const seed = freshSeed();
  await check(seed);
  const { x, y } = alignedPairs(M, M, D, 0.5, seed + 1);
  const prefixes = dims.map((d) => ({ d, x: prefixColumns(x, M, d), y: prefixColumns(y, M, d) }));
  const base = { rows: M, dim: D, backend: 'cpu' as const };
  const runs = {
    fused: async () => (await contrastiveLoss(x, y, { ...base, matryoshka: { dims } })).loss,
    separate: async () => {
      let loss = 0;
      for (const p of prefixes) loss += (await contrastiveLoss(p.x, p.y, { ...base, dim: p.d })).loss;
      return loss;
    },
    separateRecomputing: async () => {
      let loss = 0;
      for (const p of prefixes) loss += (await contrastiveLoss(p.x, p.y, { ...base, dim: p.d, memoryBudget: 0 })).loss;
      return loss;
    },
    plain: async () => (await contrastiveLoss(x, y, base)).loss,
  };
  const times: Record<keyof typeof runs, number[]> = { fused: [], separate: [], separateRecomputing: [], plain: [] };
  const losses: Partial<Record<keyof typeof runs, number>> = {};
  await runs.fused(); // warm the thread pool and the allocator
  const started = Date.now();
  for (let r = 0; r < repeats; r++) {
    // Interleaved, so that a slow stretch of a shared machine falls on all three alike.
    for (const name of Object.keys(runs) as Array<keyof typeof runs>) {
      const start = process.hrtime.bigint();
      losses[name] = await runs[name]();
      times[name].push(Number(process.hrtime.bigint() - start) / 1e9);
    }
    process.stderr.write(`  repeat ${r + 1}/${repeats} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  const fused = median(times.fused), separate = median(times.separate), plain = median(times.plain);
  const separateRecomputing = median(times.separateRecomputing);
  const sumDims = dims.reduce((a, b) => a + b, 0);
  const result = {
    date: new Date().toISOString(),
    machine: describeMachine(backendInfo().cpu.threads),
    rows: M,
    dim: D,
    dims,
    repeats,
    seconds: { fused, separate, separateRecomputing, plain },
    ratios: { fusedOverSeparate: fused / separate, fusedOverSeparateRecomputing: fused / separateRecomputing, fusedOverPlain: fused / plain },
    predicted: { fusedOverSeparate: (8 * D) / (6 * sumDims), fusedOverSeparateRecomputing: D / sumDims },
    lossAgreement: Math.abs(losses.fused! - losses.separate!) / losses.separate!,
  };
  const lines = [
    `# Matryoshka: one fused call against one call per prefix`,
    '',
    `${result.machine}; ${result.date.slice(0, 10)}; \`node dist/bench/matryoshka.js --rows ${M} --dim ${D} --dims ${dims.join(',')} --repeats ${repeats}\`; median of ${repeats}, interleaved.`,
    '',
    `| M = N | D | prefixes | fused Matryoshka | ${dims.length} separate calls (default) | ${dims.length} separate calls, memoryBudget 0 | one plain call at D | fused / separate | fused / separate, memoryBudget 0 | fused / plain |`,
    '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${M} | ${D} | ${dims.join(', ')} | ${fused.toFixed(3)} s | ${separate.toFixed(3)} s | ${separateRecomputing.toFixed(3)} s | ${plain.toFixed(3)} s | ` +
      `${(fused / separate).toFixed(2)} | ${(fused / separateRecomputing).toFixed(2)} | ${(fused / plain).toFixed(2)} |`,
    '',
    `Predicted from the products alone: ${result.predicted.fusedOverSeparate.toFixed(2)} of the separate calls as they run by default (S kept), ` +
      `${result.predicted.fusedOverSeparateRecomputing.toFixed(2)} of separate calls that recompute S. The losses agree to ${result.lossAgreement.toExponential(1)} (relative).`,
    '',
  ];
  console.log(lines.join('\n'));
  mkdirSync(values.out!, { recursive: true });
  writeFileAtomic(join(values.out!, 'matryoshka.md'), lines.join('\n'));
  writeFileAtomic(join(values.out!, 'matryoshka.json'), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
