// `node dist/bench/data-parallel.js [--pairs 8192] [--batch 2048] [--dim 256] [--ranks 1,2,4] [--steps 4]`:
// data-parallel training's communication. For each W it runs `mpirun -np W` of this file (its --rank
// mode), which trains the bag encoder on synthetic pairs with `train({ comm })`, and reports per rank
// and step: the bytes the communicator counted, the sharded loss's share of them (its formula, which
// bench/distributed.ts matched to 0.03%), the rest (the gradients' touched rows, gathered, and the
// checks), beside what an all-reduce of the whole tables would send; and the time a step. Writes
// bench/results/data-parallel.{md,json}. The ranks share this machine's cores: the times are not a
// scaling measurement. As root, sets OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM) for mpirun.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { mpiCommunicator } from '../lib/distributed.js';
import { writeFileAtomic } from '../lib/io/atomic.js';
import { backendInfo } from '../lib/info.js';
import type { Pair } from '../lib/pairs/pair.js';
import { train } from '../lib/train/trainer.js';
import { generator } from '../lib/util/random.js';
import { bytesPerRank } from './sharded-loss-bytes.js';
import { describeMachine } from './machine.js';
import { median } from './measure.js';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '8192' },
    batch: { type: 'string', default: '2048' },
    dim: { type: 'string', default: '256' },
    ranks: { type: 'string', default: '1,2,4' },
    steps: { type: 'string', default: '4' },
    rank: { type: 'boolean', default: false },
    work: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const pairCount = Number(values.pairs);
const batch = Number(values.batch);
const D = Number(values.dim);
const steps = Number(values.steps);
const WIDTH = 100;
const BUCKETS = 1 << 17;

// Pairs of pseudo-words (a Zipf-like draw from 20,000 of them): a query of 8 and a document of 40
// that shares 4 of the query's, so that the tables' touched rows are those of real text, roughly.
function syntheticPairs(count: number): Pair[] {
  const random = generator(7);
  const word = (i: number) => `w${i.toString(36)}`;
  const draw = () => word(Math.floor(20_000 ** random()) - 1);
  return Array.from({ length: count }, () => {
    const query = Array.from({ length: 8 }, draw);
    const positive = [...query.slice(0, 4), ...Array.from({ length: 36 }, draw)];
    return { query: query.join(' '), positive: positive.join(' ') };
  });
}

async function rankMain() {
  const comm = await mpiCommunicator();
  const seconds: number[] = [];
  const bytes: number[] = [];
  let before = 0;
  let began = 0n;
  const { encoder } = await train({
    pairs: syntheticPairs(pairCount),
    out: values.work!,
    overwrite: true,
    steps: steps + 1,
    batchSize: batch,
    checkpointEvery: 1_000_000,
    encoder: { init: 'random', dim: D, width: WIDTH, buckets: BUCKETS },
    comm,
    onStep: (record) => {
      // Step 1 is the warm-up; each record ends a step, so the next one's count starts here.
      if (record.step > 1) {
        seconds.push(Number(process.hrtime.bigint() - began) / 1e9);
        bytes.push(comm.bytesSent() - before);
      }
      before = comm.bytesSent();
      began = process.hrtime.bigint();
    },
  });
  const tableBytes = encoder.parameters().reduce((sum, p) => sum + 4 * p.data.length, 0);
  console.log(JSON.stringify({ rank: comm.rank, size: comm.size, seconds: median(seconds), bytes: median(bytes), tableBytes }));
  comm.close();
}

function driverMain() {
  const env = { ...process.env, ...(process.getuid?.() === 0 ? { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } : {}) };
  const self = fileURLToPath(import.meta.url);
  const work = mkdtempSync(join(tmpdir(), 'infonce-data-parallel-bench-'));
  try {
    const measured = values.ranks!.split(',').map(Number).map((W) => {
      process.stderr.write(`  mpirun -np ${W} (${pairCount} pairs, batch ${batch}, D = ${D}) …\n`);
      const args = ['--rank', '--pairs', String(pairCount), '--batch', String(batch), '--dim', String(D), '--steps', String(steps), '--work', join(work, `w${W}`)];
      const run = spawnSync('mpirun', ['--oversubscribe', '-np', String(W), process.execPath, self, ...args], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
      const lines = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { rank: number; seconds: number; bytes: number; tableBytes: number });
      if (lines.length !== W) throw new Error(`mpirun -np ${W} failed (exit ${run.status}): ${run.stderr.slice(-1500)}`);
      const bytes = Math.max(...lines.map((l) => l.bytes));
      // The loss sees a batch of `batch` pairs, one document each (no hard negatives here).
      const loss = bytesPerRank(W, batch, D, 4).ours;
      const tableBytes = lines[0]!.tableBytes;
      return { W, seconds: Math.max(...lines.map((l) => l.seconds)), bytes, loss, rest: bytes - loss, allReduce: (2 * (W - 1) * tableBytes) / W, tableBytes };
    });
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    const lines = [
      '# Data-parallel training: bytes per rank and step',
      '',
      `${describeMachine(backendInfo().cpu.threads)} (each rank); ${new Date().toISOString().slice(0, 10)}; \`node dist/bench/data-parallel.js --pairs ${pairCount} --batch ${batch} --dim ${D} --ranks ${values.ranks} --steps ${steps}\`.`,
      '',
      `The bag encoder (width ${WIDTH}, ${BUCKETS.toLocaleString('en-US')} bigram buckets, D = ${D}: ${mib(measured[0]!.tableBytes)} MiB of parameters) on ${pairCount.toLocaleString('en-US')} synthetic pairs`,
      `(8-word queries, 40-word documents, pseudo-words drawn Zipf-like from 20,000), a global batch of ${batch.toLocaleString('en-US')}; median of ${steps} steps after one`,
      'warm-up, the largest rank. "Gradients and checks" is what the communicator counted beyond the sharded loss\'s formula: the',
      'touched rows of the tables with their row numbers (all-gathered), the projection whole, the stop flag and the checksums.',
      'The ranks share 2 cores: the seconds are not a scaling measurement.',
      '',
      '| W | seconds a step | bytes a rank (counted) | the loss (formula) | gradients and checks | an all-reduce of the parameters | gradients / all-reduce |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...measured.map(
        (m) =>
          `| ${m.W} | ${m.seconds.toFixed(3)} | ${mib(m.bytes)} MiB | ${mib(m.loss)} MiB | ${mib(m.rest)} MiB | ${mib(m.allReduce)} MiB | ${m.allReduce > 0 ? (m.rest / m.allReduce).toFixed(3) : '–'} |`,
      ),
      '',
    ];
    console.log(lines.join('\n'));
    mkdirSync(values.out!, { recursive: true });
    writeFileAtomic(join(values.out!, 'data-parallel.md'), lines.join('\n'));
    writeFileAtomic(join(values.out!, 'data-parallel.json'), `${JSON.stringify({ date: new Date().toISOString(), pairCount, batch, D, steps, measured }, null, 2)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (values.rank) await rankMain();
else driverMain();
