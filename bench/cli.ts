#!/usr/bin/env node
// `infonce-bench` (also run as `infonce bench`): the fused loss timed against the naive one and the
// BLAS roofline on the CPU, or against PyTorch and torch.matmul on the GPU. Benchmarks depend on the
// library, never the other way round.
import { join } from 'node:path';

import { Command, InvalidArgumentError, Option } from 'commander';

import { statusLine } from '../lib/cli/io.js';
import { integerList, positiveInteger } from '../lib/cli/options.js';
import { backendInfo } from '../lib/info.js';
import { addon, packageVersion } from '../lib/native.js';
import type { GpuSchedule, Precision } from '../lib/types.js';
import { benchCuda, formatCudaTable } from './cuda.js';
import { benchLoss, formatLossTable } from './loss.js';
import { describeMachine } from './machine.js';
import { freshSeed } from './random.js';

function precisionList(text: string): Precision[] {
  const known: string[] = addon.precisions;
  return text.split(',').map((part) => {
    const p = part.trim();
    if (!known.includes(p)) throw new InvalidArgumentError(`--precision takes ${known.join(', ')}; got '${p}'`);
    return p as Precision;
  });
}

function scheduleList(text: string): GpuSchedule[] {
  return text.split(',').map((part) => {
    const s = part.trim();
    if (s !== 'tiles' && s !== 'panels') throw new InvalidArgumentError(`--gpu-schedule takes tiles, panels; got '${s}'`);
    return s;
  });
}

const version = packageVersion();
const program = new Command('infonce-bench')
  .version(version)
  .description('time the fused loss (forward + backward) against the naive one, or on --backend cuda against PyTorch')
  .option('--backend <backend>', "'cpu' (fused vs naive) or 'cuda' (fused vs PyTorch naive and torch.matmul)", 'cpu')
  .addOption(new Option('--device <backend>', 'the old name of --backend').hideHelp())
  .option('--sizes <list>', 'comma-separated batch sizes M (= N); default 1024,2048,4096 (cpu) or 16384,65536 (cuda)', integerList('--sizes'))
  .option('--dim <D>', 'embedding dimension (default 768 on the CPU, 1024 on the GPU)', positiveInteger('--dim'))
  .option('--precision <list>', 'GPU precisions: fp32 (3xTF32), tf32, bf16, fp16', precisionList, ['bf16', 'fp32'] as Precision[])
  .option('--gpu-schedule <list>', "GPU gradient schedules: tiles (default), panels (experimental, bf16/fp16)", scheduleList, ['tiles'] as GpuSchedule[])
  .option('--repeats <n>', 'timed repetitions per kernel and size (the median is reported)', positiveInteger('--repeats'), 3)
  .option('--threads <n>', 'CPU worker threads (default: all hardware threads)', positiveInteger('--threads'))
  .option('--no-warmup', 'time the first call too (for sizes too large to run twice)')
  .option('--no-peers', 'skip the PyTorch / NumPy peers')
  .option('--filter <threshold>', 'CPU: also time the gradient filter at this threshold (random and trained-like inputs)', parseFloat)
  .option('--seed <n>', 'seed of the random inputs (default: a fresh one, printed)', positiveInteger('--seed'))
  .option('--json', 'print one JSON object per row instead of the table')
  .addHelpText(
    'after',
    '\nExamples:\n  infonce bench                                   # CPU: fused vs naive vs PyTorch, M = 1024..4096, D = 768\n' +
      '  infonce bench --backend cuda --sizes 16384,65536 --precision bf16 --gpu-schedule tiles,panels',
  )
  .action(async (options) => {
    const threads: number = options.threads ?? backendInfo().cpu.threads;
    const seed: number = options.seed ?? freshSeed();
    // One rewritten line on a terminal; in a log or a pipe, a line every 5 s (stdout stays for the table).
    const progress = statusLine();
    const backend: string = options.device ?? options.backend;
    if (backend === 'cuda') {
      const rows = await benchCuda({
        sizes: options.sizes ?? [16384, 65536],
        dim: options.dim ?? 1024,
        precisions: options.precision,
        schedules: options.gpuSchedule,
        repeats: options.repeats,
        seed,
        peers: options.peers,
        progress: progress.update,
      });
      progress.done();
      const gpu = backendInfo().cuda.devices[0]?.name ?? 'no GPU';
      if (options.json) for (const row of rows) console.log(JSON.stringify({ gpu, seed, ...row }));
      else console.log(`GPU: ${gpu}; seed ${seed}\n${formatCudaTable(rows)}`);
      return;
    }
    if (backend !== 'cpu') throw new InvalidArgumentError(`--backend takes cpu or cuda, got '${backend}'`);
    const result = await benchLoss({
      sizes: options.sizes ?? [1024, 2048, 4096],
      dim: options.dim ?? 768,
      repeats: options.repeats,
      warmup: options.warmup,
      threads,
      seed,
      peers: options.peers,
      filter: options.filter,
      progress: progress.update,
    });
    progress.done();
    if (options.json) {
      const machine = describeMachine(threads);
      for (const row of result.rows) console.log(JSON.stringify({ machine, seed, ...row }));
      for (const row of result.filter) console.log(JSON.stringify({ machine, seed, gradientFilter: row }));
    } else {
      console.log(`machine: ${describeMachine(threads)}; seed ${seed}`);
      console.log(formatLossTable(result));
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`infonce-bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
