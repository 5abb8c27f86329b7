// Checkpoints: the encoder's weights, the optimiser's moments and θ, and where the run stands, so
// that `--resume` continues an interrupted run exactly where the last checkpoint left it. A
// checkpoint is written into a temporary folder and renamed into place: a folder step-NNNNNNN is
// complete, and an interruption at any moment leaves the previous one intact. `checkpoints/latest`
// names the newest for people; a resume takes the newest complete folder whatever `latest` says
// (a kill between the rename and the write of `latest` loses nothing).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { Parameter } from '../encoder/encoder.js';
import { Encoder } from '../encoder/registry.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readTextFile } from '../io/read-file.js';
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

// Temporaries an interrupted write leaves (a checkpoint folder not yet renamed, writeFileAtomic's
// hidden files): never complete, removed when a run starts or resumes in `out`.
const TEMPORARY = /^(step-\d{7}\.tmp|\.[0-9a-f]{12}\.tmp)$/;

export function removeTemporaries(out: string): string[] {
  const removed: string[] = [];
  for (const dir of [out, checkpointFolder(out), join(out, 'model')]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir))
      if (TEMPORARY.test(name)) {
        rmSync(join(dir, name), { recursive: true, force: true });
        removed.push(join(dir, name));
      }
  }
  return removed;
}

/** The complete checkpoint folders under `out`, newest first. */
export function checkpointFolders(out: string): string[] {
  const folder = checkpointFolder(out);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => CHECKPOINT_NAME.test(name) && statSync(join(folder, name)).isDirectory())
    .sort()
    .reverse()
    .map((name) => join(folder, name));
}

/**
 * The newest complete checkpoint under `out`, or undefined when there is none. One that cannot be
 * read (a corrupt file) is passed over for the one before it, and `log` says so; when none can be
 * read, the newest one's error is thrown.
 */
export async function loadLatestCheckpoint(
  out: string,
  parameters?: (e: Encoder) => Parameter[],
  log: (message: string) => void = () => {},
): Promise<Checkpoint | undefined> {
  const folders = checkpointFolders(out);
  let firstError: unknown;
  for (const dir of folders) {
    try {
      return await loadCheckpoint(dir, parameters);
    } catch (error) {
      firstError ??= error;
      log(`${dir} cannot be read (${(error as Error).message})${dir === folders.at(-1) ? '' : '; trying the checkpoint before it'}`);
    }
  }
  if (firstError !== undefined) throw firstError;
  return undefined;
}

async function loadCheckpoint(dir: string, parameters?: (e: Encoder) => Parameter[]): Promise<Checkpoint> {
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
    run = JSON.parse(readTextFile(runFile)) as RunState;
  } catch (error) {
    throw invalidFile(runFile, `not JSON (${(error as Error).message})`);
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (
    !isObject(run) ||
    !Number.isSafeInteger(run.step) ||
    run.step < 0 ||
    !isObject(run.options) ||
    !isObject(run.pairs) ||
    typeof run.pairs.fingerprint !== 'string' ||
    !Number.isSafeInteger(run.pairs.count)
  )
    throw invalidFile(runFile, 'expected {"step", "options": {…}, "pairs": {"count", "fingerprint"}} as the trainer writes it');
  return { dir, encoder, optimizer: state, run };
}
