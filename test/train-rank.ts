// One rank of the data-parallel training tests (test/data-parallel.test.ts), started by mpirun:
// trains on the pairs of test/training-pairs.ts with the options in argv[2] across the MPI world,
// (killAtStep: SIGKILLs one rank after a step), and prints one JSON line: its rank, the step records' losses, a checksum of its final
// parameters, or the error it stopped with.
import { mpiCommunicator } from '../lib/distributed.js';
import { BagEncoder } from '../lib/encoder/bag.js';
import { train } from '../lib/train/trainer.js';
import { parameterChecksum } from '../lib/train/data-parallel.js';
import { trainingPairs } from './training-pairs.js';

const options = JSON.parse(process.argv[2]!) as { out: string; steps: number; batchSize: number; resume?: boolean; stopAfter?: number; matryoshka?: number[]; microBatch?: number; positives?: 'groups'; seedByRank?: boolean; killAtStep?: { rank: number; step: number } };
const comm = await mpiCommunicator();
try {
  const { encoder, steps } = await train({
    pairs: trainingPairs(),
    out: options.out,
    steps: options.steps,
    batchSize: options.batchSize,
    learningRate: 5e-3,
    checkpointEvery: 5,
    checksumEvery: 3,
    encoder: { init: 'random', width: 16, dim: 16, buckets: 4096 },
    threads: 1,
    comm,
    ...(options.resume ? { resume: true } : {}),
    ...(options.stopAfter ? { stopAfter: options.stopAfter } : {}),
    ...(options.matryoshka ? { matryoshka: options.matryoshka } : {}),
    ...(options.microBatch ? { microBatch: options.microBatch } : {}),
    ...(options.positives ? { positives: options.positives } : {}),
    // Each rank's own initial weights: the run must start every rank from rank 0's.
    ...(options.seedByRank ? { initialEncoder: await BagEncoder.create({ init: 'random', width: 16, dim: 16, buckets: 4096, seed: 100 + comm.rank }) } : {}),
    // A rank dying as a node does: no checkpoint, no goodbye, its peers in the middle of a step.
    onStep: (record) => {
      if (options.killAtStep?.rank === comm.rank && record.step === options.killAtStep.step) process.kill(process.pid, 'SIGKILL');
    },
  });
  const logScale = Float32Array.of(0);
  console.log(JSON.stringify({ rank: comm.rank, size: comm.size, ok: true, losses: steps.map((s) => s.loss), checksum: parameterChecksum(encoder.parameters(), logScale) }));
  comm.close();
} catch (error) {
  const e = error as Error & { code?: string };
  console.log(JSON.stringify({ rank: comm.rank, size: comm.size, error: e.message, code: e.code }));
  process.exitCode = 1;
}
