// Where the trainer's pairs come from: an array in memory, or a JSONL file read again each epoch for
// only the pairs this process encodes in it (data-parallel training: a rank holds about 1/W of the
// pairs, never the file). Both give the same count, fingerprint, groups, idf texts and pairs.
import type { Pair } from '../pairs/pair.js';
import { pairGroups, type PairGroups } from './pair-groups.js';
import { pairTextChunks, readPairsAt, scanPairsFile } from './pairs-file.js';
import { fingerprint } from './pairs-fingerprint.js';

export interface PairSource {
  count: number;
  fingerprint: string;
  groups(): PairGroups;
  /** Every text of the pairs (each side and the hard negatives), for the idf of a new encoder. */
  corpus(): readonly string[] | AsyncIterable<readonly string[]>;
  /** Makes the pairs at `indices` available to `at` (until the next call); a file reads them now. */
  load(indices: Int32Array): Promise<void>;
  at(index: number): Pair;
}

export function arraySource(pairs: readonly Pair[]): PairSource {
  let groups: PairGroups | undefined;
  return {
    count: pairs.length,
    fingerprint: fingerprint(pairs),
    groups: () => (groups ??= pairGroups(pairs)),
    corpus: () => pairs.flatMap((p) => [p.query, p.positive, ...(p.negatives ?? [])]),
    load: async () => {},
    at: (index) => pairs[index]!,
  };
}

export async function fileSource(file: string): Promise<PairSource> {
  const scan = await scanPairsFile(file);
  let loaded = new Map<number, Pair>();
  return {
    count: scan.count,
    fingerprint: scan.fingerprint,
    groups: () => scan.groups,
    corpus: () => pairTextChunks(file),
    load: async (indices) => {
      loaded = new Map();  // the previous epoch's go first
      loaded = await readPairsAt(file, indices);
    },
    at: (index) => {
      const pair = loaded.get(index);
      if (!pair) throw new Error(`pair ${index} of ${file} was not loaded for this epoch`);
      return pair;
    },
  };
}
