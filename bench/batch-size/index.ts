#!/usr/bin/env node
// `npm run bench:batch-size`: the cpt paper's batch-size result measured with this package's trainer.
// Trains the bag encoder at each batch size and seed (a process each), scores it on held-back search
// tasks, and writes results.json (after every run, atomically: an interrupted experiment continues
// where it stopped when run again), report.md and batch-size.svg into --out. Run by hand, not in tests.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command } from 'commander';

import { integerList, positiveInteger } from '../../lib/cli/options.js';
import { backendInfo } from '../../lib/info.js';
import { writeFileAtomic } from '../../lib/io/atomic.js';
import { describeMachine } from '../machine.js';
import { timeGpuSteps } from './gpu-steps.js';
import { duration, progressNote } from '../../lib/util/eta.js';
import { experimentPairs } from './pairs.js';
import { markdownTable, plot, summarise } from './report.js';
import type { RunResult, RunSpec } from './run-one.js';
import { ANCHOR_BATCH, ANCHOR_LEARNING_RATE } from './schedule.js';

const program = new Command('batch-size')
  .description('quality against batch size at equal epochs: train, score on held-back search tasks, report')
  .option('--sizes <list>', 'batch sizes', integerList('--sizes'), [256, 1024, 4096, 16384, 65536])
  .option('--seeds <n>', 'seeds per size', positiveInteger('--seeds'), 3)
  .option('--epochs <n>', 'passes over the pairs, equal for every size', positiveInteger('--epochs'), 4)
  .option('--steps <n>', 'the equal-steps variant: this many steps at every size instead (a bigger batch then sees more pairs)', positiveInteger('--steps'))
  .option('--no-mask-duplicates', "let pairs that share a text be each other's negatives (the ablation)")
  .option('--threads <n>', 'CPU threads for the loss (default: all)', positiveInteger('--threads'))
  .option('--out <dir>', 'results, report.md and batch-size.svg', 'bench/results/batch-size')
  .option('--report-only', 'rewrite the report from results.json without training')
  .addHelpText('after', '\nExample:\n  npm run build:ts && node dist/bench/batch-size/index.js --seeds 3 --epochs 4');

function runChild(spec: RunSpec): Promise<RunResult> {
  const script = fileURLToPath(new URL('./run-one.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`run ${JSON.stringify(spec)} ended with ${signal ?? `exit code ${code}`}`));
      const last = stdout.trim().split('\n').pop() ?? '';
      resolve(JSON.parse(last) as RunResult);
    });
  });
}

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{ sizes: number[]; seeds: number; epochs: number; steps?: number; maskDuplicates: boolean; threads?: number; out: string; reportOnly?: boolean }>();
  mkdirSync(o.out, { recursive: true });
  const resultsFile = join(o.out, 'results.json');
  const saved = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { results: RunResult[] }) : undefined;
  const results: RunResult[] = saved?.results ?? [];
  const { pairs, sources } = experimentPairs();
  const machine = describeMachine(o.threads ?? backendInfo().cpu.threads);
  const header = {
    machine,
    pairs: pairs.length,
    sources,
    epochs: o.epochs,
    rule: `learning rate ${ANCHOR_LEARNING_RATE} × √(batch / ${ANCHOR_BATCH}); warm-up 5% of steps; θ learned from temperature 0.07`,
  };
  // A result belongs to this invocation's variant: equal epochs (and these), or equal steps (these).
  const sameSchedule = (r: RunSpec) => (o.steps ? r.fixedSteps === o.steps : r.fixedSteps === undefined && r.epochs === o.epochs);
  const schedule = o.steps ? `${o.steps} steps at every size` : `${o.epochs} epochs`;
  if (!o.reportOnly) {
    const planned: RunSpec[] = [];
    // Seeds outermost: after the first seed every size has a result.
    for (let seed = 1; seed <= o.seeds; seed++)
      for (const batchSize of o.sizes) planned.push({ batchSize, seed, epochs: o.epochs, ...(o.steps ? { fixedSteps: o.steps } : {}), maskDuplicates: o.maskDuplicates, ...(o.threads ? { threads: o.threads } : {}) });
    const same = (r: RunSpec, p: RunSpec) =>
      r.batchSize === p.batchSize && r.seed === p.seed && sameSchedule(r) && r.maskDuplicates === p.maskDuplicates;
    const todo = planned.filter((p) => !results.some((r) => same(r, p)));
    console.error(`${pairs.length} pairs; ${todo.length} of ${planned.length} runs to do (${planned.length - todo.length} in ${resultsFile}); ${machine}`);
    const started = Date.now();
    for (const [i, spec] of todo.entries()) {
      console.error(`[${i + 1}/${todo.length}] batch ${spec.batchSize}, seed ${spec.seed}, ${spec.fixedSteps ? `${spec.fixedSteps} steps` : `${spec.epochs} epochs`} …`);
      const result = await runChild(spec);
      results.push(result);
      writeFileAtomic(resultsFile, JSON.stringify({ ...header, results }, null, 1) + '\n');
      const elapsed = (Date.now() - started) / 1000;
      console.error(
        `  ${Object.entries(result.scores).map(([t, v]) => `${t}: ${v.toFixed(3)}`).join(', ')}; ` +
          `${result.trainSeconds.toFixed(0)} s, peak ${(result.peakRssBytes / 1024 ** 3).toFixed(2)} GiB; ` +
          `${todo.length - i - 1 ? progressNote(i + 1, todo.length, started) : `all ${todo.length} done in ${duration(elapsed)}`}`,
      );
    }
  }
  if (results.length === 0) throw new Error(`no results in ${resultsFile}: run without --report-only first`);
  const mine = results.filter((r) => sameSchedule(r) && r.maskDuplicates === o.maskDuplicates);
  const summaries = summarise(mine);
  const title =
    `Quality against batch size (${mine[0]!.pairs.toLocaleString('en-US')} pairs, ${schedule}, bag encoder D = 256` +
    `${o.maskDuplicates ? '' : ', duplicates not masked'})`;
  // Each variant keeps its own report beside the main one.
  const suffix = `${o.steps ? `-steps-${o.steps}` : ''}${o.maskDuplicates ? '' : '-unmasked'}`;
  writeFileAtomic(join(o.out, `batch-size${suffix}.svg`), plot(summaries, title, o.steps ? 'equal steps' : 'equal epochs') + '\n');
  const gpu = o.steps ? 'see report.md' : await timeGpuSteps(o.sizes);
  const table = markdownTable(summaries);
  writeFileAtomic(
    join(o.out, `report${suffix}.md`),
    `# ${title}\n\nMachine: ${machine}. Pairs: ${Object.entries(sources).map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`).join('; ')}.\n` +
      `Rule: ${header.rule}. Scores: mean ± sample standard deviation over seeds.\n\n${table}\n\n![quality against batch size](batch-size${suffix}.svg)\n\n## GPU\n\n${gpu}\n`,
  );
  console.log(table);
  console.log(`\nGPU: ${gpu}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
