// The sharded loss (infonce/distributed) under real MPI: `mpirun -np W` ranks of test/distributed-rank.ts,
// each checking its share against the one-process loss of the whole batch and the float64 reference.
// Uneven shards, custom targets among hard negatives (and the P N N P N N layout that broke
// sentence-transformers' gather), duplicates across ranks masked by groups, one-directional, fp32
// and bf16, Matryoshka; ranks that disagree, or one with a NaN, fail together. Skipped, with the
// reason, where there is no mpirun or the addon was built without its MPI backend.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { freshSeed } from '../bench/random.js';
import { distributedContrastiveLoss, type Communicator } from '../lib/distributed.js';
import { packageRoot } from '../lib/native.js';
import { mpirunRanks, mpiUnavailable } from './mpi.js';

const test = suite('distributed loss (MPI)');
const root = packageRoot();
const unavailable = mpiUnavailable();
if (unavailable) console.log(`distributed tests skipped: ${unavailable}`);

interface RankLine {
  rank: number;
  size: number;
  ok?: boolean;
  errors?: Record<string, number>;
  error?: string;
  code?: string;
  bytesSent?: number;
}

function ranks(testCase: Record<string, unknown> & { rows: number[] }): RankLine[] {
  const W = testCase.rows.length;
  const run = mpirunRanks<RankLine>(W, 'distributed-rank.ts', [JSON.stringify(testCase)]);
  assert.is(run.lines.length, W, `${W} ranks, ${run.lines.length} answered (exit ${run.status}): ${run.stderr.slice(-2000)}`);
  return run.lines;
}

const cases: Array<{ name: string; testCase: Record<string, unknown> & { rows: number[] }; tolerance?: 'bf16' }> = [
  { name: 'one rank: exactly contrastiveLoss', testCase: { rows: [37], cols: [41], dim: 19 } },
  { name: 'two ranks, uneven shards with hard negatives', testCase: { rows: [7, 11], cols: [9, 15], dim: 13 } },
  { name: 'three ranks, targets a permutation of global columns (hard negatives among them)', testCase: { rows: [5, 20, 9], cols: [30, 21, 9], dim: 17, shuffled: true } },
  { name: 'four ranks, groups (duplicates across ranks masked), one-directional', testCase: { rows: [40, 1, 23, 60], cols: [40, 1, 30, 61], dim: 33, groups: true, symmetric: false } },
  { name: 'three ranks, groups across ranks as positives of each other (positives: groups), targets permuted', testCase: { rows: [30, 7, 25], cols: [31, 9, 40], dim: 15, groups: true, positives: true, shuffled: true } },
  { name: 'two ranks, positives by group, one-directional, with Matryoshka 5, 11', testCase: { rows: [21, 26], cols: [21, 30], dim: 11, groups: true, positives: true, symmetric: false, matryoshka: { dims: [5, 11] } } },
  { name: 'two ranks, the P N N P N N layout: each rank 4 queries, 12 documents, positives every third', testCase: { rows: [4, 4], cols: [12, 12], dim: 9, layout: 'PNN' } },
  { name: 'two ranks, bf16 with Matryoshka 8, 32, 64', testCase: { rows: [100, 97], cols: [130, 97], dim: 64, precision: 'bf16', matryoshka: { dims: [8, 32, 64] } }, tolerance: 'bf16' },
];

for (const { name, testCase, tolerance } of cases) {
  if (unavailable) {
    test.skip(`${name} (skipped: ${unavailable})`, () => {});
    continue;
  }
  test(name, () => {
    const seed = freshSeed();
    const lines = ranks({ ...testCase, seed });
    for (const line of lines) {
      assert.ok(line.ok, `rank ${line.rank}: ${line.error} (seed ${seed})`);
      const e = line.errors!;
      const context = `rank ${line.rank} of ${line.size}, seed ${seed}: ${JSON.stringify(e)}`;
      // Against the one-process loss of the same kernel: the same sums, in another order.
      assert.ok(e.loss! < 1e-6 && e.gradLogScale! < 1e-5 && e.accuracy! < 1e-9 && e.prefixes! < 1e-5, context);
      assert.ok(e.gradX! < 1e-5 && e.gradY! < 1e-5, context);
      // Against the float64 reference: the suite's tolerances (bf16: its operands rounded alike, and
      // the suite's allowances for rounding-boundary elements and a 16-bit G, test/rounding-boundary.ts).
      const gradient = tolerance === 'bf16' ? 1e-2 : 1e-4;
      assert.ok(e.lossReference! < 1e-5 && e.gradXReference! < gradient && e.gradYReference! < gradient, context);
    }
    if (lines.length > 1) assert.ok(lines.every((l) => l.bytesSent! > 0), 'every rank sent something');
  });
}

if (unavailable) {
  test.skip(`ranks that disagree, or one with a NaN, all fail (skipped: ${unavailable})`, () => {});
} else {
  test('ranks that disagree on dim, or one with a NaN in its x, fail together with one message', () => {
    const disagree = ranks({ seed: 9, rows: [5, 6], cols: [5, 6], dim: 8, disagree: 'dim' });
    for (const line of disagree) {
      assert.is(line.code, 'ERR_MPI', JSON.stringify(line));
      assert.match(line.error!, /^the ranks disagree on dim: rank 1 has 7, rank 0 8/);
    }
    const nan = ranks({ seed: 9, rows: [5, 6, 4], cols: [5, 6, 4], dim: 8, nan: true });
    assert.is(nan[1]!.code, 'ERR_INVALID_ARG_VALUE');
    assert.match(nan[1]!.error!, /^x: expected finite values, got NaN at row 0, column 3/);
    for (const line of [nan[0]!, nan[2]!]) {
      assert.is(line.code, 'ERR_MPI');
      assert.match(line.error!, /^rank 1 refused its part of the call: x: expected finite values/);
    }
  });
}

test('bad arguments are refused by name before any collective (no rank is left waiting)', async () => {
  // Read on the calling thread, before the work that talks to the other ranks: a stand-in comm does.
  const comm = { kind: 'mpi', rank: 0, size: 1, library: 'none' } as unknown as Communicator;
  const x = new Float32Array(6);
  const cases: Array<[Record<string, unknown>, unknown, RegExp]> = [
    [{ rows: 2, dim: 3, comm: undefined }, TypeError, /comm: expected a Communicator/],
    [{ rows: 2, dim: 3, comm, positives: 'groups' }, RangeError, /positives: 'groups' takes the positives from the groups; give groups/],
    [{ rows: 2, dim: 3, comm, positives: 'all' }, RangeError, /positives/],
    [{ rows: 2, dim: 4, comm }, RangeError, /x: .*8/],
    [{ rows: 2, dim: 3, comm, groups: Int32Array.of(1, 2) }, TypeError, /groups: expected \{ rows: Int32Array, cols: Int32Array \}/],
  ];
  for (const [options, type, message] of cases) {
    const error = await distributedContrastiveLoss(x, x, options as never).then(() => undefined, (e: Error) => e);
    assert.instance(error, type as typeof Error, `${JSON.stringify(Object.keys(options))}: ${error}`);
    assert.match(error!.message, message);
  }
});

test('an addon without its MPI backend rejects, naming what to install (not a crash)', () => {
  // The addon alone in a folder, as a prebuild without MPI installs it.
  const alone = mkdtempSync(join(tmpdir(), 'infonce-no-mpi-'));
  try {
    copyFileSync(join(root, 'build', 'Release', 'infonce.node'), join(alone, 'infonce.node'));
    const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(join(alone, 'infonce.node'))});
      try { m.exports.mpiOpen(); console.log('opened'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const answer = JSON.parse(run.stdout.trim()) as { code: string; message: string };
    assert.is(answer.code, 'ERR_MPI_UNAVAILABLE');
    assert.match(answer.message, /has no MPI backend \(looked for .*infonce_mpi\.so\): install an MPI .*apt install openmpi-bin libopenmpi-dev.*mpirun -np W/);
    // A backend that cannot be loaded (as the prebuilt Open MPI one where libmpi.so.40 is missing).
    writeFileSync(join(alone, 'infonce_mpi.so'), 'not a shared object');
    const broken = JSON.parse(spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' }).stdout.trim()) as { code: string; message: string };
    assert.is(broken.code, 'ERR_MPI_UNAVAILABLE');
    assert.match(broken.message, /the MPI backend could not be loaded \(.*infonce_mpi\.so.*\): the prebuilt one needs Open MPI's libmpi\.so\.40 .*openmpi-bin.*INFONCE_BUILD_FROM_SOURCE=1 npm rebuild infonce.*mpirun -np W/);
  } finally {
    rmSync(alone, { recursive: true, force: true });
  }
});

test.run();
