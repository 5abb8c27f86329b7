// The lexical baseline: Okapi BM25 from the npm package wink-bm25-text-search (k1 = 1.2, b = 0.75),
// with a plain lower-case, split-on-non-alphanumerics tokeniser applied to documents and queries.
import { createRequire } from 'node:module';

interface WinkBm25 {
  defineConfig(config: { fldWeights: Record<string, number>; bm25Params?: { k1: number; b: number } }): void;
  definePrepTasks(tasks: Array<(input: string) => string[]>): void;
  addDoc(doc: { body: string }, id: number): void;
  consolidate(): void;
  search(text: string, limit?: number): Array<[string, number]>;
}

const words = (text: string) => text.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter(Boolean);

export class Bm25Index {
  private readonly engine: WinkBm25;

  constructor(documents: readonly string[]) {
    const factory = createRequire(import.meta.url)('wink-bm25-text-search') as () => WinkBm25;
    this.engine = factory();
    this.engine.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1: 1.2, b: 0.75 } });
    this.engine.definePrepTasks([words]);
    documents.forEach((text, i) => this.engine.addDoc({ body: text }, i));
    this.engine.consolidate(); // the package needs at least 3 documents
  }

  /** Document ids, best first (only documents sharing a word with the query). */
  rank(query: string, k: number): number[] {
    if (words(query).length === 0) return [];
    return this.engine.search(query, k).map(([id]) => Number(id));
  }
}
