// wink-bm25-text-search, the BM25 package the index in lib/eval/bm25.ts replaced, configured as it
// was (k1 = 1.2, b = 0.75, the same tokeniser): the yardstick of its test and its benchmark.
import { createRequire } from 'node:module';

import { bm25Words } from '../lib/eval/bm25.js';

export interface WinkBm25 {
  search(text: string, limit?: number): Array<[string, number]>;
}

interface WinkEngine extends WinkBm25 {
  defineConfig(config: object): void;
  definePrepTasks(tasks: Array<(input: string) => string[]>): void;
  addDoc(doc: { body: string }, id: number): void;
  consolidate(): void;
}

export function winkBm25(corpus: readonly string[]): WinkBm25 {
  const engine = (createRequire(import.meta.url)('wink-bm25-text-search') as () => WinkEngine)();
  engine.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1: 1.2, b: 0.75 } });
  engine.definePrepTasks([bm25Words]);
  corpus.forEach((text, i) => engine.addDoc({ body: text }, i));
  engine.consolidate(); // the package needs at least 3 documents
  return engine;
}
