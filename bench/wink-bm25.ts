// wink-bm25-text-search, the BM25 package the index in lib/eval/bm25.ts replaced, with the same
// parameters and tokeniser: the yardstick of its scoring formula in the test and the benchmark.
import { createRequire } from 'node:module';

import { BM25_DEFAULTS, bm25Words, type Bm25Parameters } from '../lib/eval/bm25.js';

export interface WinkBm25 {
  search(text: string, limit?: number): Array<[string, number]>;
}

interface WinkEngine extends WinkBm25 {
  defineConfig(config: object): void;
  definePrepTasks(tasks: Array<(input: string) => string[]>): void;
  addDoc(doc: { body: string }, id: number): void;
  consolidate(): void;
}

export function winkBm25(corpus: readonly string[], parameters: Bm25Parameters = {}): WinkBm25 {
  const engine = (createRequire(import.meta.url)('wink-bm25-text-search') as () => WinkEngine)();
  const { k1 = BM25_DEFAULTS.k1, b = BM25_DEFAULTS.b, identifiers = false } = parameters;
  engine.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1, b } });
  engine.definePrepTasks([(text) => bm25Words(text, identifiers)]);
  corpus.forEach((text, i) => engine.addDoc({ body: text }, i));
  engine.consolidate(); // the package needs at least 3 documents
  return engine;
}
