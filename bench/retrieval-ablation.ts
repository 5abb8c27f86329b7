// `node dist/bench/retrieval-ablation.js`: what each retrieval change of issue 15 buys, on the
// suite's search tasks. The suite recipe (`infonce pairs suite`, 200 steps of 4,096 pairs, learning
// rate 3·10⁻³ as `infonce train` defaults, seed 1) trained three times, one change added each time:
//   A  neither masking nor identifier splitting (the trainer before them)
//   B  + false-negative masking (pairs that share a text are not each other's negatives)
//   C  + identifier splitting (compound names also give their words' tokens)
//   D  + idf pooling (the token and bigram rows' mean weighted by idf over the training texts)
// then C and D each fused with BM25 (hybrid, cross-fitted weight), beside BM25 and averaged word vectors.
// Writes bench/results/retrieval-ablation.{md,json}. Run by hand (a few minutes).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Encoder } from '../lib/encoder/encoder.js';
import { encoderEmbedder, wordVectorEmbedder } from '../lib/eval/embedders.js';
import { codeSearch, spamSearch, suiteTrainingPairs, wordnetSearch } from '../lib/eval/suite.js';
import { headlineMetric, modelName, scoreTask, type Model, type Task } from '../lib/eval/tasks.js';
import { writeFileAtomic } from '../lib/io/atomic.js';
import { train } from '../lib/train/trainer.js';
import { describeMachine } from './machine.js';

interface Variant {
  label: string;
  maskDuplicates: boolean;
  identifiers: 'split' | 'none';
  pooling: 'mean' | 'idf';
}

const variants: Variant[] = [
  { label: 'A: neither', maskDuplicates: false, identifiers: 'none', pooling: 'mean' },
  { label: 'B: + masking', maskDuplicates: true, identifiers: 'none', pooling: 'mean' },
  { label: 'C: + identifiers', maskDuplicates: true, identifiers: 'split', pooling: 'mean' },
  { label: 'D: + idf pooling', maskDuplicates: true, identifiers: 'split', pooling: 'idf' },
];
const fused = new Set(['C: + identifiers', 'D: + idf pooling']);

async function trained(variant: Variant): Promise<Encoder> {
  const out = mkdtempSync(join(tmpdir(), 'infonce-ablation-'));
  try {
    const { encoder } = await train({
      pairs: suiteTrainingPairs(),
      out,
      steps: 200,
      batchSize: 4096,
      learningRate: 3e-3,
      seed: 1,
      backend: 'cpu',
      maskDuplicates: variant.maskDuplicates,
      encoder: { identifiers: variant.identifiers, pooling: variant.pooling },
      checkpointEvery: 200,
      keepCheckpoints: 1,
      log: (m) => console.error(`  ${m}`),
    });
    return encoder;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const tasks: Task[] = [wordnetSearch(), spamSearch(), codeSearch()];
const models: Array<{ column: string; model: Model }> = [
  { column: 'BM25', model: 'bm25' },
  { column: 'word vectors', model: wordVectorEmbedder() },
];
for (const variant of variants) {
  console.error(`training ${variant.label} …`);
  const started = Date.now();
  const encoder = await trained(variant);
  console.error(`  ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const dense = encoderEmbedder(variant.label, encoder);
  models.push({ column: variant.label, model: dense });
  if (fused.has(variant.label)) models.push({ column: `hybrid: ${variant.label[0]} + BM25`, model: { hybrid: dense } });
}

const rows: Array<Record<string, string | number>> = [];
for (const task of tasks) {
  const metric = headlineMetric(task);
  const row: Record<string, string | number> = { task: task.name, metric };
  for (const { column, model } of models) {
    const scores = (await scoreTask(model, task))!;
    row[column] = scores[metric]!;
    if (scores['dense weight'] !== undefined) row[`${column} dense weight`] = scores['dense weight'];
    console.error(`${task.name}, ${modelName(model)}: ${scores[metric]!.toFixed(3)}`);
  }
  rows.push(row);
}

const columns = models.map((m) => m.column);
const table = [
  `| task | metric | ${columns.join(' | ')} |`,
  `| --- | --- | ${columns.map(() => '---:').join(' | ')} |`,
  ...rows.map((r) => `| ${r.task} | ${r.metric} | ${columns.map((c) => (r[c] as number).toFixed(3)).join(' | ')} |`),
].join('\n');
const weights = columns
  .filter((c) => c.startsWith('hybrid'))
  .map((c) => `${c}: ${rows.map((r) => `${r.task} ${(r[`${c} dense weight`] as number).toFixed(2)}`).join(', ')}`)
  .join('; ');
mkdirSync('bench/results', { recursive: true });
writeFileAtomic('bench/results/retrieval-ablation.md', `${describeMachine(2)}\n\n${table}\n\nHybrid dense weight (mean of the two cross-fitted halves): ${weights}\n`);
writeFileAtomic('bench/results/retrieval-ablation.json', JSON.stringify({ machine: describeMachine(2), rows }, null, 1) + '\n');
console.log(table);
console.log(`\nhybrid dense weight: ${weights}`);
