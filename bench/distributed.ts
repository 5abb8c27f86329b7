// `node dist/bench/distributed.js [--rows 4096] [--dim 256] [--ranks 1,2,4] [--steps 3]`: the sharded
// loss's communication, measured and modelled. For each W it runs `mpirun -np W` of this file (its
// --rank mode), each rank holding rows/W queries and rows/W documents, and reports per rank and step
// the bytes the communicator counted beside the formula, and the time per step. Then the cost model:
// for W = 8 … 1,024 and N up to 4M, D = 768 in bf16, the bytes each design sends per rank and step
// (ours: gather Y, reduce-scatter dY, 2 numbers a column; OpenCLIP's gather of both sides with their
// gradients; Inf-CL's ring) and where communication overtakes an H100's compute at 25 and 100 GB/s.
// Writes bench/results/distributed.{md,json}. As root, sets OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM) for mpirun.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { distributedContrastiveLoss, mpiCommunicator } from '../lib/distributed.js';
import { writeFileAtomic } from '../lib/io/atomic.js';
import { backendInfo } from '../lib/info.js';
import { describeMachine } from './machine.js';
import { median } from './measure.js';
import { gaussianMatrix } from './random.js';
import { bytesPerRank } from './sharded-loss-bytes.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '4096' },
    dim: { type: 'string', default: '256' },
    ranks: { type: 'string', default: '1,2,4' },
    steps: { type: 'string', default: '3' },
    rank: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results' },
  },
});
const N = Number(values.rows);
const D = Number(values.dim);
const steps = Number(values.steps);

async function rankMain() {
  const comm = await mpiCommunicator();
  const rows = Math.floor(N / comm.size) + (comm.rank < N % comm.size ? 1 : 0);
  const x = gaussianMatrix(rows, D, 11 + comm.rank);
  const y = gaussianMatrix(rows, D, 1011 + comm.rank);
  const times: number[] = [];
  const bytes: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const before = comm.bytesSent();
    const start = process.hrtime.bigint();
    await distributedContrastiveLoss(x, y, { rows, cols: rows, dim: D, comm });
    if (s === 0) continue; // warm-up
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
    bytes.push(comm.bytesSent() - before);
  }
  console.log(JSON.stringify({ rank: comm.rank, size: comm.size, rows, seconds: median(times), bytes: median(bytes) }));
  comm.close();
}

function driverMain() {
  const env = { ...process.env, ...(process.getuid?.() === 0 ? { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } : {}) };
  const self = fileURLToPath(import.meta.url);
  const measured = values.ranks!.split(',').map(Number).map((W) => {
    process.stderr.write(`  mpirun -np ${W} (N = ${N}, D = ${D}) …\n`);
    const run = spawnSync('mpirun', ['--oversubscribe', '-np', String(W), process.execPath, self, '--rank', '--rows', String(N), '--dim', String(D), '--steps', String(steps)], { encoding: 'utf8', env });
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { rank: number; seconds: number; bytes: number });
    if (lines.length !== W) throw new Error(`mpirun -np ${W} failed (exit ${run.status}): ${run.stderr.slice(-1500)}`);
    const formula = bytesPerRank(W, N, D, 4).ours;
    return { W, seconds: Math.max(...lines.map((l) => l.seconds)), bytes: Math.max(...lines.map((l) => l.bytes)), formula };
  });

  // The model: H100 dense bf16 at a sustained 600 TFLOP/s (of ~990 peak) for the fused loss's 8·(N/W)·N·D FLOPs a rank.
  const flops = 600e12;
  const crossover = (bandwidth: number) => (flops * (2 + 4)) / (8 * bandwidth);
  const model: Array<Record<string, number | string>> = [];
  for (const W of [8, 64, 256, 1024])
    for (const n of [65_536, 262_144, 1_048_576, 4_194_304]) {
      if (n / W < 256) continue;
      const b = bytesPerRank(W, n, 768, 2);
      const compute = (8 * (n / W) * n * 768) / flops;
      model.push({
        W,
        N: n,
        oursGB: b.ours / 1e9,
        openClipGB: b.openClip / 1e9,
        infClGB: b.infCl / 1e9,
        computeSeconds: compute,
        comm25: b.ours / 25e9,
        comm100: b.ours / 100e9,
      });
    }
  const lines = [
    '# The sharded loss: bytes per rank and step, measured and modelled',
    '',
    `${describeMachine(backendInfo().cpu.threads)} (each rank); ${new Date().toISOString().slice(0, 10)}; \`node dist/bench/distributed.js --rows ${N} --dim ${D} --ranks ${values.ranks} --steps ${steps}\` (the ranks share this machine's cores: the times are not a scaling measurement).`,
    '',
    `Measured, N = ${N} pairs in all, D = ${D}, fp32, each rank N/W queries and N/W documents (median of ${steps} steps after one warm-up; the slowest rank):`,
    '',
    '| W | seconds a step | bytes sent a rank (counted) | formula | counted / formula |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...measured.map((m) => `| ${m.W} | ${m.seconds.toFixed(3)} | ${m.bytes.toFixed(0)} | ${m.formula.toFixed(0)} | ${m.formula > 0 ? (m.bytes / m.formula).toFixed(3) : '–'} |`),
    '',
    'The formula: (W−1)/W·N·D·4 for the gather of Y, the same for the reduce-scatter of dY, 2·(W−1)/W·N·(4 + 8) for the',
    "column statistics' all-reduce (a max and a sum a column) and (W−1)/W·N·4 for the gather of the rows' targets; the shape and",
    'option exchange and the scalars add a few hundred bytes.',
    '',
    'Modelled, D = 768, bf16 embeddings (fp32 gradients), a step of the loss alone; compute at 600 TFLOP/s a GPU (an H100\'s',
    'dense bf16, sustained) for 8·(N/W)·N·D FLOPs a rank; communication at 25 GB/s (a rank\'s share of InfiniBand between',
    'nodes) and 100 GB/s (NVLink within one):',
    '',
    '| W | N | ours, GB a rank | OpenCLIP gather-both | Inf-CL ring | compute s | comm s at 25 GB/s | comm s at 100 GB/s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...model.map(
      (m) =>
        `| ${m.W} | ${Number(m.N).toLocaleString('en-US')} | ${Number(m.oursGB).toFixed(2)} | ${Number(m.openClipGB).toFixed(2)} | ${Number(m.infClGB).toFixed(2)} | ` +
        `${Number(m.computeSeconds).toPrecision(2)} | ${Number(m.comm25).toPrecision(2)} | ${Number(m.comm100).toPrecision(2)} |`,
    ),
    '',
    `Communication overtakes compute when a rank's N/W rows fall below F·(b + 4)/(8·B) (ours sends about N·D·(b + 4) bytes`,
    `a rank and computes 8·(N/W)·N·D FLOPs): ${crossover(25e9).toFixed(0)} rows at 25 GB/s, ${crossover(100e9).toFixed(0)} at 100 GB/s, whatever W and D.`,
    '',
  ];
  console.log(lines.join('\n'));
  mkdirSync(values.out!, { recursive: true });
  writeFileAtomic(join(values.out!, 'distributed.md'), lines.join('\n'));
  writeFileAtomic(join(values.out!, 'distributed.json'), `${JSON.stringify({ date: new Date().toISOString(), N, D, steps, measured, model }, null, 2)}\n`);
}

if (values.rank) await rankMain();
else driverMain();
