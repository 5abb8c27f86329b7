// Checkpoints: the encoder's weights, the optimiser's moments and θ, and where the run stands, so
// that `--resume` continues an interrupted run exactly where the last checkpoint left it. A
// checkpoint is written into a temporary folder, renamed into place, and only then named in
// `checkpoints/latest`: an interruption at any moment leaves the previous checkpoint intact.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import type { Parameter } from '../encoder/encoder.js';
import { Encoder } from '../encoder/encoders.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readSafetensors, writeSafetensors, type Tensor } from '../io/safetensors.js';
import { invalidFile } from '../util/errors.js';
import type { OptimizerState } from './optimizer.js';

export interface RunState {
  /** Steps completed. */
  step: number;
  /** The options that must not change across a resume (steps, batch, seed, learning rate, ...). */
  options: Record<string, unknown>;
  /** A fingerprint of the training pairs: a resume on other data is refused. */
  pairs: { count: number; fingerprint: string };
}

const CHECKPOINT_NAME = /^step-\d{7}$/;

export function checkpointFolder(out: string): string {
  return join(out, 'checkpoints');
}

/** Writes the checkpoint of `run` and keeps the last `keep` of the run (at least 1). */
export function saveCheckpoint(out: string, encoder: Encoder, optimizer: OptimizerState, run: RunState, keep = 2): string {
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
  // Older checkpoints of this run beyond the last few go; a later-numbered one (left by a crash
  // before `latest` named it) is never counted as newer than the one just written.
  const older = readdirSync(folder).filter((f) => CHECKPOINT_NAME.test(f) && f <= name).sort();
  for (const old of older.slice(0, Math.max(0, older.length - Math.max(1, keep)))) rmSync(join(folder, old), { recursive: true, force: true });
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
  // `latest` may only name a checkpoint folder of this run, never a path elsewhere.
  const name = readFileSync(latest, 'utf8').trim();
  if (!CHECKPOINT_NAME.test(name) || !existsSync(join(checkpointFolder(out), name)))
    throw invalidFile(latest, `names ${JSON.stringify(name)}; expected a checkpoint folder step-NNNNNNN in ${checkpointFolder(out)}`);
  const dir = join(checkpointFolder(out), name);
  const encoder = await Encoder.load(dir);
  const optimizerFile = join(dir, 'optimizer.safetensors');
  const { tensors } = readSafetensors(optimizerFile);
  const floats = (key: string, length: number) => {
    const t = tensors[key];
    if (!t || t.dtype !== 'F32' || t.data.length !== length) throw invalidFile(optimizerFile, `tensor "${key}" is missing or not ${length} floats`);
    if (!(t.data as Float32Array).every(Number.isFinite)) throw invalidFile(optimizerFile, `tensor "${key}" holds a non-finite value`);
    return t.data as Float32Array;
  };
  const state: OptimizerState = { m: {}, v: {}, logScale: floats('logScale', 3) };
  for (const p of (parameters ?? ((e: Encoder) => e.parameters()))(encoder)) {
    state.m[p.name] = floats(`m.${p.name}`, p.data.length);
    state.v[p.name] = floats(`v.${p.name}`, p.data.length);
  }
  const runFile = join(dir, 'run.json');
  let run: RunState;
  try {
    run = JSON.parse(readFileSync(runFile, 'utf8')) as RunState;
  } catch (error) {
    throw invalidFile(runFile, `not JSON (${(error as Error).message})`);
  }
  if (!Number.isSafeInteger(run?.step) || run.step < 0 || typeof run.options !== 'object' || typeof run.pairs?.fingerprint !== 'string')
    throw invalidFile(runFile, 'expected {"step", "options", "pairs"} as the trainer writes it');
  return { dir, encoder, optimizer: state, run };
}
