// Checkpoints: the encoder's weights, the optimiser's moments and θ, and where the run stands, so
// that `--resume` continues an interrupted run exactly where the last checkpoint left it. A
// checkpoint is written into a temporary folder, renamed into place, and only then named in
// `checkpoints/latest`: an interruption at any moment leaves the previous checkpoint intact.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { Encoder, type Parameter } from '../encoder/encoder.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readSafetensors, writeSafetensors, type Tensor } from '../io/safetensors.js';
import type { OptimizerState } from './optimizer.js';

export interface RunState {
  /** Steps completed. */
  step: number;
  /** The options that must not change across a resume (steps, batch, seed, learning rate, ...). */
  options: Record<string, unknown>;
  /** A fingerprint of the training pairs: a resume on other data is refused. */
  pairs: { count: number; fingerprint: string };
}

const KEEP = 2;

export function checkpointFolder(out: string): string {
  return join(out, 'checkpoints');
}

export function saveCheckpoint(out: string, encoder: Encoder, optimizer: OptimizerState, run: RunState): string {
  const folder = checkpointFolder(out);
  mkdirSync(folder, { recursive: true });
  const name = `step-${String(run.step).padStart(7, '0')}`;
  const temporary = join(folder, `${name}.tmp`);
  rmSync(temporary, { recursive: true, force: true });
  encoder.save(temporary);
  const tensors: Record<string, Tensor> = {};
  for (const p of encoder.parameters()) {
    tensors[`m.${p.name}`] = { dtype: 'F32', shape: [optimizer.m[p.name]!.length], data: optimizer.m[p.name]! };
    tensors[`v.${p.name}`] = { dtype: 'F32', shape: [optimizer.v[p.name]!.length], data: optimizer.v[p.name]! };
  }
  tensors.logScale = { dtype: 'F32', shape: [3], data: optimizer.logScale };
  writeSafetensors(join(temporary, 'optimizer.safetensors'), tensors);
  writeFileAtomic(join(temporary, 'run.json'), JSON.stringify(run, null, 2) + '\n');
  rmSync(join(folder, name), { recursive: true, force: true });
  renameSync(temporary, join(folder, name));
  writeFileAtomic(join(folder, 'latest'), name + '\n');
  // Older checkpoints beyond the last few go.
  const all = readdirSync(folder).filter((f) => /^step-\d+$/.test(f)).sort();
  for (const old of all.slice(0, Math.max(0, all.length - KEEP))) rmSync(join(folder, old), { recursive: true, force: true });
  return join(folder, name);
}

export interface Checkpoint {
  dir: string;
  encoder: Encoder;
  optimizer: OptimizerState;
  run: RunState;
}

/** The latest checkpoint under `out`, or undefined when there is none. */
export async function loadLatestCheckpoint(out: string, parameters?: (e: Encoder) => Parameter[]): Promise<Checkpoint | undefined> {
  const latest = join(checkpointFolder(out), 'latest');
  if (!existsSync(latest)) return undefined;
  const dir = join(checkpointFolder(out), readFileSync(latest, 'utf8').trim());
  const encoder = await Encoder.load(dir);
  const { tensors } = readSafetensors(join(dir, 'optimizer.safetensors'));
  const state: OptimizerState = { m: {}, v: {}, logScale: tensors.logScale!.data as Float32Array };
  for (const p of (parameters ?? ((e: Encoder) => e.parameters()))(encoder)) {
    state.m[p.name] = tensors[`m.${p.name}`]!.data as Float32Array;
    state.v[p.name] = tensors[`v.${p.name}`]!.data as Float32Array;
  }
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunState;
  return { dir, encoder, optimizer: state, run };
}
