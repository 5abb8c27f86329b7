// `node dist/bench/retrieval-ablation.js`: what each retrieval change of issue 15 buys, on the
// suite's search tasks. The suite recipe (`infonce pairs suite`, 200 steps of 4,096 pairs, learning
// rate 3·10⁻³ as `infonce train` defaults, seed 1) trained three times, one change added each time:
//   A  neither masking nor identifier splitting (the trainer before them)
//   B  + false-negative masking (pairs that share a text are not each other's negatives)
//   C  + identifier splitting (compound names also give their words' tokens)
//   D  + idf pooling (the token and bigram rows' mean weighted by idf over the training texts)
// then C and D each fused with BM25 (hybrid, cross-fitted weight), beside BM25 and averaged word vectors.
// Writes bench/results/retrieval-ablation.{md,json}. Run by hand; it prints each training's seconds
// (`--seeds 1,2,3`: three trainings of each variant).
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

// `--seeds 1,2,3`: each variant trained once a seed (the data order and initialisation); the table
// gives the mean, ± the standard deviation over seeds when there are several. Default: seed 1.
const seedsArgument = process.argv.indexOf('--seeds');
const seeds = (seedsArgument > 0 ? process.argv[seedsArgument + 1] ?? '' : '1').split(',').map(Number);
if (seeds.some((seed) => !Number.isSafeInteger(seed) || seed < 1)) throw new RangeError(`--seeds: expected positive integers, got ${process.argv[seedsArgument + 1]}`);

async function trained(variant: Variant, seed: number): Promise<Encoder> {
  const out = mkdtempSync(join(tmpdir(), 'infonce-ablation-'));
  try {
    const { encoder } = await train({
      pairs: suiteTrainingPairs(),
      out,
      steps: 200,
      batchSize: 4096,
      learningRate: 3e-3,
      seed,
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
// scores[column][task] = one value a seed (the baselines: one value).
const scores = new Map<string, Map<string, number[]>>();
const record = (column: string, task: string, value: number) => {
  if (!scores.has(column)) scores.set(column, new Map());
  const byTask = scores.get(column)!;
  byTask.set(task, [...(byTask.get(task) ?? []), value]);
};
async function scoreModel(column: string, model: Model) {
  for (const task of tasks) {
    const result = (await scoreTask(model, task))!;
    const metric = headlineMetric(task);
    record(column, task.name, result[metric]!);
    if (result['dense weight'] !== undefined) record(`${column} dense weight`, task.name, result['dense weight']);
    console.error(`${task.name}, ${modelName(model)}: ${result[metric]!.toFixed(3)}`);
  }
}
await scoreModel('BM25', 'bm25');
await scoreModel('word vectors', wordVectorEmbedder());
for (const seed of seeds)
  for (const variant of variants) {
    console.error(`training ${variant.label}, seed ${seed} …`);
    const started = Date.now();
    const encoder = await trained(variant, seed);
    console.error(`  ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const dense = encoderEmbedder(variant.label, encoder);
    await scoreModel(variant.label, dense);
    if (fused.has(variant.label)) await scoreModel(`hybrid: ${variant.label[0]} + BM25`, { hybrid: dense });
  }

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const sd = (values: number[]) => Math.sqrt(values.reduce((a, v) => a + (v - mean(values)) ** 2, 0) / Math.max(1, values.length - 1));
const shown = (values: number[]) => (values.length > 1 ? `${mean(values).toFixed(3)} ± ${sd(values).toFixed(3)}` : values[0]!.toFixed(3));
const columns = ['BM25', 'word vectors', ...variants.map((v) => v.label), ...variants.filter((v) => fused.has(v.label)).map((v) => `hybrid: ${v.label[0]} + BM25`)];
const rows = tasks.map((task) => ({
  task: task.name,
  metric: headlineMetric(task),
  ...Object.fromEntries([...scores].map(([column, byTask]) => [column, byTask.get(task.name)!])),
}));
const table = [
  `| task | metric | ${columns.join(' | ')} |`,
  `| --- | --- | ${columns.map(() => '---:').join(' | ')} |`,
  ...rows.map((r) => `| ${r.task} | ${r.metric} | ${columns.map((c) => shown((r as Record<string, unknown>)[c] as number[])).join(' | ')} |`),
].join('\n');
const weights = columns
  .filter((c) => c.startsWith('hybrid'))
  .map((c) => `${c}: ${rows.map((r) => `${r.task} ${mean((r as Record<string, unknown>)[`${c} dense weight`] as number[]).toFixed(2)}`).join(', ')}`)
  .join('; ');
const seedsLine = `Seeds ${seeds.join(', ')}${seeds.length > 1 ? ' (mean ± standard deviation over seeds)' : ''}.`;
mkdirSync('bench/results', { recursive: true });
writeFileAtomic('bench/results/retrieval-ablation.md', `${describeMachine(2)}\n\n${seedsLine}\n\n${table}\n\nHybrid dense weight (mean of the two cross-fitted halves${seeds.length > 1 ? ', and over seeds' : ''}): ${weights}\n`);
writeFileAtomic('bench/results/retrieval-ablation.json', JSON.stringify({ machine: describeMachine(2), seeds, rows }, null, 1) + '\n');
console.log(seedsLine);
console.log(table);
console.log(`\nhybrid dense weight: ${weights}`);
