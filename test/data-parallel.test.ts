// Data-parallel training under real MPI (`mpirun -np W` ranks of test/train-rank.ts, or of the CLI):
// W ranks train what one process trains on the same global batches, every rank ends with the same
// parameters, a rank killed mid-run takes the job down in bounded time with a message naming it,
// and the run resumed from rank 0's checkpoint ends bit-identical to one never interrupted. Skipped,
// with the reason, where there is no mpirun or no MPI backend (as the distributed loss's tests).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import type { Communicator } from '../lib/distributed.js';
import { Encoder } from '../lib/encoder/registry.js';
import { packageRoot } from '../lib/native.js';
import { epochShare, shardOf } from '../lib/train/data-parallel.js';
import { permutation } from '../lib/util/random.js';
import { train } from '../lib/train/trainer.js';
import { rejection } from './caught.js';
import { mpirunEnv, mpirunRanks, mpiUnavailable } from './mpi.js';
import { trainingPairs } from './training-pairs.js';

const test = suite('data-parallel training (MPI)');
const root = packageRoot();
const work = mkdtempSync(join(tmpdir(), 'infonce-data-parallel-'));
const unavailable = mpiUnavailable();
if (unavailable) console.log(`data-parallel tests skipped: ${unavailable}`);
const env = mpirunEnv;

interface RankLine {
  rank: number;
  ok?: boolean;
  losses?: number[];
  checksum?: string;
  error?: string;
  code?: string;
}

// The options every run here shares with the one-process run it is compared with (train-rank.ts).
const shared = { batchSize: 32, learningRate: 5e-3, checkpointEvery: 5, encoder: { init: 'random' as const, width: 16, dim: 16, buckets: 4096 }, threads: 1 };

const launch = (W: number, options: Record<string, unknown>) => mpirunRanks<RankLine>(W, 'train-rank.ts', [JSON.stringify(options)]);

function ranAll(W: number, options: Record<string, unknown>): RankLine[] {
  const run = launch(W, options);
  assert.is(run.lines.filter((l) => l.ok).length, W, `${W} ranks, ${run.lines.length} answered (exit ${run.status}): ${JSON.stringify(run.lines)} ${run.stderr.slice(-2000)}`);
  return run.lines;
}

async function largestDifference(a: string, b: string): Promise<number> {
  const [x, y] = [await Encoder.load(a), await Encoder.load(b)];
  let largest = 0;
  x.parameters().forEach((p, i) => {
    const q = y.parameters()[i]!;
    assert.is(q.name, p.name);
    for (let k = 0; k < p.data.length; k++) largest = Math.max(largest, Math.abs(p.data[k]! - q.data[k]!));
  });
  return largest;
}

const when = (name: string, body: () => unknown) => (unavailable ? test.skip(`${name} (skipped: ${unavailable})`, () => {}) : test(name, body as () => Promise<void>));

test('a batch is split into contiguous shards that differ by at most one row and cover it once', () => {
  for (const [batch, W] of [[32, 2], [32, 3], [7, 7], [4096, 5], [10, 4]] as const) {
    const sizes = Array.from({ length: W }, (_, r) => shardOf(batch, r, W));
    sizes.forEach((s, r) => assert.is(s.first, r === 0 ? 0 : sizes[r - 1]!.last));
    assert.is(sizes[W - 1]!.last, batch);
    const lengths = sizes.map((s) => s.last - s.first);
    assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 1, `${batch} over ${W}: ${lengths}`);
  }
});

test("an epoch's shares: each rank's pairs are its rows of every batch, together the epoch's batches once each", () => {
  const order = permutation(103, 5);
  const [steps, batch] = [4, 25]; // 100 of the 103 pairs make the epoch's batches
  const shares = [0, 1, 2].map((r) => epochShare(order, steps, batch, r, 3));
  assert.equal(shares.map((s) => s.length), [32, 32, 36]); // rows 8, 8, 9 of each batch
  const all = shares.flatMap((s) => Array.from(s)).sort((a, b) => a - b);
  assert.equal(all, Array.from(order.subarray(0, 100)).sort((a, b) => a - b));
  assert.equal(Array.from(shares[1]!.subarray(0, 8)), Array.from(order.subarray(8, 16)));
  assert.equal(Array.from(shares[2]!.subarray(9, 18)), Array.from(order.subarray(41, 50))); // batch 2's last 9
});

test('with a communicator: the CUDA loss and a batch smaller than the ranks are refused by name', async () => {
  // Refused before any collective: a stand-in communicator is enough.
  const comm = { kind: 'mpi', rank: 0, size: 4, library: 'none', bytesSent: () => 0, allGather: async () => [], broadcast: async (a: Float32Array) => a, barrier: async () => {}, close: () => {} } as unknown as Communicator;
  const base = { ...shared, pairs: trainingPairs(), out: join(work, 'refused'), steps: 2, comm };
  for (const [extra, pattern] of [
    [{ backend: 'cuda' as const }, /comm: the sharded loss runs on the CPU/],
    [{ batchSize: 3 }, /batchSize: each of the 4 ranks needs at least one pair a step, got a batch of 3/],
  ] as const) {
    const error = await rejection(train({ ...base, ...extra }));
    assert.instance(error, RangeError);
    assert.match(error!.message, pattern);
  }
});

when("the communicator's all-gather, broadcast and barrier at 2 and 3 ranks; calls the ranks make differently fail on every rank", () => {
  for (const W of [2, 3]) {
    const run = mpirunRanks<{ rank: number; failures: string[] }>(W, 'collectives-rank.ts');
    assert.is(run.lines.length, W, `${W} ranks, ${run.lines.length} answered (exit ${run.status}): ${run.stderr.slice(-2000)}`);
    for (const line of run.lines) assert.equal(line.failures, [], `W = ${W}, rank ${line.rank}`);
  }
});

when('mpirun -np 2: 20 steps equal one process on the same global batches (losses and parameters to 1e-5), every rank alike', async () => {
  const out = join(work, 'two');
  const lines = ranAll(2, { out, steps: 20, batchSize: shared.batchSize });
  assert.is(lines[1]!.checksum, lines[0]!.checksum, 'the ranks ended with other parameters');
  const one = await train({ ...shared, pairs: trainingPairs(), out: join(work, 'one'), steps: 20 });
  one.steps.forEach((s, k) => assert.ok(Math.abs(s.loss - lines[0]!.losses![k]!) < 1e-5 * Math.max(1, s.loss), `step ${k + 1}: ${lines[0]!.losses![k]} vs ${s.loss}`));
  const difference = await largestDifference(join(out, 'model'), join(work, 'one', 'model'));
  console.log(`      -np 2 vs one process after 20 steps: parameters differ by at most ${difference.toExponential(1)}`);
  assert.ok(difference < 1e-5, `parameters differ by ${difference}`);
  // Rank 0 alone wrote out: one log of 20 steps, the checkpoints, the model.
  assert.is(readFileSync(join(out, 'train.jsonl'), 'utf8').trim().split('\n').length, 20);
});

when('mpirun -np 3, uneven shards of 32 with Matryoshka prefixes, each rank encoding in micro-batches of 5: equal to one process', async () => {
  const out = join(work, 'three');
  const lines = ranAll(3, { out, steps: 8, batchSize: shared.batchSize, matryoshka: [4, 8], microBatch: 5 });
  assert.ok(lines.every((l) => l.checksum === lines[0]!.checksum));
  await train({ ...shared, pairs: trainingPairs(), out: join(work, 'one-matryoshka'), steps: 8, matryoshka: [4, 8] });
  const difference = await largestDifference(join(out, 'model'), join(work, 'one-matryoshka', 'model'));
  assert.ok(difference < 1e-5, `parameters differ by ${difference}`);
});

when('mpirun -np 2 with positives by group (twins across ranks are positives of each other): equal to one process', async () => {
  const out = join(work, 'positives');
  ranAll(2, { out, steps: 8, batchSize: shared.batchSize, positives: 'groups' });
  await train({ ...shared, pairs: trainingPairs(), out: join(work, 'one-positives'), steps: 8, positives: 'groups' });
  const difference = await largestDifference(join(out, 'model'), join(work, 'one-positives', 'model'));
  assert.ok(difference < 1e-5, `parameters differ by ${difference}`);
});

when('ranks that made different initial weights all start from rank 0\'s (broadcast), and end alike', () => {
  const lines = ranAll(3, { out: join(work, 'seeded'), steps: 3, batchSize: shared.batchSize, seedByRank: true });
  assert.ok(lines.every((l) => l.checksum === lines[0]!.checksum), JSON.stringify(lines.map((l) => l.checksum)));
});

when('a rank killed mid-run ends the job in bounded time naming it; the resumed run ends bit-identical to an uninterrupted one', async () => {
  const whole = join(work, 'whole');
  ranAll(2, { out: whole, steps: 20, batchSize: shared.batchSize });
  const killed = join(work, 'killed');
  // Rank 1 dies after step 8; the checkpoint of step 5 is the last one.
  const run = launch(2, { out: killed, steps: 20, batchSize: shared.batchSize, killAtStep: { rank: 1, step: 8 } });
  assert.is.not(run.status, 0);
  console.log(`      a rank SIGKILLed after step 8: mpirun ended the job after ${run.seconds.toFixed(1)} s (exit ${run.status})`);
  assert.ok(run.seconds < 60, `the job took ${run.seconds} s to end after a rank died`);
  assert.match(run.stdout + run.stderr, /rank 1\b/, 'the message does not name the rank that died');
  assert.equal(run.lines, [], 'a rank carried on');
  assert.equal(readdirSync(join(killed, 'checkpoints')).filter((f) => f.startsWith('step-')), ['step-0000005']);
  ranAll(2, { out: killed, steps: 20, batchSize: shared.batchSize, resume: true });
  assert.ok(readFileSync(join(killed, 'model', 'model.safetensors')).equals(readFileSync(join(whole, 'model', 'model.safetensors'))), 'the resumed model differs');
  // The step log: the steps after the checkpoint redone, the same losses as the uninterrupted run.
  const losses = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);
  assert.equal(losses(join(killed, 'train.jsonl')), losses(join(whole, 'train.jsonl')));
});

when('ranks given other options all fail with one message naming the rank', () => {
  const out = join(work, 'disagree');
  const pairsFile = join(work, 'pairs.jsonl');
  writeFileSync(pairsFile, trainingPairs().map((p) => JSON.stringify(p)).join('\n') + '\n');
  // Rank 1 asks for 9 steps, rank 0 for 8: an Open MPI app context per rank.
  const cli = (steps: number) => [process.execPath, '--import', 'tsx', join(root, 'lib', 'cli', 'index.ts'), 'train', '--pairs', pairsFile, '--out', out, '--steps', String(steps), '--batch', '32', '--dim', '16', '--width', '16', '--init', 'random'];
  const run = spawnSync('mpirun', ['--oversubscribe', '-np', '1', ...cli(8), ':', '-np', '1', ...cli(9)], { encoding: 'utf8', env, cwd: root, timeout: 120_000 });
  assert.is.not(run.status, 0);
  assert.match(run.stderr, /the ranks disagree on the training options: rank 1 has .*"steps":9.*rank 0 .*"steps":8/);
});

when('`mpirun -np 2 infonce train`: started by mpirun, it trains data-parallel (each rank reading its pairs from the file), rank 0 alone speaking and writing; one process trains the same model', async () => {
  const out = join(work, 'cli');
  const pairsFile = join(work, 'pairs-cli.jsonl');
  writeFileSync(pairsFile, trainingPairs().map((p) => JSON.stringify(p)).join('\n') + '\n');
  const args = ['train', '--pairs', pairsFile, '--out', out, '--steps', '6', '--batch', '32', '--dim', '16', '--width', '16', '--init', 'random', '--checkpoint-every', '3'];
  const run = spawnSync('mpirun', ['--oversubscribe', '-np', '2', process.execPath, '--import', 'tsx', join(root, 'lib', 'cli', 'index.ts'), ...args], { encoding: 'utf8', env, cwd: root, timeout: 120_000 });
  assert.is(run.status, 0, run.stderr.slice(-2000));
  const output = run.stdout + run.stderr;
  assert.match(output, /data-parallel across 2 ranks \(Open MPI/);
  assert.match(output, /96 pairs in .*pairs-cli\.jsonl: each rank reads only those it encodes, an epoch at a time/);
  assert.is(output.split('pairs in').length - 1, 1, 'more than one rank spoke');
  assert.ok(existsSync(join(out, 'model', 'model.safetensors')));
  assert.equal(readdirSync(join(out, 'checkpoints')).filter((f) => f.startsWith('step-')), ['step-0000003', 'step-0000006']);
  // The same command in one process (the pairs read whole, idf pooling over them): the same model.
  const one = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib', 'cli', 'index.ts'), ...args.map((a) => (a === out ? join(work, 'cli-one') : a))], { encoding: 'utf8', env, cwd: root, timeout: 120_000 });
  assert.is(one.status, 0, one.stderr.slice(-2000));
  const difference = await largestDifference(join(out, 'model'), join(work, 'cli-one', 'model'));
  assert.ok(difference < 1e-5, `parameters differ by ${difference}`);
});

when('srun without an MPI plug-in (the tasks cannot join one world): the CLI refuses instead of training W runs into one --out', () => {
  const pairsFile = join(work, 'pairs-srun.jsonl');
  writeFileSync(pairsFile, trainingPairs().map((p) => JSON.stringify(p)).join('\n') + '\n');
  // What srun --mpi=none gives a task: its step's task count, and no PMI for MPI to join.
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib', 'cli', 'index.ts'), 'train', '--pairs', pairsFile, '--out', join(work, 'srun'), '--steps', '2', '--batch', '32', '--dim', '16', '--width', '16', '--init', 'random'], {
    encoding: 'utf8',
    env: { ...env, SLURM_STEP_NUM_TASKS: '2', SLURM_PROCID: '0' },
    cwd: root,
    timeout: 120_000,
  });
  assert.is.not(run.status, 0);
  assert.match(run.stderr, /the launcher started 2 tasks but MPI sees a world of 1: .*srun --mpi=pmix/);
  assert.not.ok(existsSync(join(work, 'srun', 'train.jsonl')), 'it trained');
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
