// What a GPU buys at each batch size: one step of the loss alone (forward and backward, D = 256, fp32
// inputs from the host as the trainer passes them) and one whole training step (encoder on the CPU,
// loss on the GPU), timed after a warm-up call. Without a GPU it says why and times nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { backendInfo } from '../../lib/info.js';
import { contrastiveLoss } from '../../lib/loss.js';
import { train } from '../../lib/train/trainer.js';
import { fillGaussian } from '../../lib/util/random.js';
import { experimentPairs } from './pairs.js';

const DIM = 256;

async function lossSeconds(batch: number, backend: 'cpu' | 'cuda'): Promise<number> {
  const x = fillGaussian(new Float32Array(batch * DIM), 1);
  const y = fillGaussian(new Float32Array(batch * DIM), 2);
  await contrastiveLoss(x, y, { rows: batch, dim: DIM, backend });
  const started = process.hrtime.bigint();
  await contrastiveLoss(x, y, { rows: batch, dim: DIM, backend });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function stepSeconds(batch: number): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), 'infonce-gpu-step-'));
  try {
    const { steps } = await train({ pairs: experimentPairs().pairs, out, steps: 2, batchSize: batch, backend: 'cuda', checkpointEvery: 1000 });
    return steps[1]!.seconds; // the second step: the first pays for the GPU's set-up
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** A Markdown table of GPU times per size, or the sentence saying why there is none. */
export async function timeGpuSteps(sizes: number[]): Promise<string> {
  const cuda = backendInfo().cuda;
  if (!cuda.available) return `not measured: no GPU here (${cuda.reason}).`;
  const rows = ['| batch | loss, GPU s | loss, CPU s | whole step, GPU loss s |', '| ---: | ---: | ---: | ---: |'];
  for (const batch of sizes)
    rows.push(`| ${batch.toLocaleString('en-US')} | ${(await lossSeconds(batch, 'cuda')).toFixed(3)} | ${(await lossSeconds(batch, 'cpu')).toFixed(3)} | ${(await stepSeconds(batch)).toFixed(2)} |`);
  return `${cuda.devices[0]?.name ?? 'GPU'}:\n\n${rows.join('\n')}`;
}
