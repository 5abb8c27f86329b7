// What a training run owns in its `out` folder, written there before it writes anything else:
// `--overwrite` deletes only what a run's manifest lists, never a folder the user put there.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '../io/atomic.js';
import { readTextFile } from '../io/read-file.js';
import { invalidFile } from '../util/errors.js';

/** What a run writes into `out`: a fresh run refuses to start over them unless told to overwrite. */
export const RUN_ENTRIES = ['checkpoints', 'model', 'train.jsonl'];

const MANIFEST = 'infonce-run.json';

/** The entries a run of ours wrote in `out` (none when it has no manifest). */
export function readRunManifest(out: string): string[] {
  const file = join(out, MANIFEST);
  if (!existsSync(file)) return [];
  let manifest: unknown;
  try {
    manifest = JSON.parse(readTextFile(file));
  } catch (error) {
    throw invalidFile(file, `not JSON (${(error as Error).message})`);
  }
  const entries = (manifest as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries) || !entries.every((e) => typeof e === 'string'))
    throw invalidFile(file, 'expected {"entries": [names]} as the trainer writes it');
  return entries.filter((e) => RUN_ENTRIES.includes(e));
}

export function writeRunManifest(out: string): void {
  writeFileAtomic(join(out, MANIFEST), JSON.stringify({ writer: 'infonce train', entries: RUN_ENTRIES }, null, 2) + '\n');
}
