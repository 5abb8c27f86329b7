#!/usr/bin/env node
// The `infonce` command line. Each subcommand is a thin shell over a library function.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command, InvalidArgumentError } from 'commander';

import { benchLoss, formatLossTable } from '../bench/loss.js';
import { describeMachine } from '../bench/machine.js';
import { freshSeed } from '../bench/random.js';
import { backendInfo } from './info.js';
import { packageRoot } from './native.js';

function positiveInteger(name: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${text}'`);
    return n;
  };
}

function integerList(name: string) {
  return (text: string): number[] => text.split(',').map((part) => positiveInteger(name)(part.trim()));
}

/** Progress on stderr: one rewritten line on a terminal, nothing when piped (stdout stays clean). */
function progressLine(): { update: (message: string) => void; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  return {
    update: (message) => process.stderr.write(`\r\x1b[K${message}`),
    done: () => process.stderr.write('\r\x1b[K'),
  };
}

const version = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
const program = new Command('infonce')
  .description('Fused contrastive-loss kernels: train and evaluate text and code embeddings.')
  .version(version);

program
  .command('bench')
  .description('time the fused loss against the naive one (forward + backward, same inputs, alternating)')
  .option('--sizes <list>', 'comma-separated batch sizes M (= N)', integerList('--sizes'), [1024, 2048, 4096])
  .option('--dim <D>', 'embedding dimension', positiveInteger('--dim'), 768)
  .option('--repeats <n>', 'timed repetitions per kernel and size (the median is reported)', positiveInteger('--repeats'), 3)
  .option('--threads <n>', 'worker threads (default: all hardware threads)', positiveInteger('--threads'))
  .option('--no-warmup', 'time the first call too (for sizes too large to run twice)')
  .option('--seed <n>', 'seed of the random inputs (default: a fresh one, printed)', positiveInteger('--seed'))
  .option('--json', 'print one JSON object per size instead of the table')
  .action(async (options) => {
    const threads: number = options.threads ?? backendInfo().cpu.threads;
    const seed: number = options.seed ?? freshSeed();
    const progress = progressLine();
    const rows = await benchLoss({
      sizes: options.sizes,
      dim: options.dim,
      repeats: options.repeats,
      warmup: options.warmup,
      threads,
      seed,
      progress: progress.update,
    });
    progress.done();
    if (options.json) {
      for (const row of rows) console.log(JSON.stringify({ machine: describeMachine(threads), seed, ...row }));
    } else {
      console.log(`machine: ${describeMachine(threads)}; seed ${seed}`);
      console.log(formatLossTable(rows));
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`infonce: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
