#!/usr/bin/env node
// The `infonce` command line: one file a command in this folder, each a thin shell over the library.
// `infonce bench` runs the benchmarks' own program (bench/cli.ts) as a separate process, so that the
// library never imports the benchmarks.
import { join } from 'node:path';

import { Command } from 'commander';

import { packageRoot, packageVersion } from '../native.js';
import { addDemoCommand } from './demo.js';
import { addEmbedCommand } from './embed.js';
import { addEvalCommand } from './eval.js';
import { addPairsCommands } from './pairs.js';
import { addSearchCommand } from './search.js';
import { addTrainCommand } from './train.js';

const version = packageVersion();
const program = new Command('infonce')
  .description('Fused contrastive-loss kernels: train and evaluate text and code embeddings.')
  .version(version)
  .addHelpText(
    'after',
    '\nStart with:\n  infonce demo                                   # the whole recipe on bundled data (~90 s)\n' +
      '  infonce pairs corpus docs/ --out pairs.jsonl && infonce train --pairs pairs.jsonl --out run\n' +
      'Each command has its own --help with examples.',
  );

addPairsCommands(program);
addTrainCommand(program);
addEmbedCommand(program);
addSearchCommand(program);
addEvalCommand(program);
addDemoCommand(program);
program.command('bench', 'time the fused loss against the naive one and PyTorch (`infonce bench --help`; also `infonce-bench`)', {
  executableFile: join(packageRoot(), 'dist', 'bench', 'cli.js'),
});

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`infonce: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
