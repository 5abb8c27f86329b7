// One run of the experiment, in a process of its own (so that its peak memory is its own): train the
// bag encoder at one batch size and seed, score it on the held-back search tasks, print one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encoderEmbedder } from '../../lib/eval/embedders.js';
import { codeSearch, spamSearch, wordnetSearch } from '../../lib/eval/suite.js';
import { scoreTask } from '../../lib/eval/tasks.js';
import { train } from '../../lib/train/trainer.js';
import { experimentPairs } from './pairs.js';
import { learningRateFor, stepsFor } from './schedule.js';

export interface RunSpec {
  batchSize: number;
  seed: number;
  epochs: number;
  /** The equal-steps variant: this many steps at every size (more pairs seen at a bigger batch); absent, epochs decide. */
  fixedSteps?: number;
  /** Pairs that share a text are masked from each other's negatives (the trainer's default). */
  maskDuplicates: boolean;
  threads?: number;
}

export interface RunResult extends RunSpec {
  pairs: number;
  steps: number;
  learningRate: number;
  /** The scored tasks' headline metrics (nDCG@10 for search, MRR for code search). */
  scores: Record<string, number>;
  /** The bag encoder's tokenisation (identifier splitting is the default since it was added). */
  identifiers: string;
  finalLoss: number;
  finalTemperature: number;
  trainSeconds: number;
  /** The whole process's high-water mark (word vectors, pairs, encoder, loss). */
  peakRssBytes: number;
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export async function runOne(spec: RunSpec): Promise<RunResult> {
  const { pairs } = experimentPairs();
  const steps = spec.fixedSteps ?? stepsFor(pairs.length, spec.batchSize, spec.epochs);
  const learningRate = learningRateFor(spec.batchSize);
  const out = mkdtempSync(join(tmpdir(), 'infonce-batch-size-'));
  try {
    const started = process.hrtime.bigint();
    const { encoder, steps: log } = await train({
      pairs,
      out,
      steps,
      batchSize: spec.batchSize,
      learningRate,
      seed: spec.seed,
      checkpointEvery: steps,
      keepCheckpoints: 1,
      backend: 'cpu',
      maskDuplicates: spec.maskDuplicates,
      // The pooling its recorded results used: idf pooling became the trainer's default after them.
      encoder: { pooling: 'mean' },
      ...(spec.threads ? { threads: spec.threads } : {}),
    });
    const trainSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const model = encoderEmbedder('trained', encoder);
    const scores: Record<string, number> = {};
    for (const task of [wordnetSearch(), spamSearch(), codeSearch()]) {
      const s = (await scoreTask(model, task))!;
      scores[task.name] = task.kind === 'code' ? s.mrr! : s['ndcg@10']!;
    }
    const last = log[log.length - 1]!;
    return {
      ...spec,
      pairs: pairs.length,
      steps,
      learningRate,
      scores,
      identifiers: String((encoder as { config?: { identifiers?: string } }).config?.identifiers ?? 'none'),
      finalLoss: last.loss,
      finalTemperature: last.temperature,
      trainSeconds,
      peakRssBytes: peakRss(),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// As a child of the orchestrator: the spec as argv[2], the result as the last line of stdout.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as RunSpec;
  runOne(spec).then(
    (result) => process.stdout.write(JSON.stringify(result) + '\n'),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
